"""Trainer Studio's core: preview, fine-tune, evaluate and serve text classifiers."""

__version__ = "0.1.0"
