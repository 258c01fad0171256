"""Checks of an image batch: its layout (images stored channels-last ``(N, H, W, C)`` where had takes
``(N, C, H, W)``), and its values against those a model was fitted on.

A channels-last batch has rank 4 like a channels-first one, so nothing else catches it: ``(N, 28, 28, 1)`` would
be read as 28 channels of 28 x 1 pixels, and a detector that resizes inside trains on that without a word. The
detector base refuses it at fit (:func:`refuse_channels_last`) and explains it at scoring
(:func:`channels_last_error` from :meth:`had.detector.Detector._check_shape`), in the words the cube check uses for
band-first order (:func:`had.truth.as_map`).

Pixel values come in conventions (0-255 integers, [0, 1], standardised): a model fitted on one scores images of
another by their brightness (Deep SVDD on MNIST: AUROC 0.77 on [0, 1] images, 0.51 on the same images 0-255,
every image above the threshold). :func:`value_range` is recorded at fit (``input_spec["value_range"]``) and
:func:`check_pixel_convention` refuses, eager and ONNX alike, images of another convention than a [0, 1] model's.
A model whose network assumes its range (the chest X-ray detectors' ``(x - 0.5) / 0.5`` into tanh decoders)
records it as well (``input_spec["required_range"]``, :func:`require_range`), and then every value outside it is
refused, on a host without torch or the plugin too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import InvalidInputError, shown

#: channel counts of images as they are stored channels-last: grey, RGB, RGBA
STORED_CHANNELS = (1, 3, 4)


def looks_channels_last(shape: Sequence[int]) -> bool:
    """Whether an image batch `shape` ``(N, A, B, C)`` looks stored channels-last: the last axis holds 1, 3 or 4
    values, fewer than the channel axis, and the channel axis equals the height (square images ``(N, H, H, C)``).
    Genuine multichannel tiles ``(N, 12, 16, 16)`` or ``(N, 12, 3, 3)`` do not."""
    if len(shape) != 4:
        return False
    _, channels, height, last = (int(v) for v in shape)
    return last in STORED_CHANNELS and last < channels and channels == height


def channels_last_error(shape: Sequence[int], fitted: Sequence[int] | None = None) -> InvalidInputError | None:
    """The error for an image batch `shape` that looks channels-last (:func:`looks_channels_last`), else None;
    `fitted`: the ``(C, H, W)`` a model was fitted on, named first (at scoring); a batch whose shape is that one
    with the channel axis last, ``(N, H, W, C)``, is said to be channels-last whatever its channel count (was:
    only 1, 3 or 4 channels: tiles of 10 elements ``(N, 64, 64, 10)`` for a model of ``(10, 64, 64)`` got
    "expects 10 channels, got 64" with no hint)."""
    if not looks_channels_last(shape):
        if fitted is not None and len(shape) == 4 and len(fitted) == 3:
            channels, height, width = (int(v) for v in fitted)
            got = tuple(int(v) for v in shape[1:])
            if got == (height, width, channels) and got != (channels, height, width):
                n = int(shape[0])
                return InvalidInputError(
                    f"fitted on images {(channels, height, width)}; images of shape {(n, *got)} are those images "
                    "stored channels-last (N, H, W, C); move the channel axis second, e.g. numpy.moveaxis(x, -1, 1), "
                    f"to get {(n, channels, height, width)} (N, C, H, W)")
        return None
    n, channels, height, width = (int(v) for v in shape)
    prefix = f"fitted on images {tuple(int(v) for v in fitted)}; " if fitted is not None else ""
    return InvalidInputError(
        f"{prefix}images of shape {(n, channels, height, width)} look channels-last: they are probably stored as "
        f"(N, H, W, C), which had would read as {channels} channels of {height}x{width} pixels; move the channel "
        f"axis second, e.g. numpy.moveaxis(x, -1, 1), to get {(n, width, channels, height)} (N, C, H, W)")


def refuse_channels_last(X: Any) -> None:
    """Raise :func:`channels_last_error` for data `X` (its shape only) that looks like channels-last images."""
    error = channels_last_error(getattr(X, "shape", ()))
    if error is not None:
        raise error


#: the key of a model's input spec that holds its training images' [min, max]
RANGE_KEY = "value_range"

#: the key of a model's input spec that holds the [low, high] its network takes, every value inside (None: any)
REQUIRED_KEY = "required_range"
#: values this far outside a required range (relative to its width) are float rounding, not another convention
REQUIRED_SLACK = 1e-6


def require_range(spec: dict[str, Any], low: float = 0.0, high: float = 1.0) -> None:
    """Record in a model's input `spec` (at fit) that its network takes images with every value in [`low`,
    `high`]: :func:`check_pixel_convention` then refuses any other at scoring, eager and ONNX alike (the spec
    travels in the manifest and the ONNX metadata). Was: only the plugin's eager check knew it, and the ONNX
    engine scored images in [-1, 1] against a [0, 1] model (59 of 60 above the threshold, exit 0)."""
    spec[REQUIRED_KEY] = [float(low), float(high)]


def value_range(X: Any) -> list[float]:
    """``[min, max]`` of the images `X` (NaN left out), as :func:`check_pixel_convention` reads it from the spec."""
    import numpy as np

    return [float(np.nanmin(X)), float(np.nanmax(X))]


def check_pixel_convention(spec: dict[str, Any], X: Any) -> None:
    """An InvalidInputError when a model fitted on images in [0, 1] (the recorded ``value_range`` in the input
    `spec`) is given images in another pixel convention: 0-255 (values above 2, none below 0) or standardised
    (values below -1). Nothing else is refused: images whose values are the anomaly (a geochemical tile far above
    the training maximum) must score, and a spec without a range (other kinds, models saved before it was
    recorded) has nothing to check.

    A model that records a required range (:func:`require_range`) is stricter: any value outside it is refused,
    [-1, 1] images included (was: let through, values below -1 only being refused)."""
    if spec.get("kind") != "image" or getattr(X, "ndim", 0) != 4 or not getattr(X, "size", 0):
        return
    fitted, required = spec.get(RANGE_KEY), spec.get(REQUIRED_KEY)
    if not (fitted or required):
        return
    low, high = (float(v) for v in fitted) if fitted else (0.0, 1.0)
    got_low, got_high = value_range(X)
    if not fitted or not (0.0 <= low and high <= 1.0):  # a model of other values: no convention to hold them to
        fix = None
    elif got_low >= 0.0 and got_high > 2.0:
        fix = "divide by 255" if got_high <= 255.0 else "scale them to [0, 1]"
    elif got_low < -1.0:
        fix = "standardised images: scale them to [0, 1] as the training images were"
    else:
        fix = None
    if fix is None:
        if required:  # the rest of what the model's network cannot take: [-1, 1], 1.3...
            _check_required_range(spec[REQUIRED_KEY], got_low, got_high)
        return
    raise InvalidInputError(
        f"these images span [{got_low:.4g}, {got_high:.4g}], the model was fitted on images in [0, 1] (they spanned "
        f"[{low:.4g}, {high:.4g}]): {fix}")


def _check_required_range(required: Sequence[float], got_low: float, got_high: float) -> None:
    """InvalidInputError when images spanning [`got_low`, `got_high`] leave the `required` [low, high] (beyond
    :data:`REQUIRED_SLACK`), in the words of the chest X-ray detectors' own eager check."""
    low, high = (float(v) for v in required)
    slack = REQUIRED_SLACK * max(1.0, high - low)
    if got_low >= low - slack and got_high <= high + slack:
        return
    pixels = (low, high) == (0.0, 1.0) and got_low >= 0.0 and got_high > 1.5
    hint = " (0-255 pixels: divide by 255)" if pixels else ""
    raise InvalidInputError(
        f"the model takes images with values in [{low:g}, {high:g}] (its network assumes them; recorded at fit); "
        f"these images to score span [{got_low:.4g}, {got_high:.4g}]: scale them to [{low:g}, {high:g}]{hint}")


