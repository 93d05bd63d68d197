"""Machine-learning signals: features from the engine's indicators, labels, walk-forward training."""
