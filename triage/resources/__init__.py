"""Data files shipped with the library: the domain dictionary and the stop-word list."""
