"""Registers the autoencoder with had; the class is named by string so listing plugins does not import torch."""

from had import hookimpl

PLUGIN_API = 1  # the had plugin API this plugin is written for (had.plugin_api)


@hookimpl
def register_detectors(register):
    register("autoencoder", "had_autoencoder.detector:AutoEncoder",
             summary="dense autoencoder, mean squared reconstruction error (rows and cube pixels), ONNX")
