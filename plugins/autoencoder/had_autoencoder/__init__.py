"""had-plugin-autoencoder: a dense autoencoder anomaly detector on had-sdk's TorchDetector."""

__version__ = "0.1.0"
