"""Entry point of the `had` plugin: registers the image sources by "module:Class" string (imports no data)."""

from __future__ import annotations

from had import hookimpl

PLUGIN_API = 1  # the had plugin API this plugin is written for (had.plugin_api)


@hookimpl
def register_datasources(register):
    register("pneumoniamnist", "had_images.sources:PneumoniaMNIST",
             summary="PneumoniaMNIST chest X-rays 28x28 (normal vs pneumonia), one-class train/val/test")
    register("mnist", "had_images.sources:MNISTOneClass",
             summary="MNIST test set 28x28, one digit normal (normal_class), seeded one-class train/val/test")
    register("image-folder", "had_images.folder:ImageFolder",
             summary="your folder of PNG/JPEG/BMP images as (N, C, H, W) in [0, 1], labels from subfolders")


@hookimpl
def source_for_path(path, settings):
    """``image-folder`` for a folder holding image files (:func:`had_images.folder.claims`)."""
    from .folder import claims

    return "image-folder" if claims(path) else None
