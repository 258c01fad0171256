"""PNG figures: ROC curves and anomaly maps beside the ground truth. matplotlib with the Agg backend."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import write_bytes
from .errors import HadError
from .metrics import auroc, roc_curve
from .nodata import scored_pixels


def require_matplotlib(leave_out: str = "--no-plots for `had bench`, no --png for `had score`") -> Any:
    """matplotlib, or a HadError naming the extra and how to do without the figure (`leave_out`)."""
    try:
        import matplotlib
    except ImportError:
        raise HadError('figures need matplotlib, which the core does not install: pip install "had[plots]" '
                       f"(or leave out the figure: {leave_out})") from None
    return matplotlib


def _figure():
    matplotlib = require_matplotlib()
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path, metadata: dict[str, str] | None = None) -> Path:
    from matplotlib.text import Text

    for text in fig.findobj(Text):  # a file name that is not valid UTF-8 (undecodable bytes kept as surrogates
        shown = text.get_text()     # by Python) cannot be drawn: shown with U+FFFD where those bytes were
        if isinstance(shown, str) and any("\udc80" <= c <= "\udcff" for c in shown):
            text.set_text(shown.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata=metadata)  # PNG text chunks
    _figure().close(fig)
    return write_bytes(path, buf.getvalue())


def roc_png(path: str | Path, y_true, curves: dict[str, np.ndarray], title: str = "") -> Path:
    """One ROC curve per detector (log-scaled false alarm axis, as HAD papers plot it)."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(5, 4.2))
    for label, scores in curves.items():
        truth, scores = scored_pixels(np.reshape(y_true, -1), np.reshape(scores, -1))  # no data (NaN): off the curve
        fpr, tpr, _ = roc_curve(truth, scores)
        ax.plot(np.maximum(fpr, 1e-5), tpr, label=f"{label} (AUROC {auroc(truth, scores):.4f})")
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false alarm rate")
    ax.set_ylabel("detection rate")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, Path(path))


def maps_png(path: str | Path, truth: np.ndarray | None, maps: dict[str, np.ndarray], title: str = "") -> Path:
    """Ground truth and each detector's anomaly map side by side; NaN pixels (no data, no tile) are blank."""
    plt = _figure()
    panels = ([("ground truth", truth)] if truth is not None else []) + list(maps.items())
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), squeeze=False)
    for ax, (label, image) in zip(axes[0], panels):
        image = np.asarray(image, dtype=float)
        finite = image[np.isfinite(image)]
        low, span = (float(finite.min()), float(finite.max() - finite.min())) if finite.size else (0.0, 0.0)
        shown = (image - low) / span if span > 0 else np.where(np.isfinite(image), 0.0, np.nan)
        ax.imshow(shown, cmap="gray" if label == "ground truth" else "inferno", interpolation="nearest")
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    return _save(fig, Path(path))
