"""had-plugin-lren: LREN (Jiang et al., AAAI 2021), a transductive hyperspectral anomaly detector for had.

Light on import: the detector (and torch) load only when ``had.get_detector("lren")`` needs them.
"""

__version__ = "0.1.0"
