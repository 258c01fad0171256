"""Tests of had-plugin-raster: small rasters only; real-data tests skip when HAD_DATA_DIR lacks the file."""
