"""Training, evaluation and model bundles: everything an admin does to produce a model."""
