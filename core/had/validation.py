"""Input checks shared by detectors, metrics and data sources.

Data kinds, by array rank:

* ``tabular``: rows ``(N, D)``;
* ``cube``: a hyperspectral (or any multichannel) scene ``(H, W, B)``, scored per pixel into an ``(H, W)`` map;
* ``image``: a batch of images ``(N, C, H, W)``, scored per image.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidInputError, KnownLabelsWarning, LabelError  # noqa: F401 (also had.validation's)
from .errors import ascii_digits

#: float32's largest value: a setting that goes into float32 arithmetic (torch's weights, an optimiser's decay)
#: must stay within it (had_sdk.config_fields, had-plugin-pyod's deep models)
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: float32's smallest positive (subnormal) value: a nonzero setting at most half of it becomes 0 in float32
FLOAT32_SMALLEST = 2.0 ** -149


def refuse_float32_zero(number: float) -> float:
    """`number`, or ValueError (a pydantic validator's) where float32 rounds a nonzero `number` to 0: for a setting
    that must be above 0 (``lr=1e-50`` passed ``gt=0``, then Adam's step was 0 in float32 and nothing trained,
    without a word). A setting that may be 0 (a weight decay) is left alone: rounded to 0 it trains as 0 does, and
    a model saved with one stays loadable."""
    if number != 0.0 and abs(number) <= FLOAT32_SMALLEST / 2:
        raise ValueError(f"{number:g} rounds to 0 in float32, the precision torch computes in (magnitudes from "
                         f"{FLOAT32_SMALLEST:.2g}); give a larger value, or 0 where 0 is meant")
    return number


KIND_BY_RANK = {2: "tabular", 3: "cube", 4: "image"}
SHAPE_HINT = {"tabular": "(N, D)", "cube": "(H, W, B)", "image": "(N, C, H, W)"}


def refuse_masked(X, what: str = "data") -> None:
    """InvalidInputError for a numpy masked array with any value masked (rasterio's ``read(masked=True)``):
    ``np.asarray`` drops the mask, so the values under it (a -9999 fill) were fitted and scored as data without
    a word. A masked array with nothing masked passes as its data, and so does one whose masked values are all
    NaN already (``np.ma.masked_invalid``: what the route below gives). Honouring the mask would need a no-data
    rule for every detector; the ones with a ``nodata`` setting (rx) already leave NaN pixels out, the route given."""
    if not isinstance(X, np.ma.MaskedArray) or not (masked := int(np.ma.count_masked(X))):
        return
    under = np.asarray(X.data)[np.ma.getmaskarray(X)]
    if under.dtype.kind in "fc" and np.isnan(under).all():
        return
    raise InvalidInputError(
        f"{what} is a masked array with {masked:,} masked value(s) of {X.size:,}, and had reads no mask (the values "
        "under it would be used as they are): drop the masked entries first, or, for a detector's input, pass "
        "X.filled(np.nan) to a detector with nodata='nan' (rx has it; `had describe NAME` lists a detector's "
        "settings), which leaves pixels NaN in every band out and scores them NaN")


def as_array(X, what: str = "data") -> np.ndarray:
    """`np.asarray(X)`, or InvalidInputError for ragged nesting, values numpy cannot hold in one array, or a
    masked array with values masked (:func:`refuse_masked`)."""
    refuse_masked(X, what)
    X = _tensor_values(X)
    if _is_frame(X) and not all(isinstance(d, np.dtype) and d.kind in "iuf" for d in X.dtypes):
        return _frame_values(X, what)
    try:
        array = np.asarray(X)
    except (ValueError, TypeError):
        raise InvalidInputError(f"{what} is not a rectangular array of numbers (rows of different lengths or mixed "
                                "types); pass equal-length rows of numbers") from None
    if array.ndim == 0 and array.dtype.kind not in "biufc":  # an object that is no array at all (was: "got an
        raise InvalidInputError(f"{what} is {_what_object(X)}, not an array of numbers; {_object_fix(X)}")  # array
    return array  # of shape ()", of an array the user never made: a probe of 7 December 2026)


def _what_object(X) -> str:
    return "None" if X is None else f"a {type(X).__name__} {X!r}" if isinstance(X, str) else f"a {type(X).__name__}"


def _object_fix(X) -> str:
    """What to pass instead of the object `X`."""
    from .data import Dataset

    if isinstance(X, Dataset):
        return "pass its array, dataset.X (and dataset.y where labels are asked for)"
    if isinstance(X, str):
        return "a dataset's name or a file is loaded first: had.load_dataset(name).X"
    return "pass a numpy array"


def _is_frame(X) -> bool:
    """A pandas DataFrame (or a frame like it: column dtypes and ``to_numpy``), without importing pandas."""
    return hasattr(X, "dtypes") and hasattr(X, "columns") and hasattr(X, "to_numpy")


def _frame_values(frame, what: str) -> np.ndarray:
    """A DataFrame with extension dtypes (pandas' nullable ``Float64``, ``Int64``...: ``convert_dtypes()``) as
    float64, ``pd.NA`` as NaN (numpy saw such a frame as objects, "dtype object"); a column that is not numbers
    (bool, text, dates) is named with its dtype."""
    odd = [(name, dtype) for name, dtype in zip(frame.columns, frame.dtypes) if getattr(dtype, "kind", "O") not in "iuf"]
    if odd:
        listed = ", ".join(f"{name!r} ({dtype})" for name, dtype in odd[:5]) + (" ..." if len(odd) > 5 else "")
        raise InvalidInputError(f"{what} has columns that are not real numbers: {listed}; pass numeric columns "
                                "(drop them, or convert them with .astype(float))")
    return frame.to_numpy(dtype=np.float64, na_value=np.nan)


def all_rows_equal(X, block_bytes: int = 2**18) -> bool:
    """Whether every row (pixel) of `X` (rows ``(N, D)`` or a cube ``(H, W, B)``) equals the first, NaN rows
    aside: data with nothing to learn (a blank scene, one fill value). Read a few lines at a time, about
    `block_bytes` each, in the data's own type, stopping at the first row that differs (a memory-mapped line is
    neither copied nor read whole unless it is blank)."""
    width = int(np.prod(X.shape[1:-1])) if X.ndim == 3 else 1  # pixels per line of a cube
    step = max(1, block_bytes // max(1, width * X.shape[-1] * X.dtype.itemsize))
    first = None
    for start in range(0, X.shape[0], step):
        block = np.asarray(X[start:start + step]).reshape(-1, X.shape[-1])
        if block.dtype.kind == "f" and (blank := np.isnan(block).all(axis=1)).any():
            block = block[~blank]
        if block.size == 0:
            continue
        first = block[0] if first is None else first
        if not np.array_equal(block, np.broadcast_to(first, block.shape), equal_nan=True):
            return False
    return first is not None


def all_equal_note(n: int, who: str) -> str:
    """What to say of `n` training samples that are all equal, fitted by `who`."""
    return (f"the {n:,} training samples are all equal (no feature varies): {who} has nothing to learn; check the "
            "data (a blank scene, or one fill value?)")


def is_real(dtype) -> bool:
    """Whether `dtype` holds real numbers: integers or floats (numpy counts ``timedelta64`` among its integers,
    and bool and complex are not real numbers here)."""
    return np.dtype(dtype).kind in "iuf"


def real_numbers(X, what: str = "data", *, allow_bool: bool = False) -> np.ndarray:
    """`X` as a float64 array; InvalidInputError for ragged, non-numeric or complex values (and booleans unless
    `allow_bool`)."""
    X = as_array(X, what)
    if not (is_real(X.dtype) or (allow_bool and X.dtype == bool)):
        raise InvalidInputError(f"{what} has dtype {X.dtype}; pass real numbers (float or integer)")
    return X.astype(np.float64, copy=False)


def _tensor_values(X):
    """A torch tensor as numpy can read it: detached from autograd and on the CPU, bfloat16 (which numpy has not)
    as float32; anything else as it is. Was: a tensor that requires grad was a raw "Can't call numpy() on Tensor
    that requires grad", a bfloat16 one "not a rectangular array of numbers" (the export probe)."""
    if not (type(X).__module__.startswith("torch") and hasattr(X, "detach")) or getattr(X, "is_sparse", False):
        return X
    X = X.detach().cpu()
    return X.float() if str(X.dtype) == "torch.bfloat16" else X


def as_array_or_view(X, what: str = "data"):
    """`X` as it is where it is a plain numpy array (a ``np.memmap`` is not read) or a
    :class:`~had.cubeview.CubeView`; anything else (a list, a frame, a masked array) through :func:`as_array`.
    What RX's one-pass fit and tiled scoring, and :func:`check_array`, take first (was: a masked array, an
    ndarray, passed them unseen, and :func:`refuse_masked` was called from three places)."""
    from .cubeview import CubeView

    if isinstance(X, CubeView) or (isinstance(X, np.ndarray) and not isinstance(X, np.ma.MaskedArray)):
        return X
    return as_array(X, what)


def kind_of(X: np.ndarray) -> str:
    """The data kind of an array, from its rank."""
    kind = KIND_BY_RANK.get(np.ndim(X))
    if kind is None:
        raise InvalidInputError(
            f"expected rows (N, D), a cube (H, W, B) or images (N, C, H, W); got an array of shape {np.shape(X)}"
            f"{one_d_hint(np.shape(X))}")
    return kind


def one_d_hint(shape) -> str:
    """For a 1-D shape, how to make rows of it (scikit-learn's advice); empty otherwise."""
    if len(shape) != 1:
        return ""
    return ("; one sample of D features is x.reshape(1, -1), N samples of one feature are x.reshape(-1, 1)")


def n_features(X: np.ndarray) -> int:
    """Feature count: D for rows, B for a cube, C (the channel axis) for images."""
    kind = kind_of(X)
    return int(X.shape[-1] if kind in ("tabular", "cube") else X.shape[1])


def n_samples(X: np.ndarray) -> int:
    """Samples scored: rows, pixels of a cube, or images."""
    kind = kind_of(X)
    return int(X.shape[0] * X.shape[1] if kind == "cube" else X.shape[0])


def image_stack_hint(shape) -> str:
    """The fix for a 3-D array `shape` given where images ``(N, C, H, W)`` are taken (an image detector's fit, an
    image model's scoring): a stack of N grayscale images ``(N, H, W)`` (``np.stack`` of 2-D images) lacks the
    channel axis. Was: only the raster hint at fit ("read it with had-plugin-raster's raster-file"), no fix at
    scoring ("this model scores image data, got an array of shape (60, 28, 28)")."""
    n, h, w = (int(v) for v in shape)
    return (f"; if these are {n} grayscale images of {h}x{w} (N, H, W), add the channel axis: x[:, None] gives "
            f"{(n, 1, h, w)} (N, 1, H, W) (numpy: np.save('x1.npy', np.load('x.npy')[:, None]))")


def band_selection(spec) -> dict | None:
    """The band selection a model's input `spec` records (``had fit --data bands=...``: ``{"bands": "1-50", "of":
    188}``, and ``band_names`` where the file named them: :func:`had.cubeview.record_of`), those keys alone; None
    for a model fitted on every band of its data (``had serve``'s ``/health`` says it as ``band_selection``)."""
    record = spec.get("data_view") if isinstance(spec, dict) else None
    if not isinstance(record, dict):
        return None
    chosen = {k: record[k] for k in ("bands", "of", "band_names") if record.get(k)}
    return chosen if ("bands" in chosen or "band_names" in chosen) else None


def _numpy_index(bands: str) -> str | None:
    """``"1-50,60"`` (1-based ranges, as ``--data bands=`` writes them) as a numpy index of the last axis:
    ``"0:50"`` for one range, ``"np.r_[0:50, 59]"`` for several; None for text that is not such ranges."""
    parts = []
    for piece in str(bands).split(","):
        first, _, last = piece.strip().partition("-")
        if not ascii_digits(first) or (last and not ascii_digits(last)):
            return None
        a, b = int(first), int(last or first)
        parts.append(f"{a - 1}:{b}" if b > a else f"{a - 1}")
    if len(parts) == 1 and ":" in parts[0]:
        return parts[0]
    return f"np.r_[{', '.join(parts)}]"


def band_selection_hint(spec, got: int) -> str | None:
    """What a model fitted on some bands of its data (:func:`band_selection`) says to data of another band count
    `got`: which bands it was fitted on, as the selection was written, and how to pass them (the same ``--data
    bands=...`` for a scene file or a ``.npy`` cube; for a request to ``had serve`` or in Python, the array's bands
    selected first, with the numpy index); None for a model fitted on every band. Was: "expects 50 features/bands,
    got 188", the 188-band scene the model's own bands were taken from left unexplained."""
    chosen = band_selection(spec)
    if chosen is None:
        return None
    if chosen.get("band_names") and not chosen.get("bands"):
        names = ",".join(str(n) for n in chosen["band_names"])
        return (f"the model was fitted on the bands named {names} of its input (--data bands={names}): score a scene "
                f"file with the same --data bands={names}, or select those bands first (for a .npy or had serve)")
    bands, of = chosen["bands"], chosen.get("of")
    index = _numpy_index(bands)
    of_text = f" of a {of}-band input" if of else " of its input"
    select = f" (numpy: x[..., {index}])" if index else ""
    return (f"the model was fitted on bands {bands}{of_text} (--data bands={bands}): score the scene file with the "
            f"same --data bands={bands} (ENVI, GeoTIFF, a .npy cube), or select those bands first for a request to "
            f"had serve or in Python{select}")


def check_array(X, kinds=("tabular", "cube", "image"), *, what: str = "data", fill: float | None = None,
                lazy: bool = False, first_row: int = 0) -> np.ndarray:
    """Validate `X` and return it as a float array (integers become float64; float32 stays float32).

    Raises :class:`InvalidInputError` for a wrong rank, a kind not in `kinds`, empty data, non-numeric
    values, or NaN/Inf. `fill`: a fill value (:mod:`had.nodata`; NaN allowed) whose pixels (rows), every band at
    it, are exempt from the NaN check and returned as they are. `first_row`: the 0-based row of the scene where a
    cube `X` (a tile of it) begins, so that the first bad pixel is named by its row and column in the scene. With
    `lazy` (a detector's fit and scoring), an
    integer cube read from a file (a memory map or a view of one) is returned as a float64
    :class:`~had.cubeview.CubeView` that converts each block as it is read, not converted whole.
    """
    from .cubeview import CubeView

    X = as_array_or_view(X, what)  # a masked array's mask is looked at before the lazy path keeps it unconverted
    if lazy and "cube" in kinds and _lazy(X) and _integer(X) and len(X.shape) == 3 and X.size:
        # an integer flight line (int16, uint16: most sensors) holds no NaN or Inf: it stays on disk, seen as
        # float64 a tile at a time (not converted whole, 4x the file's size for int16)
        return X.converted(np.float64) if isinstance(X, CubeView) else CubeView(X, as_dtype=np.float64)
    if isinstance(X, CubeView) and "cube" in kinds and np.issubdtype(X.dtype, np.floating) and X.size:
        from .tiling import tiles

        for start, stop, block in tiles(X):  # a view of a memory-mapped cube: checked tile by tile, kept lazy
            check_array(block, ("cube",), what=f"{what} rows {start + 1}-{stop} (1-based)", fill=fill,
                        first_row=first_row + start)
        return X
    X = as_array(X, what)
    kind = kind_of(X)
    if kind not in kinds:
        accepted = ", ".join(f"{k} {SHAPE_HINT[k]}" for k in kinds)
        hint = ("; to cut a scene or raster file into tiles, read it with had-plugin-raster's raster-file: "
                "`had fit DETECTOR raster-file --data path=FILE`") if kind == "cube" and "image" in kinds else ""
        if hint and "cube" not in kinds:  # images only: a 3-D array may be a grayscale stack (N, H, W)
            hint += image_stack_hint(X.shape)
        raise InvalidInputError(f"{what} is {kind} {SHAPE_HINT[kind]} of shape {X.shape}; this accepts {accepted}{hint}")
    if X.size == 0:
        raise InvalidInputError(f"{what} is empty (shape {X.shape}); pass at least one sample with at least one feature")
    if not is_real(X.dtype):
        raise InvalidInputError(f"{what} has dtype {X.dtype}; pass real numbers (float or integer)")
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)
    # NaN makes the max NaN, Inf the max or min infinite: two reductions, no mask the size of X (a memory map)
    if not np.isfinite([X.max(), X.min()]).all():
        from .nodata import fill_pixels

        bad = ~np.isfinite(X)
        if fill is not None:
            bad &= ~fill_pixels(X, fill)[..., None]
        where = _bad_columns(bad, kind) + _first_bad_pixel(bad, kind, first_row)
        bad = int(bad.sum())
        if bad == 0:
            return X
        scene = (" (for a scene, for example, replace bad pixels by the band median, or leave a bad band out: "
                 "--data bands=...)") if kind == "cube" else ""
        blank = int(np.isnan(X).all(axis=-1).sum()) if kind == "cube" and (fill is None or fill != fill) else 0
        if blank:  # whole pixels of NaN: outside a survey's area or a line's swath, which nodata leaves out
            # said at a load too (`fill` NaN: they pass there), so that both fixes come at once (was: the stray
            # values alone, then the blank pixels at the next fit); a model fitted without nodata is fitted again
            scene = (f"; {blank} pixel(s) are NaN in every band (outside the area surveyed?){', besides' if fill is not None else ''}: "
                     "fit with --set nodata=nan (Python: nodata=float('nan')), which leaves such pixels out of the fit "
                     "and scores them NaN (a model fitted without it: fit it again with it)")
        stray = " in pixels not NaN in every band" if fill is not None and blank else ""
        raise InvalidInputError(f"{what} holds {bad} NaN or infinite value(s) of {X.size}{stray}{where}; fill or drop "
                                f"them first{scene}")
    return X


def _integer(X) -> bool:
    dtype = getattr(X, "dtype", None)
    return dtype is not None and np.issubdtype(dtype, np.integer)  # bool is not np.integer


def _lazy(X) -> bool:
    """A view of a file: a :class:`~had.cubeview.CubeView`, what :func:`~had.cubeview.is_lazy` says reads from a
    file (a ``np.memmap``, a reader by windows), or an array whose memory is a memory map."""
    import mmap

    from .cubeview import CubeView, is_lazy

    if isinstance(X, CubeView) or is_lazy(X):
        return True
    base = getattr(X, "base", None)
    while base is not None:
        if is_lazy(base) or isinstance(base, mmap.mmap):
            return True
        base = getattr(base, "base", None)
    return False


def _bad_columns(bad: np.ndarray, kind: str) -> str:
    """`` (in bands 3, 8)`` / `` (in column 2)``: where a boolean mask of bad values lies, for a cube's bands or a
    table's columns (1-based); empty for images."""
    if kind == "image" or not bad.any():
        return ""
    from .nodata import band_ranges

    ranges = band_ranges(np.flatnonzero(bad.reshape(-1, bad.shape[-1]).any(axis=0)).tolist())
    return f" (in {ranges})" if kind == "cube" else f" (in {ranges.replace('band', 'column')})"


def _first_bad_pixel(bad: np.ndarray, kind: str, first_row: int = 0) -> str:
    """``, the first at row 150, column 200 (1-based)``: where a cube's first bad value lies (row-major order), its
    row counted from `first_row` (the tile's first row in the scene); ``, the first in row 3 (1-based)`` for a
    table's; empty for images. Was: a cube's bad value was said by its band alone, and by its rows when the cube
    was checked as rows (with fill pixels left out); a table's by its column alone."""
    if kind not in ("cube", "tabular") or not bad.any():
        return ""
    if kind == "tabular":  # a table's row (was: its column alone)
        return f", the first in row {first_row + int(np.flatnonzero(bad.any(axis=-1))[0]) + 1} (1-based)"
    pixel = int(np.flatnonzero(bad.any(axis=-1).reshape(-1))[0])
    row, col = divmod(pixel, bad.shape[1])
    return f", the first at row {first_row + row + 1}, column {col + 1} (1-based)"


def check_truth(y, X: np.ndarray, *, what: str = "ground truth") -> np.ndarray:
    """Validate 0/1 ground truth for `X`: one label per sample ((H, W) or (H*W,) for a cube)."""
    y = as_array(y, "labels")
    expected = n_samples(X)
    if y.size != expected:
        raise LabelError(f"{what} has {y.size} labels for {expected} samples; pass one 0/1 label per sample")
    shape = tuple(np.shape(X))
    if len(shape) == 3 and y.ndim > 1 and y.shape != shape[:2]:  # (W, H), or any other map of as many pixels:
        turned = " (transposed?)" if y.shape == shape[1::-1] else ""  # measured pixel by pixel it was wrong
        raise LabelError(f"{what} is a {y.shape[0]}x{y.shape[1]} map for a {shape[0]}x{shape[1]} scene{turned}; "
                         "pass the map of the scene's rows and columns (H, W), or one label per pixel in row order")
    values = np.unique(y)
    if not np.isin(values, (0, 1)).all():
        raise LabelError(f"{what} holds values {values[:10].tolist()}; use 0 = normal and 1 = anomaly")
    return y.reshape(-1).astype(np.int8)




#: known anomalies above this share of all samples (and above the known normals) look like reversed labels: Deep
#: SAD's protocol labels at most 20 % of the training set as anomalies (its largest gamma_l, 0.2), never more
REVERSED_SHARE = 0.2


def reversed_known(known) -> str | None:
    """Why `known` (checked by :func:`check_known`) looks like scikit-learn's convention, or None.

    The rule: the known anomalies (1) are more than half of the labelled samples (more than the known normals,
    -1) and more than :data:`REVERSED_SHARE` of all samples. scikit-learn's +1 inlier / -1 outlier, passed as is,
    labels the inliers "known anomaly" (was: Deep SAD learnt the inliers as the anomalies without a word, AUROC 0.25
    on cardio with 993 of 1,003 rows "known anomalies")."""
    known = np.asarray(known).reshape(-1)
    anomalies, normals = int(np.count_nonzero(known == 1)), int(np.count_nonzero(known == -1))
    if known.size == 0 or anomalies <= normals or anomalies <= REVERSED_SHARE * known.size:
        return None
    return (f"{anomalies:,} of the {anomalies + normals:,} known labels ({anomalies / known.size:.0%} of the "
            f"{known.size:,} samples) say known anomaly: had's known labels are 1 = known anomaly, -1 = known normal, "
            "0 = unlabelled, and scikit-learn's +1 inlier / -1 outlier is the reverse; if these are scikit-learn's, "
            "negate them (-y)")


def check_known(y, X: np.ndarray) -> np.ndarray:
    """Validate semi-supervised labels: 1 = known anomaly, -1 = known normal, 0 = unlabeled."""
    y = as_array(y, "labels")
    expected = n_samples(X)
    if y.size != expected:
        raise LabelError(f"known labels have {y.size} entries for {expected} samples; pass one per sample")
    values = np.unique(y)
    if not np.isin(values, (-1, 0, 1)).all():
        raise LabelError(
            f"known labels hold values {values[:10].tolist()}; use 1 = known anomaly, -1 = known normal, 0 = unlabeled"
        )
    return y.reshape(-1).astype(np.int8)


def as_float32(array) -> tuple[np.ndarray, float | None]:
    """`array` as a contiguous float32 array (no copy when it is one), and, when finite values beyond float32's
    range became infinite in the cast, the largest finite ``|x|`` of `array` (else None): what a float32 model
    (a torch network, an ONNX graph) would turn into NaN scores. NaN (no-data fill) passes as it is."""
    array = np.asarray(array)
    with np.errstate(over="ignore"):  # the overflow is reported by the second value, not as a warning
        cast = np.ascontiguousarray(array, dtype=np.float32)
    if array.dtype.itemsize <= 4 or not np.issubdtype(array.dtype, np.floating) or not np.isinf(cast).any():
        return cast, None
    finite = np.abs(array[np.isfinite(array)])
    return cast, float(finite.max()) if finite.size else float("inf")


#: a feature whose spread (standard deviation, or max - min) is at most this share of its magnitude has none: float64
#: rounding of a constant feature (about 4,500 rounding steps of its mean over many rows; a real feature varies far
#: more). Relative, so it does not depend on the feature's units (absolute floors of 1e-12 left a feature varying at
#: the 1e-13 scale unscaled, and scaled a constant 0.1's rounding noise to unit variance: a numeric-edge audit)
NO_SPREAD = 1e-12


def without_spread(spread: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """Which features have no spread (:data:`NO_SPREAD`): `spread` at most that share of `|magnitude|` (a mean, or
    the larger of ``|min|`` and ``|max|``); exact zeros included. RX's whitening and had_sdk's scalers."""
    return np.asarray(spread) <= NO_SPREAD * np.abs(magnitude)


def largest_abs(array: np.ndarray) -> float:
    """The largest ``|x|`` of a non-empty float `array`, NaN (no-data fill) left out; NaN when every value is NaN.
    Two reductions over the array, no temporary of its size (``np.abs`` would make one)."""
    return max(float(np.fmax.reduce(array, axis=None)), -float(np.fmin.reduce(array, axis=None)))


def below_float32(array, cast: np.ndarray) -> float | None:
    """The largest ``|x|`` of float64 `array` when it is not zero and every value lies below float32's smallest
    normal number (1.2e-38), so that its float32 `cast` kept none of them (zeros, or subnormals with a few bits):
    what a float32 model sees as a blank input and scores as a constant. Else None (NaN fill is left out)."""
    array = np.asarray(array)
    if array.dtype.itemsize <= 4 or not np.issubdtype(array.dtype, np.floating) or cast.size == 0:
        return None
    kept = largest_abs(cast)
    if not kept < np.finfo(np.float32).tiny:  # a normal float32 value survived (or all NaN: nothing to say)
        return None
    peak = largest_abs(array)
    return peak if peak > 0 else None


def channels_hint(fitted: int, got: int) -> str:
    """How to give images `fitted` channels where `got` came (1 and 3: grayscale and RGB), as a folder of images is
    converted when read (``--data channels=N``; a palette PNG of grey levels reads as RGB); empty otherwise."""
    if {int(fitted), int(got)} <= {1, 3}:
        return f" (a folder of images: --data channels={int(fitted)} converts every image as read)"
    return ""


def feature_mismatch_fix(spec, fitted: int, got: int, unit: str, images: bool) -> str:
    """The fix for data of `got` features (bands, channels) given to a model of `fitted`, from its input `spec`:
    images, the same channels (with the folder setting that converts them, :func:`channels_hint`); other data, the
    bands the model was fitted on where it was fitted on some of its input's (:func:`band_selection_hint`), else
    the same features in the same order. One rule for the eager engine and the ONNX runtime."""
    if not images and (hint := band_selection_hint(spec, got)):
        return hint
    return f"score data with the same {unit} in the same order as at fit" + (channels_hint(fitted, got) if images else "")


def wrong_image_size(fitted: tuple[int, ...], got: tuple[int, ...], remedy: str | None = None) -> InvalidInputError:
    """The error for images ``(C, H, W)`` `got` of another size than the ``(C, H, W)`` a model was `fitted` on;
    `remedy`: how to fix it where the caller knows better than resizing (tiles of a raster: cut them as at fit)."""
    height, width = fitted[-2:]
    folder = f" (a folder of images: --data size={int(height)} resizes them as read)" if height == width else ""
    remedy = remedy or f"resize them to {height} x {width} pixels as at fit{folder}"
    return InvalidInputError(f"fitted on images {tuple(int(v) for v in fitted)}, got {tuple(int(v) for v in got)}; "
                             f"{remedy}")


def float32_or_refuse(array, who: str) -> np.ndarray:
    """`array` as float32 (:func:`as_float32`: no copy when it is already one), refusing what float32 cannot hold,
    with one typed line naming `who` computes in it ("the network", "the ONNX model"): finite values beyond
    3.4e38 become infinite in the cast (NaN scores or a NaN loss); data whose every value lies below 1.2e-38
    becomes zeros, a blank input scored as a constant (:func:`below_float32`). NaN (no-data fill) and true zeros
    pass. The one refusal of both the eager path (``had_sdk.torch_runtime.float32_of``) and the ONNX runtime."""
    cast, beyond = as_float32(array)
    remedy = "Rescale it to near unit scale (multiply by a constant), or check the file's data type and byte order"
    if beyond is not None:
        raise InvalidInputError(
            f"{who} computes in float32, which cannot hold values beyond 3.4e38 (this data's largest |x| is "
            f"{beyond:.3g}). {remedy}")
    if (tiny := below_float32(array, cast)) is not None:  # was: zeros in, a constant score out, exit 0
        raise InvalidInputError(
            f"{who} computes in float32, which cannot hold values this small: every value is below 1.2e-38 (this "
            f"data's largest |x| is {tiny:.3g}) and becomes zero. {remedy}")
    return cast


#: a model that squares the values as they are (distances, covariances, kernels, moments) loses them in float64
#: beyond ``2**SQUARABLE_EXPONENT`` (squares overflow) or when every value lies below ``2**-SQUARABLE_EXPONENT``
#: (squares underflow to zero)
SQUARABLE_EXPONENT = 500


def check_value_range(rows: np.ndarray, who: str, exponent: int, computes: str) -> None:
    """Refuse float `rows` whose largest ``|x|`` is above ``2**exponent`` or, not zero, below ``2**-exponent``,
    with one typed line naming what `who` `computes` and the remedy (for models that take the values as they are)."""
    if rows.size == 0:
        return
    peak = largest_abs(rows)  # NaN (fill) left out
    if not peak == peak or peak == 0.0 or 2.0 ** -exponent <= peak <= 2.0 ** exponent:  # all NaN: nothing to check
        return
    bound = f"beyond {2.0 ** exponent:.0e}" if peak > 1.0 else f"all below {2.0 ** -exponent:.0e}"
    raise InvalidInputError(
        f"{who} {computes}, which cannot hold data {bound} (this data's largest |x| is {peak:.3g}). Rescale it "
        "to near unit scale (multiply by a constant), check the file's data type and byte order, or use rx "
        "(which rescales by itself)")
