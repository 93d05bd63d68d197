"""Model training and evaluation over feature histories: walk-forward fitting and its metrics."""
