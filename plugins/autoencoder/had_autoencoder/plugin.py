"""Registers the autoencoder with had; the class is named by string so listing plugins does not import torch."""

from had import hookimpl


@hookimpl
def register_detectors(register):
    register("autoencoder", "had_autoencoder.detector:AutoEncoder",
             summary="dense autoencoder, mean squared reconstruction error (rows and cube pixels), ONNX")
