"""had-plugin-images: image anomaly detection data (PneumoniaMNIST, MNIST one-class) and the one-class protocol."""

from .files import known_files
from .oneclass import PROTOCOL, OneClassSplit, one_class_split

__all__ = ["PROTOCOL", "OneClassSplit", "known_files", "one_class_split"]
__version__ = "0.1.0"
