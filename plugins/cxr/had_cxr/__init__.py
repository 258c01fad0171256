"""had-plugin-cxr: the chest X-ray benchmark's detectors (CXR Deep SVDD, GAN-GP, MemDAE, RLAD).

Importing this package does not import torch; the detector modules do.
"""

__version__ = "0.1.0"
