"""Entry point of the `had` plugin: registers the detectors by "module:Class" string.

Light on purpose: nothing here imports torch.
"""

from __future__ import annotations

from had import hookimpl

PLUGIN_API = 1  # the had plugin API this plugin is written for (had.plugin_api)


@hookimpl
def register_detectors(register):
    register("deepsvdd", "had_deepsad.detectors:DeepSVDD",
             summary="Deep SVDD (one-class or soft-boundary): bias-free encoder pulled to a fixed centre after AE "
                     "pretraining")
    register("deepsad", "had_deepsad.detectors:DeepSAD",
             summary="Deep SAD (semi-supervised): known normals pulled in, known anomalies pushed away")
    register("deepsad-ae", "had_deepsad.detectors:DeepSADAutoencoder",
             summary="Deep SAD's bias-free autoencoder (its pretraining); score = reconstruction MSE")
    register("semidgm", "had_deepsad.semidgm:SemiDGM",
             summary="SemiDGM (Kingma et al. 2014, M2 or M1+M2): semi-supervised VAE classifier; score q(anomaly | x)")