# ---- no-data pixels of raster tiles -------------------------------------------------------------------------
class TileFill:
    """The no-data rule of a model fitted on tiles cut from a raster with a declared no-data value (had-plugin-raster's
    ``raster-file``): a pixel of a tile ``(C, h, w)`` is no-data when it holds NaN in a channel, or the raster's
    no-data `value` in every channel (in any channel with `any_band`: ``nodata_any_band``), as the source defines
    it; a tile holding a larger share of such pixels than `max_share` (the ``max_no_data`` it was tiled with) is
    one ``had score`` leaves out, so a runtime given such a tile scores it NaN (no data, never "normal").

    Read from the model's input spec (:meth:`of_spec`): the tiling record ``had fit`` keeps
    (``input_spec["data_view"]["tiling"]``: ``nodata`` and ``max_no_data``, written by the source). A model without
    that record (saved before it was kept, or fitted on tiles of a raster declaring no no-data value) has no rule,
    and its tiles are scored as before."""

    def __init__(self, value: float, max_share: float = 0.0, any_band: bool = False):
        self.value, self.max_share, self.any_band = float(value), float(max_share), bool(any_band)

    def __repr__(self) -> str:
        return f"TileFill(value={self.value!r}, max_share={self.max_share!r}, any_band={self.any_band!r})"

    @classmethod
    def of_spec(cls, spec: dict[str, Any] | None) -> "TileFill | None":
        """The rule a model's input `spec` records, or None (see the class docstring)."""
        import math

        from .cubeview import RECORD, TILING

        if not isinstance(spec, dict) or spec.get("kind") != "image":
            return None
        record = spec.get(RECORD) or {}
        tiling = record.get(TILING) if isinstance(record, dict) else None
        if not isinstance(tiling, dict) or tiling.get("nodata") is None:
            return None
        try:
            value = math.nan if str(tiling["nodata"]).lower() == "nan" else float(tiling["nodata"])
            share = float(tiling.get("max_no_data") or 0.0)
        except (TypeError, ValueError):
            return None
        return cls(value, share, bool(record.get("nodata_any_band")))

    def shares(self, X: Any) -> Any:
        """The share of no-data pixels of each tile of `X` ``(N, C, h, w)``, float64 ``(N,)``."""
        import numpy as np

        X = np.asarray(X)
        no_data = np.isnan(X).any(axis=1) if np.issubdtype(X.dtype, np.floating) else np.zeros(
            (X.shape[0], *X.shape[2:]), dtype=bool)
        if self.value == self.value:  # a number (a NaN value is the NaN above)
            same = X == self.value
            no_data |= same.any(axis=1) if self.any_band else same.all(axis=1)
        return no_data.reshape(len(X), -1).mean(axis=1)

    def left_out(self, X: Any) -> Any:
        """Which tiles of `X` ``(N, C, h, w)`` hold more no-data pixels than the model's share (bool ``(N,)``): the
        tiles to score NaN. Tiles holding some, within the share, cannot be scored as ``had score`` scores them
        (it fills their no-data pixels with the band's median over the whole raster, which a tile alone does
        not give): one :class:`InvalidInputError` says so."""
        import numpy as np

        share = self.shares(X)
        out = share > self.max_share + 1e-9
        partly = (share > 0) & ~out
        if partly.any():
            first = int(np.flatnonzero(partly)[0])
            raise InvalidInputError(
                f"{int(partly.sum()):,} tile(s) (the first: tile {first}) hold no-data pixels (NaN in a channel, or "
                f"the raster's no-data value {self.value:g} in {'any' if self.any_band else 'every'} channel) within "
                f"the share the model was tiled with (max_no_data={self.max_share:g}): had score fills such pixels "
                "with their band's median over the whole raster, which a tile alone does not give; fill them so "
                "before scoring, or score the raster with `had score MODEL RASTER.tif`")
        return out


