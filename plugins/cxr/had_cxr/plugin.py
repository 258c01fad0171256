"""Entry point of the `had` plugin: registers the CXR detectors by "module:Class" string (no torch import)."""

from __future__ import annotations

from had import hookimpl

PLUGIN_API = 1  # the had plugin API this plugin is written for (had.plugin_api)

DETECTORS = {
    "cxr-deepsvdd": ("had_cxr.deepsvdd:CXRDeepSVDD",
                     "CXR Deep SVDD: ResNet-18-type autoencoder, w_svdd*(one-class or soft-boundary SVDD) + "
                     "w_rec*L1; score ||code-c||^2 (- R^2)"),
    "gan-gp": ("had_cxr.gangp:GANGP",
               "GAN-GP: GANomaly-style E1-Dec-E2 generator with a WGAN-GP critic; score latent + L1 error"),
    "memdae": ("had_cxr.memdae:MemDAE",
               "MemDAE: unit-norm autoencoder code, mean angle to K nearest normal training codes"),
    "rlad": ("had_cxr.rlad:RLAD",
             "RLAD: autoencoder + instance discrimination with anchor neighbourhoods; angle to memory bank"),
}


@hookimpl
def register_detectors(register):
    for name, (target, summary) in DETECTORS.items():
        register(name, target, summary=summary)
