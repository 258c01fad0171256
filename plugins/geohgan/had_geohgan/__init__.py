"""had-plugin-geohgan: Geo-Hgan (Luo et al.'s geochemical anomaly detector) for tiles ``(N, C, h, w)``.

* :mod:`had_geohgan.nets`: the networks (MLP AE, latent GAN, sample generator, CBAM critic) and the
  spectral-norm folding used for export;
* :mod:`had_geohgan.losses`: the losses and the three scores;
* :mod:`had_geohgan.train`: the two training steps;
* :mod:`had_geohgan.detector`: the ``geohgan`` detector (imports torch);
* :mod:`had_geohgan.anomfilter`: AnomFilter, the selection of confident anomalous tiles for a target domain
  (numpy only).

Importing this package imports nothing heavy.
"""

from __future__ import annotations

__version__ = "0.1.0"
