"""had-plugin-images: image anomaly detection data (PneumoniaMNIST, MNIST one-class), the one-class protocol and Deep
SAD's semi-supervised image setting."""

from .files import known_files
from .oneclass import PROTOCOL, OneClassSplit, one_class_split
from .semisupervised import SemiSupervisedSplit, semisupervised_split

__all__ = ["PROTOCOL", "OneClassSplit", "SemiSupervisedSplit", "known_files", "one_class_split", "semisupervised_split"]
__version__ = "0.1.0"
