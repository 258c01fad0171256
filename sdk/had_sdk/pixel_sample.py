"""Moved to the core as :mod:`had.pixel_sample` (detectors without torch sample large scenes too); this name
stays for plugins that import it from the SDK."""

from had.pixel_sample import DEFAULT_MAX_FIT_PIXELS, MaxFitPixelsConfig, PixelSampleConfig, fit_sample

__all__ = ["DEFAULT_MAX_FIT_PIXELS", "MaxFitPixelsConfig", "PixelSampleConfig", "fit_sample"]
