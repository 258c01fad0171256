"""had-plugin-deepsad: Deep SVDD and Deep SAD (Ruff et al., ICML 2018 / ICLR 2020) and SemiDGM for `had`.

Detectors ``deepsvdd``, ``deepsad`` and ``deepsad-ae`` (:mod:`had_deepsad.detectors`), ``semidgm`` (Kingma et al.
2014, :mod:`had_deepsad.semidgm` with :mod:`had_deepsad.dgm`), the reference networks
(:mod:`had_deepsad.networks`), objective (:mod:`had_deepsad.objective`) and training phases
(:mod:`had_deepsad.training`).
Importing this package does not import torch.
"""

__version__ = "0.1.0"
