"""had-plugin-bs3lnet: the BS3LNet detector (Gao et al., IEEE TGRS 61, 2023, 5504218).

Importing this package does not import torch; the detector lives in :mod:`had_bs3lnet.detector`, the network
in :mod:`had_bs3lnet.network`, the on-the-fly blind-spot sampler in :mod:`had_bs3lnet.masking` and the ONNX
scene export in :mod:`had_bs3lnet.export`.
"""

__version__ = "0.1.0"
