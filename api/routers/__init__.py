"""One router per surface of the service."""
