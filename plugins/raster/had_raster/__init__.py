"""had-plugin-raster: multichannel rasters as tiles for image detectors, and tile scores back to heat maps.

* :mod:`had_raster.io`: read a raster ``(H, W, C)`` from GeoTIFF (tifffile), ``.mat`` or ``.npy``;
* :mod:`had_raster.tiles`: the tile grid, tile extraction ``(N, C, h, w)``, tile labels from a mask or from
  known-occurrence points, and the inverse mapping (tile scores -> ``(H, W)`` heat map, overlaps averaged);
* :mod:`had_raster.scaling`: per-band scaling fitted on training tiles only;
* :mod:`had_raster.split`: a seeded train/test split of a tile dataset, scaling fitted on its training part;
* :mod:`had_raster.synthetic`: the seeded ``synthetic-geochem`` raster generator;
* :mod:`had_raster.sources`: the data sources ``raster-file``, ``synthetic-geochem``, ``hsi-raster``;
* :mod:`had_raster.plots`: the heat map PNG.

Importing this package imports numpy only.
"""

from __future__ import annotations

from .tiles import TileGrid, extract_tiles, heatmap, labels_from_mask, labels_from_points, tile_grid

__version__ = "0.1.0"
__all__ = ["TileGrid", "extract_tiles", "heatmap", "labels_from_mask", "labels_from_points", "tile_grid"]