# ---- a raster given to a model of its tiles ----------------------------------------------------------------
def raster_tiles_hint(spec: dict[str, Any] | None, shape: Sequence[int]) -> str | None:
    """The fix for a cube `shape` ``(H, W, B)`` given to a model fitted on tiles cut from a raster (its input `spec`
    records the tiling: had-plugin-raster's ``raster-file``, Geo-Hgan): the raster goes through the source that
    cuts it as at fit, or the tiles are sent ``(N, C, h, w)``; None for a model without such a record. Was: "if
    these are 64 grayscale images of 64x5, add the channel axis", a fix that gives images the model never saw."""
    from .cubeview import RECORD, TILING

    record = (spec or {}).get(RECORD) if isinstance(spec, dict) else None
    tiling = record.get(TILING) if isinstance(record, dict) else None
    if not isinstance(tiling, dict) or len(shape) != 3:
        return None
    try:  # a bare model.onnx's metadata is the sender's: values that are not numbers give no hint, not a 500
        fitted = spec.get("sample_shape")
        tiles = f"({', '.join(['N', *(str(int(v)) for v in fitted)])})" if isinstance(fitted, (list, tuple)) else \
            "(N, C, h, w)"
        cut = ", ".join(f"{k}={shown(v)}" for k, v in tiling.items() if k in ("tile_size", "stride"))
        bands = spec.get("n_features")
        holds = (f" (its last axis holds the model's {bands} bands)" if bands and int(shape[-1]) == int(bands) else "")
    except (TypeError, ValueError, OverflowError):
        return None
    return (f"; this model was fitted on tiles {tiles} cut from a raster{f' ({cut})' if cut else ''}, and this looks "
            f"like the raster itself{holds}: pass the raster as at fit, `had score MODEL raster-file --data "
            "path=FILE` (a .npy or GeoTIFF; had-plugin-raster, which cuts the tiles as at fit) or a GeoTIFF as `had "
            f"score MODEL FILE.tif`; or send the tiles {tiles} themselves (had serve)")
