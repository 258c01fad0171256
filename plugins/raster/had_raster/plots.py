"""The heat map PNG of tile scores over a raster (matplotlib Agg, written atomically)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from had.atomic import write_bytes


def heatmap_png(path: str | Path, maps: dict[str, np.ndarray], mask: np.ndarray | None = None,
                points=None, title: str = "") -> Path:
    """One panel per heat map (``(H, W)``, e.g. from :func:`had_raster.heatmap`), beside the mask if given.

    Mask contours (or occurrence points) are drawn over every heat map. NaN pixels (uncovered) are blank.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    panels = ([("mask", mask)] if mask is not None else []) + list(maps.items())
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.4), squeeze=False)
    for ax, (label, image) in zip(axes[0], panels):
        image = np.asarray(image, dtype=float)
        if label == "mask":
            ax.imshow(image, cmap="gray", interpolation="nearest")
        else:
            im = ax.imshow(image, cmap="inferno", interpolation="nearest")
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
            if mask is not None and np.any(mask):
                ax.contour(np.asarray(mask, dtype=float), levels=[0.5], colors="cyan", linewidths=0.6)
            if points is not None and len(points):
                pts = np.asarray(points).reshape(-1, 2)
                ax.scatter(pts[:, 1], pts[:, 0], s=8, c="cyan", marker="x")
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return write_bytes(Path(path), buf.getvalue())
