"""ENVI scenes (``.hdr`` + ``.img``/``.dat``/``.raw``/no suffix), memory-mapped through Spectral Python (``spectral``).

A data file may be named ``.img``, ``.dat``, ``.raw``, ``.bsq``, ``.bil``, ``.bip`` or have no suffix (given the
header, the first of these beside it is read; given a data file, that file).

The header gives the shape (``lines``, ``samples``, ``bands``), the layout (``interleave`` BSQ, BIL or BIP),
``data type``, ``byte order``, ``header offset``, ``wavelength``, ``fwhm``, ``band names`` (``meta["band_names"]``,
where the header names every band: ``--data bands=names:...``), ``map info``, ``reflectance scale factor``
(``meta["reflectance_scale_factor"]``: ``had score`` refuses a scene stored in other units than the model's,
:mod:`had.reflectance`) and ``bbl`` (the bad band list:
``meta["bad_bands"]``, said by ``had fit``/``had score``; every band is still read and used; a ``bbl`` that is not
one flag per band marks none, with a reader note, and ``--data bands=good`` says why). The cube is returned as a
read-only ``np.memmap`` viewed as ``(H, W, B)`` (``spectral``'s ``open_memmap(interleave="bip")``: a transposed
view, no copy), so a flight line larger than memory is never read whole: :func:`had.tiling.row_tiles` reads it
tile by tile.

Georeferencing: ``map info`` becomes an affine ``transform`` (rasterio's order ``a, b, c, d, e, f``; the
``rotation=`` term and the reference pixel as GDAL's ENVI driver reads them, so a GIS agrees) and ``crs`` comes from ``coordinate system string`` (WKT) or,
without one, from the projection name: UTM on WGS-84 (EPSG 326xx/327xx) or NAD-83 (269xx), Geographic Lat/Lon
on WGS-84 (EPSG:4326), in metres and degrees; UTM in another unit of ``map info``'s ``units=`` (Feet, US Survey
Feet, Kilometers, Yards, Miles: :data:`LINEAR_UNITS`) as a PROJ definition in that unit (GDAL reads Feet, Yards
and Miles so; was: EPSG in metres, the map hundreds of km off). Other projections, and units had cannot name
(with a reader note), keep their transform and a ``crs`` of None.

Bad files get :class:`had.errors.DataFileError` with one line: no data file beside the header, a data file
shorter than the header says (truncated copy), a header that is not ENVI or lacks ``lines``/``samples``/
``bands``, a size, offset or byte order that is not a whole number in range, an unknown interleave or data type,
a key that decides how the file is read or what is recorded of it (:data:`DECISIVE`) given twice with different
values (``samples`` twice: spectral kept the last, the scene read transposed; any other key given twice is read as
spectral reads it, the last), a float file whose byte order reads a sample of its ordinary values (fill, zeros and
NaN left out) as absurd numbers where the other order reads them as ordinary ones, an integer file (16 bits
or more) whose byte order reads its values as noise where the other order reads them smooth, and an
``interleave`` that reads the data file as a scrambled cube where another reads it as a smooth scene
(:func:`_refuse_wrong_interleave`). A header without ``byte order`` is read in the order those tells accept,
little-endian where they cannot tell, with a note saying which and the line to add (:func:`_settle_byte_order`).
A ``data ignore value`` that is not a number, or is infinite, is refused too (it decides which pixels are
fitted), and a ``reflectance scale factor`` that is not a positive number (it says the units of the values).
Fields that only decorate the scene (``default bands``, a ``map info`` that cannot be read: not numbers, a pixel
size of 0, a NaN or infinite place) are dropped, not fatal (a ``wavelength`` holding a word, NaN or inf too, with
a note); ``had score`` says why its GeoTIFF is not
georeferenced. A data file longer than the header needs is read as the header says, with a
note (``meta["reader_notes"]``, said by ``had fit`` and ``had score``). A data file that cannot be mapped for want
of address space or memory (``ulimit -v``, ``prlimit --as``) is said as that, with the room it needs, not as a bad
file (:func:`_unmappable`).
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from had.errors import DataFileError

HEADER_SUFFIX = ".hdr"
DATA_SUFFIXES = (".img", ".dat", ".raw", ".bsq", ".bil", ".bip", "")
REQUIRED = ("lines", "samples", "bands")
INTERLEAVES = ("bsq", "bil", "bip")
#: ENVI data type codes read as real numbers (6 and 9 are complex)
DTYPES = {1: "u1", 2: "i2", 3: "i4", 4: "f4", 5: "f8", 12: "u2", 13: "u4", 14: "i8", 15: "u8"}


def header_of(path: str | Path) -> Path | None:
    """The ENVI header for `path`: itself if it is a ``.hdr``, else ``stem.hdr`` or ``name.hdr`` beside it."""
    path = Path(path)
    if path.suffix.lower() == HEADER_SUFFIX:
        return path
    for candidate in (path.with_suffix(HEADER_SUFFIX), path.with_name(path.name + HEADER_SUFFIX)):
        if candidate.is_file():
            return candidate
    return None


def is_envi_path(path: str | Path) -> bool:
    """Whether `path` is an ENVI file for the CLI: a ``.hdr``, a file with ``NAME.hdr`` beside it (ENVI's
    ``scene.img.hdr`` naming), or a data file named as ENVI names them (``.img``, ``.dat``, ``.raw``, ``.bsq``,
    ``.bil``, ``.bip`` or no suffix) with ``STEM.hdr`` beside it. A ``.npy``, ``.mat``, ``.tif`` or ``.csv`` that
    only shares its stem with a header is not claimed: its own reader reads it."""
    path = Path(path)
    if not path.name:  # `.` or `/`: a folder, never ENVI (was: ValueError "has an empty name", a traceback)
        return False
    if path.suffix.lower() == HEADER_SUFFIX or Path(f"{path}{HEADER_SUFFIX}").is_file():
        return True
    return path.suffix.lower() in DATA_SUFFIXES and path.with_suffix(HEADER_SUFFIX).is_file()


def data_file_of(header: Path) -> Path:
    """The data file beside `header`: its stem with ``.img``, ``.dat``, ``.raw`` (either case) or no suffix."""
    tried = []
    for suffix in DATA_SUFFIXES:
        for variant in dict.fromkeys((suffix, suffix.upper())):
            candidate = header.with_suffix(variant)
            tried.append(candidate.name)
            if candidate.is_file():
                return candidate
    raise DataFileError(f"{header}: no data file beside the header (tried {', '.join(tried)}); copy it there")


#: headers are a few KB; a larger ".hdr" is left to spectral as it is (which says what it is not)
HEADER_BYTES = 16 * 2**20


@contextlib.contextmanager
def parsable(header: Path, added: str | None = None) -> Iterator[Path]:
    """`header`, or a UTF-8 copy of it (in a temporary folder, removed after the block) for spectral, which reads
    headers as the locale's text: a header written on Windows in cp1252 (``wavelength units = µm``, a
    description ``Café``), or saved by Notepad with a UTF-8 byte-order mark, was "not an ENVI header". With
    `added` (a ``key = value`` line had settled, :func:`_settle_byte_order`), a copy with that line at its end."""
    raw = header.read_bytes() if header.stat().st_size <= HEADER_BYTES else b""
    marked = raw.startswith(codecs.BOM_UTF8)
    body = raw[len(codecs.BOM_UTF8):] if marked else raw
    try:
        text, copied = body.decode("utf-8"), marked
    except UnicodeDecodeError:  # cp1252 (Windows' Latin-1); a binary file is left to spectral, which says so
        text, copied = body.decode("cp1252", errors="replace"), body.lstrip().startswith(b"ENVI")
    if added is not None and raw:
        text, copied = text.rstrip("\r\n") + f"\n{added}\n", True
    if not copied:
        yield header
        return
    with tempfile.TemporaryDirectory(prefix="had-envi-") as folder:
        copy = Path(folder) / "header.hdr"
        copy.write_text(text, encoding="utf-8")
        yield copy


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """spectral's UserWarning on header keys not in lower case (``DATA IGNORE VALUE = ...``) silenced: it reads
    them in lower case, as had looks them up, so the warning (was: printed to stderr by had fit and had score,
    naming a spectral setting) told the user nothing to do. So are its logged warnings ("spectral:WARNING: Unable
    to parse "wavelength" field from header", and the same of fwhm and bbl): had reads those fields itself and
    says what it could not read as its own notes (:func:`scene_meta`)."""
    import logging

    logger = logging.getLogger("spectral")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Parameters with non-lowercase names", category=UserWarning)
            yield
    finally:
        logger.setLevel(level)


def read_header(header: Path) -> dict[str, Any]:
    """The header's fields (lower-case keys), checked for what a cube needs."""
    from spectral.io import envi

    if not header.is_file():
        raise DataFileError(f"no such ENVI header: {header}")
    try:
        with parsable(header) as readable, _quiet():
            fields = envi.read_envi_header(str(readable))
            text = readable.read_text(encoding="utf-8", errors="replace")  # as parsed (a UTF-8 copy, or as it is)
    except envi.FileNotAnEnviHeader:
        raise DataFileError(f"{header} is not an ENVI header (its first line must be 'ENVI')") from None
    except Exception as exc:  # spectral's parser raises several types for a malformed header
        raise DataFileError(f"{header}: the header cannot be parsed ({type(exc).__name__}: {exc})") from None
    _refuse_conflicting_keys(header, text)
    missing = [key for key in REQUIRED if key not in fields]
    if missing:
        raise DataFileError(f"{header}: the header lacks {', '.join(missing)}; add e.g. '{missing[0]} = 100'")
    for key, least in (*((key, 1) for key in REQUIRED), ("header offset", 0)):
        if key in fields:
            fields[key] = _whole_number(header, key, fields[key], least)
    if "byte order" in fields:  # none given: open_envi settles it from the data (_settle_byte_order)
        order = _whole_number(header, "byte order", fields["byte order"], 0)
        if order not in (0, 1):
            raise DataFileError(f"{header}: byte order = {order} is neither 0 (little-endian) nor 1 (big-endian); "
                                "write the one the file was made with")
    interleave = str(fields.get("interleave", "bsq")).strip().lower()
    if interleave not in INTERLEAVES:
        raise DataFileError(f"{header}: unknown interleave {interleave!r}; ENVI files are bsq, bil or bip")
    try:
        code = int(fields.get("data type", 4))
    except ValueError:
        code = -1
    if code not in DTYPES:
        raise DataFileError(f"{header}: data type {fields.get('data type')!r} is not a real-number ENVI type "
                            f"({', '.join(str(c) for c in DTYPES)})")
    # read once, here: refused in one line before spectral's open (which raises on a word there), then kept as
    # the number (None: no factor) for scene_meta
    fields["reflectance scale factor"] = _scale_factor(header, fields)
    return fields


#: the header keys had reads that decide how the data file is read (its shape, offset, type, layout, byte order and
#: fill) or what is recorded of it (wavelengths and their widths, band names, bad bands, units, map and its
#: coordinate system): one given twice with different values is refused. Any other key given twice
#: (``description``, ``wavelength units``, ``sensor type``) is read as spectral reads it, the last one
DECISIVE = ("samples", "lines", "bands", "header offset", "data type", "interleave", "byte order", "data ignore value",
            "wavelength", "fwhm", "band names", "bbl", "reflectance scale factor", "map info",
            "coordinate system string")


def _refuse_conflicting_keys(header: Path, text: str) -> None:
    """DataFileError when the header (its `text`, as spectral parsed it) gives one of the :data:`DECISIVE` keys twice
    with different values: spectral keeps the last one silently, so ``samples``/``lines`` written twice read the
    scene transposed and its map scrambled. Values are compared as read (:func:`_normalised`: ``30`` and ``030``,
    ``BSQ`` and ``bsq``, ``{1,2}`` and ``{1.0, 2.0}`` are the same value), so the same value twice passes."""
    seen: dict[str, str] = {}
    for key, value in _entries(text):
        if key not in DECISIVE:
            continue
        first = seen.setdefault(key, value)
        if _normalised(first) != _normalised(value):
            raise DataFileError(f"{header}: '{key}' is given twice, as {first!r} and as {value!r}; keep one (the "
                                "one that describes the data file) and delete the other")


def _entries(text: str) -> Iterator[tuple[str, str]]:
    """A header's ``key = value`` entries as spectral splits them (lines after the first, ``;`` comment lines
    skipped, a braced value running on to the line ending in ``}``), the key as spectral keys it (stripped, in lower
    case: ``band  names`` is not ``band names``, spectral reads them as two keys) and the value with its blanks
    collapsed (a braced one as ``{a, b, c}``)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[1:]  # universal newlines, as spectral
    at = 0
    while at < len(lines):
        line, at = lines[at], at + 1
        if "=" not in line or line.startswith(";"):
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if value.startswith("{"):
            while not value.endswith("}") and at < len(lines):
                value += "" if lines[at].startswith(";") else " " + lines[at].strip()
                at += 1
            value = "{" + ", ".join(" ".join(item.split()) for item in value.strip("{}").split(",")) + "}"
        yield key.strip().lower(), " ".join(value.split())


def _normalised(value: str) -> tuple:
    """A header value (as :func:`_entries` gives it) as had compares it: item by item (a braced list), each a
    number where it reads as one (a whole one as an int: ``30``, ``030`` and ``30.0`` alike; NaN as the word), else
    the word in lower case (``BSQ`` is ``bsq``)."""
    items = value[1:-1].split(",") if value.startswith("{") and value.endswith("}") else [value]
    normal: list[Any] = []
    for item in (item.strip() for item in items):
        number = _floats(item)
        if number is None or math.isnan(number):
            normal.append(item.lower())
        else:
            normal.append(int(number) if number.is_integer() else number)
    return tuple(normal)


def _whole_number(header: Path, key: str, value: Any, least: int) -> int:
    """A header field that must be a whole number of at least `least` (``lines = abc`` or ``-5`` refused)."""
    text = str(value).strip()
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is None or number < least:
        raise DataFileError(f"{header}: {key} = {text!r} is not a whole number of at least {least}; "
                            "correct the header")
    return number


def _dtype(fields: dict[str, Any]) -> np.dtype:
    """The header's ``data type`` as a numpy type, in the machine's byte order (ENVI's default: 4, float32)."""
    return np.dtype(DTYPES[int(fields.get("data type", 4))])


def _count(fields: dict[str, Any]) -> int:
    """How many values the header's ``lines`` x ``samples`` x ``bands`` make."""
    return math.prod(int(fields[key]) for key in REQUIRED)


def _endian(fields: dict[str, Any], other: bool = False) -> str:
    """The header's ``byte order`` named: ``"big"`` (1) or ``"little"`` (0, the default); with `other`, the other
    one's name."""
    return "big" if (int(fields.get("byte order", 0)) == 1) != other else "little"


#: numpy's byte order marks, by name
ORDER_MARKS = {"little": "<", "big": ">"}


def _expected_bytes(fields: dict[str, Any]) -> int:
    return int(fields.get("header offset", 0)) + _count(fields) * _dtype(fields).itemsize


def open_envi(path: str | Path, check_interleave: bool = True) -> tuple[np.memmap, dict[str, Any]]:
    """The cube of an ENVI file as a read-only ``(H, W, B)`` memmap view, and its meta (see the module docstring);
    `check_interleave` False reads it as its header declares, without :func:`_refuse_wrong_interleave`."""
    from spectral.io import envi

    header = header_of(path)
    if header is None:
        raise DataFileError(f"{path}: no ENVI header (.hdr) beside it")
    fields = read_header(header)
    data = Path(path) if Path(path) != header else data_file_of(header)  # the data file the user named, if any
    size, expected = os.path.getsize(data), _expected_bytes(fields)
    if size < expected:  # a short copy, or a header that does not describe the file (was: "copy it again" alone)
        kind = _dtype(fields)
        offset = int(fields.get("header offset", 0) or 0)
        raise DataFileError(f"{data} is truncated: {size} bytes where the header needs {expected} "
                            f"({fields['lines']} lines x {fields['samples']} samples x {fields['bands']} bands of "
                            f"{kind.name}, {kind.itemsize} bytes each{f', after a {offset}-byte header offset' if offset else ''}); "
                            "copy the whole file again, or, if the file is whole, correct the header's sizes, data type "
                            "or header offset")
    given_order = "byte order" in fields
    order_note = None if given_order else _settle_byte_order(header, data, fields)
    _refuse_swapped_floats(header, data, fields)
    _refuse_swapped_integers(header, data, fields)
    if check_interleave:
        _refuse_wrong_interleave(header, data, fields)
    image = None
    try:
        with parsable(header, None if given_order else f"byte order = {fields['byte order']}") as readable, _quiet():
            image = envi.open(str(readable), str(data))
            cube = image.open_memmap(interleave="bip", writable=False)
    except Exception as exc:  # a MemoryError or ENOMEM, said or hidden by spectral, is no fault of the file's
        short = _short_of_room(data, fields, exc)  # probed while spectral's image (and its map, if any) is held
        image = None
        if short is not None:
            raise _unmappable(data, fields, short) from None
        raise DataFileError(f"{header}: spectral cannot open it ({type(exc).__name__}: {exc})") from None
    meta = scene_meta(header, data, fields)
    if order_note:
        meta["reader_notes"] = [*(meta.get("reader_notes") or ()), order_note]
    if size > expected:  # read as the header says; a wrong size or data type in it would read the pixels wrongly
        meta["reader_notes"] = [*(meta.get("reader_notes") or ()),
            f"note: {data.name} holds {size - expected:,} bytes more than the header's {fields['lines']} lines x "
            f"{fields['samples']} samples x {fields['bands']} bands of {meta['data_type']} need ({expected:,}); had "
            "reads those and leaves the rest: if the header's sizes or data type are not the file's, correct them"]
    return cube, meta


def _short_of_room(data: Path, fields: dict[str, Any], exc: BaseException) -> BaseException | None:
    """The failure to allocate memory or address space behind spectral's failure to open `data` (`exc`), None
    where there is none. Spectral hides it: its map's ``OSError(12, 'Cannot allocate memory')`` (``ulimit -v``,
    ``prlimit --as``) becomes a map of None and then "axes don't match array" (was: "spectral cannot open it
    (ValueError: axes don't match array)", a fine file called broken; probe of 7 December 2026, ``had score``
    under ``prlimit --as=500000000``), so the data are mapped here once more, as spectral maps them, to tell
    (spectral's own map, if it made one, still held by the caller, so the probe meets the room spectral met)."""
    if _no_room(exc):
        return exc
    offset = int(fields.get("header offset", 0) or 0)
    try:
        nbytes = _count(fields) * _dtype(fields).itemsize
        probe = np.memmap(data, dtype=np.uint8, mode="r", offset=offset, shape=(nbytes,))
    except (MemoryError, OSError) as failed:
        return failed if _no_room(failed) else None
    del probe
    return None


def _unmappable(data: Path, fields: dict[str, Any], short: BaseException) -> DataFileError:
    """The DataFileError that says `data` cannot be mapped into memory for want of address space or memory
    (`short`, :func:`_short_of_room`), with the room left under an address-space limit and the room it needs:
    twice the data's size, as spectral maps them twice while it opens them."""
    from had.mat_reader import address_space_headroom

    nbytes = _count(fields) * _dtype(fields).itemsize
    room = address_space_headroom()
    left = f"; {room / 2**20:,.0f} MiB of address space left under this process's limit" if room is not None else ""
    detail = f"{type(short).__name__}: {short}" if str(short) else type(short).__name__
    return DataFileError(f"cannot map {data} ({_size(nbytes)}) into memory: the process's address space "
                         f"or memory is exhausted ({detail}{left}); raise the limit (ulimit -v, prlimit --as) to "
                         f"leave {_size(2 * nbytes)} (twice the file: it is mapped twice as it is opened) "
                         "and what the detector needs, or run where more memory is free; the file is not at fault")


def _size(nbytes: int) -> str:
    """`nbytes` as a message says a size: in MiB, or in bytes under one."""
    return f"{nbytes / 2**20:,.0f} MiB" if nbytes >= 2**20 else f"{nbytes:,} bytes"


def _no_room(exc: BaseException) -> bool:
    """Whether `exc` is a failure to allocate memory or address space: a MemoryError, an OSError ENOMEM."""
    return isinstance(exc, MemoryError) or (isinstance(exc, OSError) and exc.errno == errno.ENOMEM)


def _settle_byte_order(header: Path, data: Path, fields: dict[str, Any]) -> str | None:
    """For a header without ``byte order`` (spectral refuses it; GDAL reads the machine's order; had refused it,
    asking for the line): `fields` given the order the data show, by the tells that refuse a wrong one
    (:func:`_refuse_swapped_floats`, :func:`_refuse_swapped_integers`), little-endian where they cannot tell.
    Returns the note that says which was read and why; None for one-byte values (either order reads them)."""
    fields["byte order"] = 0
    kind = _dtype(fields)
    if kind.itemsize == 1:
        return None
    readable = []
    for order in (0, 1):
        try:
            _refuse_swapped_floats(header, data, {**fields, "byte order": order})
            _refuse_swapped_integers(header, data, {**fields, "byte order": order})
        except DataFileError:
            continue
        readable.append(order)
    told = len(readable) == 1  # the tells refuse one order at most: both readable, or only one
    fields["byte order"] = readable[0] if told else 0
    name = _endian(fields)
    if told:
        how = ("absurd numbers" if kind.kind == "f" else "noise")
        return (f"note: {header.name} gives no byte order; had read {data.name} {name}-endian, in which its values read "
                f"as ordinary numbers (the other order reads them as {how}): add 'byte order = {fields['byte order']}' "
                "to the header to say so")
    return (f"note: {header.name} gives no byte order; had read {data.name} little-endian, as GDAL does on this "
            "machine (its values cannot tell the order): if the map looks like noise, the file may be big-endian; "
            "add 'byte order = 1' to the header then, else 'byte order = 0'")


#: values read at each of a few places spread over a float data file to judge its byte order (a few KB): 16 windows,
#: at fractions of the file stepped by the golden ratio, so that they fall in different bands, rows and columns of
#: any layout (evenly spaced ones sat at the first pixel of bands 0, B/4, B/2 ...: the fill corners of a flight line)
ORDER_SAMPLE, ORDER_PLACES = 256, 16
#: the fewest distinct informative values (:func:`_informative`) the byte order is judged on; fewer: not judged
ORDER_LEAST = 64
#: sizes no sensor's float values take (beyond, or nonzero below, these): what a float read in the wrong byte order
#: mostly shows, its exponent taken from the low bits of the mantissa
ABSURD_ABOVE, ABSURD_BELOW = 1e20, 1e-20


def _refuse_swapped_floats(header: Path, data: Path, fields: dict[str, Any]) -> None:
    """DataFileError when a float file read in the header's byte order gives mostly absurd values (a quarter or
    more of the informative values of a small sample, :func:`_informative`, infinite, or beyond
    :data:`ABSURD_ABOVE` or nonzero below :data:`ABSURD_BELOW` in size) that the other byte order reads as ordinary
    numbers (at most 1% absurd): a header whose ``byte order`` is not the file's. Was: "16 NaN or infinite value(s)
    ... replace bad pixels by the band median", a fix that hides the noise, or a fit on it where no byte pattern
    happened to read as NaN. Fewer than :data:`ORDER_LEAST` informative values (a sample of fill): not judged.
    Integer files have another tell (:func:`_refuse_swapped_integers`)."""
    kind = _dtype(fields)
    if kind.kind != "f":
        return
    stated, raw = _sampled(data, fields)
    values, swapped = _informative(raw, stated, _fill_value(header, fields))
    if values.size < ORDER_LEAST or _absurd_share(values) < 0.25 or _absurd_share(swapped) > 0.01:
        return
    other = _endian(fields, other=True)
    raise _wrong_order(header, fields, f"{data.name} as absurd numbers ({_absurd_share(values):.0%} of "
                       f"{values.size:,} distinct values sampled, fill, zeros and NaN left out, are infinite, or beyond "
                       f"{ABSURD_ABOVE:g} or below {ABSURD_BELOW:g} in size), where {other}-endian reads them as "
                       "ordinary ones")


def _wrong_order(header: Path, fields: dict[str, Any], reading: str) -> DataFileError:
    """The refusal of a header whose ``byte order`` reads its data file as `reading` says."""
    said, other = _endian(fields), _endian(fields, other=True)
    return DataFileError(f"{header}: byte order = {fields['byte order']} ({said}-endian) reads {reading}: the "
                         f"header's byte order is likely wrong; write 'byte order = {1 - int(fields['byte order'])}' "
                         f"if the file was written {other}-endian")


def _sampled(data: Path, fields: dict[str, Any]) -> tuple[np.dtype, bytes]:
    """The header's data type in its stated byte order, and :func:`_sample`'s bytes of the data file."""
    kind = _dtype(fields)
    return (kind.newbyteorder(ORDER_MARKS[_endian(fields)]),
            _sample(data, kind.itemsize, int(fields.get("header offset", 0)), _count(fields)))


#: an integer file's reading is judged rough where the values of its sampled windows change from one to the next by
#: this share of their spread or more (:func:`_roughness`); the other order's reading must be this many times
#: smoother. Chosen on the eight development scenes written as int16 in each interleave
#: (benchmarks/envi_int_order.py, benchmarks/results/envi_int_order.md): right readings 0.05-0.46, wrong ones
#: 0.45-1.16, at least twice the right one but for abu-beach-1 (its wrong readings below 0.6: read, as before);
#: noise reads about 1.15 in either order, so a file of noise is never refused
ROUGH, SMOOTHER = 0.6, 2.0


def _refuse_swapped_integers(header: Path, data: Path, fields: dict[str, Any]) -> None:
    """DataFileError when an integer file (16 bits or more) read in the header's byte order changes from each value
    to the next about as much as noise does (:data:`ROUGH` of its spread or more) where the other order reads it
    :data:`SMOOTHER` times smoother: the low byte of each value, its noisiest, read as the high one. A sensor's
    values change little from one band, or pixel, to the next in any interleave; byte-swapped they jump by
    hundreds of times their step. Was read unsaid: the fit ran on noise. Values below 256 (every high byte zero)
    read the same shape in either order, scaled by 256: no tell, not judged."""
    kind = _dtype(fields)
    if kind.kind not in "iu" or kind.itemsize < 2:
        return
    stated, raw = _sampled(data, fields)
    fill = _fill_value(header, fields)
    stated_rough = _roughness(np.frombuffer(raw, dtype=stated), fill)
    other_rough = _roughness(np.frombuffer(raw, dtype=stated.newbyteorder()), fill)
    if stated_rough is None or other_rough is None or stated_rough < ROUGH or other_rough * SMOOTHER > stated_rough:
        return
    raise _wrong_order(header, fields, f"{data.name}'s {kind.name} values as noise (each differs from the next by "
                       f"{stated_rough:.2f} of their spread, where {_endian(fields, other=True)}-endian reads "
                       f"{other_rough:.2f})")


#: the interleave is judged (:func:`_refuse_wrong_interleave`) on :data:`LAYOUT_PLACES` pairs of windows of
#: :data:`LAYOUT_WINDOW` values for each of seven strides (under 4 MB of a float32 file, however large); a file with
#: fewer than :data:`LAYOUT_LEAST` lines, samples or bands, or fewer than 4 informative windows, is not judged
LAYOUT_WINDOW, LAYOUT_PLACES, LAYOUT_LEAST = 4096, 16, 16
#: a reading is smooth where each of its three neighbours (next sample, next line, next band) differs by at most
#: LAYOUT_SMOOTH of the spread of unrelated values (:func:`_apart`), and credible where, if BIL or BIP, it shows its
#: period (LAYOUT_PERIOD). The declared interleave is refused only where another reading is smooth and credible, on
#: either of two tells (:func:`_refuse_wrong_interleave`): (1) the declared reading is LAYOUT_FACTOR times rougher
#: (and LAYOUT_ROUGH or more); (2) it is BIL or BIP without its period (LAYOUT_NO_PERIOD) and LAYOUT_DIFFER times as
#: far apart as the other where their strides differ. Chosen on the eight development scenes alone
#: (benchmarks/envi_interleave_study.py; the choice log and every file's figures in
#: benchmarks/results/envi_interleave_study.md): 594 rightly declared files (each scene in each interleave, PCA
#: rotations, a crop, noise, and variants 300-600 samples wide, in 16- to 24-line strips, of 20 or 30 bands):
#: none refused, the nearest at 1.37 of (1)'s 2.5 and at 0.94 of (2)'s 1.5 (HYDICE-II's first 20 bands in 21
#: lines, BIL, which meets (2)'s other conditions). Misdeclared raw scenes: 48 of 54 refused (40 by (1) alone, as
#: before (2)); the 6 read as before are BSQ or BIL files of abu-urban-1, abu-beach-1 and muufl-crop declared BIL
#: or BIP whose true reading is not smooth or whose misreading keeps a period. Misdeclared PCA cubes: read as before
LAYOUT_SMOOTH, LAYOUT_FACTOR, LAYOUT_ROUGH, LAYOUT_PERIOD = 0.5, 2.5, 0.5, 0.5
LAYOUT_NO_PERIOD, LAYOUT_DIFFER = 1.1, 1.5


def _neighbours(interleave: str, lines: int, samples: int, bands: int) -> tuple[int, int, int]:
    """How many values apart `interleave` puts a value's next sample, next line and next band."""
    return {"bsq": (1, samples, lines * samples), "bil": (1, samples * bands, samples),
            "bip": (bands, samples * bands, 1)}[interleave]


def _period(interleave: str, lines: int, samples: int, bands: int) -> tuple[int, int] | None:
    """The stride at which `interleave` repeats a band (BIP one pixel, ``bands``; BIL one line) and the stride to
    other bands of the same pixel or line, about half way (BIP ``bands // 2``; BIL ``bands // 2`` lines of samples:
    a review found ``period // 2`` for BIL landing half a line across the swath with an odd band count, so a BSQ
    stack of unrelated smooth layers, such as geochemical grids, looked like a BIL scene and was refused); BSQ: None."""
    return {"bsq": None, "bil": (samples * bands, bands // 2 * samples), "bip": (bands, bands // 2)}[interleave]


def _period_ratio(apart: dict[int, float], interleave: str, shape: tuple[int, int, int]) -> float | None:
    """How much values one period apart differ over values half a period apart under `interleave` (small where it
    shows its period; about 1 or more where it has none); None for BSQ (no period) or where half a period apart
    the values are identical."""
    period = _period(interleave, *shape)
    if period is None or not apart[period[1]]:
        return None
    return apart[period[0]] / apart[period[1]]


def _apart_where_they_differ(apart: dict[int, float], first: str, second: str,
                             shape: tuple[int, int, int]) -> float | None:
    """How far apart `first` reading's neighbours are at the strides that `second` reading's are not, over the same
    of `second`'s (the largest of each): above 1 where `first` is the rougher where the two differ (a BSQ file read
    as BIL: BIL's next line, B lines of one band on, against BSQ's next band); None where either has no stride the
    other lacks, or `second`'s differ by nothing."""
    mine, theirs = set(_neighbours(first, *shape)), set(_neighbours(second, *shape))
    if not mine - theirs or not theirs - mine:
        return None
    below = max(apart[s] for s in theirs - mine)
    return max(apart[s] for s in mine - theirs) / below if below else None


def _refuse_wrong_interleave(header: Path, data: Path, fields: dict[str, Any]) -> None:
    """DataFileError when the header's ``interleave`` reads the data file as a scrambled cube where another
    interleave reads it as a scene. Was: read unsaid (a BIL file declared BSQ fitted and scored every pixel as an
    anomaly, exit 0). Refused only where another reading is smooth and credible: a value's next sample, next line
    and next band each differ from it by at most :data:`LAYOUT_SMOOTH` of the spread of unrelated values
    (:func:`_apart`), and, if BIL or BIP, it shows its period: values one period apart (the same band one pixel or
    line on) differ at most :data:`LAYOUT_PERIOD` times as much as values half a period apart (other bands of the
    same pixel or line). The period keeps a cube whose bands are not smooth (a PCA or MNF rotation) from being
    refused: read as BIP, a spatially smooth BIL or BSQ cube of few components is smooth too (its "bands" are
    neighbouring samples, its "samples" a few pixels apart) but has no period, values farther apart differing more.
    Then refused on either of: (1) under the declared reading the farthest of the three neighbours differs
    :data:`LAYOUT_FACTOR` times more than under the other, and by :data:`LAYOUT_ROUGH` or more; (2) the declared
    reading is BIL or BIP and shows no period (values one period apart differ :data:`LAYOUT_NO_PERIOD` times as much
    as half a period apart, or more) and its neighbours differ :data:`LAYOUT_DIFFER` times as much as the other's,
    or more, at the strides where the two readings differ (:func:`_apart_where_they_differ`; none there: not
    judged). (2) catches what (1) cannot on a rough scene (an urban or airport one, its true reading's neighbours up
    to half the spread of unrelated values apart): a BSQ file read as BIL or BIP (its "bands" the same band some
    lines on) or a BIL file read as BIP (its "bands" neighbouring samples) is smooth too, and not 2.5 times rougher,
    but without its period, its "same band a line (or pixel) on" lying farther in the file than its "bands half
    way". Noise has no smooth reading. Files with fewer than :data:`LAYOUT_LEAST` lines, samples or bands: not
    judged."""
    lines, samples, bands = (int(fields[key]) for key in REQUIRED)
    if min(lines, samples, bands) < LAYOUT_LEAST:
        return
    stated = _dtype(fields).newbyteorder(ORDER_MARKS[_endian(fields)])
    fill = _fill_value(header, fields)
    shape = (lines, samples, bands)
    strides = {s for name in INTERLEAVES for s in _neighbours(name, *shape)}
    strides |= {s for name in INTERLEAVES if (p := _period(name, *shape)) for s in p}
    apart: dict[int, float | None] = {}
    with open(data, "rb") as file:
        for stride in strides:
            apart[stride] = _apart(file, stated, int(fields.get("header offset", 0)), _count(fields), stride, fill)
    if any(value is None for value in apart.values()):
        return
    rough = {name: max(apart[s] for s in _neighbours(name, *shape)) for name in INTERLEAVES}
    declared = str(fields.get("interleave", "bsq")).strip().lower()

    def credible(name: str) -> bool:
        period = _period(name, *shape)
        return period is None or apart[period[0]] <= LAYOUT_PERIOD * apart[period[1]]

    others = [name for name in INTERLEAVES if name != declared and rough[name] <= LAYOUT_SMOOTH and credible(name)]
    if not others:
        return
    other = min(others, key=rough.__getitem__)
    if rough[declared] >= max(LAYOUT_ROUGH, LAYOUT_FACTOR * rough[other]):
        raise _misdeclared(header, data, declared, other,
                           f"neighbouring samples, lines or bands differ by {rough[declared]:.2f} of the spread of "
                           f"unrelated values), where {other} reads it as a scene ({rough[other]:.2f}")
    own = _period_ratio(apart, declared, shape)
    if own is None or own < LAYOUT_NO_PERIOD:
        return
    differ = {name: ratio for name in others
              if (ratio := _apart_where_they_differ(apart, declared, name, shape)) is not None}
    rougher = [name for name in others if differ.get(name, 0.0) >= LAYOUT_DIFFER]
    if rougher:
        other = min(rougher, key=rough.__getitem__)
        unit = "pixel" if declared == "bip" else "line"
        raise _misdeclared(header, data, declared, other,
                           f"it has no {declared.upper()} period: the same band a {unit} on differs {own:.2f} times as "
                           f"much as bands half the band count apart), where {other} reads it as a scene "
                           f"(neighbours within {rough[other]:.2f} of the spread of unrelated values, "
                           f"{differ[other]:.2f} times nearer than {declared}'s where the two readings differ")


def _misdeclared(header: Path, data: Path, declared: str, other: str, evidence: str) -> DataFileError:
    """The refusal of a header whose ``interleave`` (`declared`) reads `data` as a scrambled cube where `other` reads
    it as a scene, `evidence` saying how (:func:`_refuse_wrong_interleave`)."""
    return DataFileError(f"{header}: interleave = {declared} reads {data.name} as a scrambled cube ({evidence}): the "
                         f"header's interleave is likely wrong; write 'interleave = {other}' in the header if the file "
                         f"was written {other.upper()}, or, if the header is right, read it as declared with --data "
                         "check_interleave=false (Python: check_interleave=False)")


def _apart(file, stated: np.dtype, offset: int, count: int, stride: int, fill: Any) -> float | None:
    """How far apart values `stride` values apart are in the data `file` (`count` values of type `stated` after
    `offset` bytes): the median, over :data:`LAYOUT_PLACES` windows spread over the file, of the mean absolute
    difference of each value and the one `stride` on, over the mean absolute difference of the window's values
    paired at random (about 1 for noise, near 0 for neighbours in a scene). NaN, infinite and `fill` values are left
    out; None with fewer than 4 windows of 64 such values that are not constant."""
    size = min(LAYOUT_WINDOW, count - stride)
    if size < 64:
        return None
    fractions = np.sort((0.5 + np.arange(LAYOUT_PLACES) * (math.sqrt(5) - 1) / 2) % 1.0)
    marks = np.atleast_1d(np.asarray(fill, dtype=np.float64)) if fill is not None else None
    shuffle = np.random.default_rng(0).permutation(size)
    ratios = []
    for start in np.unique((fractions * (count - stride - size)).astype(np.int64)):
        pair = []
        for at in (int(start), int(start) + stride):
            file.seek(offset + at * stated.itemsize)
            pair.append(np.frombuffer(file.read(size * stated.itemsize), dtype=stated).astype(np.float64))
        first, second = pair
        with np.errstate(invalid="ignore"):
            keep = np.isfinite(first) & np.isfinite(second)
            if marks is not None:
                keep &= ~np.isin(first, marks) & ~np.isin(second, marks)
        spread = np.abs(first - first[shuffle])[keep & keep[shuffle]]
        if keep.sum() < 64 or spread.size < 64 or spread.mean() == 0:
            continue
        ratios.append(float(np.abs(second - first)[keep].mean() / spread.mean()))
    return float(np.median(ratios)) if len(ratios) >= 4 else None


def _roughness(values: np.ndarray, fill: Any) -> float | None:
    """The median, over :func:`_sample`'s windows of `values` (:data:`ORDER_SAMPLE` each), of the mean absolute
    change from one value to the next over the window's standard deviation; windows holding the ``data ignore
    value`` `fill` (in either reading: it is compared as given) or constant are left out. None with fewer than 4
    such windows (a small file is one window: judged if it is not constant)."""
    ratios = []
    marks = np.atleast_1d(np.asarray(fill, dtype=np.float64)) if fill is not None else None
    for start in range(0, values.size, ORDER_SAMPLE):
        window = values[start:start + ORDER_SAMPLE].astype(np.float64)
        spread = window.std()
        if window.size < 8 or spread == 0 or (marks is not None and np.isin(window, marks).any()):
            continue
        ratios.append(float(np.abs(np.diff(window)).mean() / spread))
    if len(ratios) < (1 if values.size <= ORDER_SAMPLE else 4):
        return None
    return float(np.median(ratios))


def _informative(raw: bytes, stated: np.dtype, fill: Any) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of `raw` that can tell its byte order, read in the `stated` order and in the other one
    (float64, paired). Left out: the header's ``data ignore value`` (`fill`, None when absent) in either reading,
    NaN in either, zeros, and any value whose other-order reading is NaN or infinite (float32's lowest,
    -3.4028235e38, a common fill, reads NaN swapped: it tells nothing). Distinct: a fill the header does not
    declare counts once, however much of the sample it covers."""
    codes = np.unique(np.frombuffer(raw, dtype=f"u{stated.itemsize}"))  # distinct bit patterns
    native = stated.newbyteorder("=")
    values = np.frombuffer(codes.tobytes(), dtype=stated).astype(native)
    swapped = np.frombuffer(codes.tobytes(), dtype=stated.newbyteorder()).astype(native)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN compared; a float64 fill beyond float32's range
        keep = ~np.isnan(values) & np.isfinite(swapped) & (values != 0) & (swapped != 0)
        if fill is not None:
            marks = np.atleast_1d(np.asarray(fill, dtype=np.float64)).astype(native)
            keep &= ~np.isin(values, marks) & ~np.isin(swapped, marks)
    return values[keep].astype(np.float64), swapped[keep].astype(np.float64)


def _sample(data: Path, itemsize: int, offset: int, count: int) -> bytes:
    """The bytes of up to :data:`ORDER_SAMPLE` values (of `itemsize` bytes) at each of :data:`ORDER_PLACES` places
    spread over the `count` values of `data` after `offset` bytes (the file is as long as that: :func:`open_envi`
    checked), for reading in either byte order."""
    if count <= ORDER_SAMPLE * ORDER_PLACES:  # a small file: all of it, once
        starts, each = [0], count
    else:
        fractions = np.sort((0.5 + np.arange(ORDER_PLACES) * (math.sqrt(5) - 1) / 2) % 1.0)
        starts, each = np.unique((fractions * (count - ORDER_SAMPLE)).astype(np.int64)), ORDER_SAMPLE
    parts = []
    with open(data, "rb") as file:
        for start in starts:
            file.seek(offset + int(start) * itemsize)
            parts.append(file.read(each * itemsize))
    return b"".join(parts)


def _absurd_share(values: np.ndarray) -> float:
    """The share of `values` infinite, beyond :data:`ABSURD_ABOVE` or nonzero below :data:`ABSURD_BELOW` in size."""
    with np.errstate(invalid="ignore"):  # NaN compared
        size = np.abs(values.astype(np.float64))
        absurd = (size > ABSURD_ABOVE) | ((size < ABSURD_BELOW) & (size > 0))  # inf is above; NaN is neither
    return float(absurd.mean()) if values.size else 0.0


def scene_meta(header: Path, data: Path, fields: dict[str, Any]) -> dict[str, Any]:
    """What travels with the cube: paths, layout, wavelengths, band names, default and bad bands, the reflectance
    scale factor and georeferencing."""
    bad, unread = _bad_bands(fields)
    odd_wavelength = _not_finite(fields.get("wavelength"))
    meta: dict[str, Any] = {
        "path": str(header), "data_file": str(data), "citation": "", "url": None,
        "interleave": str(fields.get("interleave", "bsq")).lower(),
        "data_type": _dtype(fields).name,
        "byte_order": _endian(fields),
        "wavelengths": None if odd_wavelength is not None else _floats(fields.get("wavelength")),
        "wavelength_units": fields.get("wavelength units"),
        "fwhm": _per_band(_floats(fields.get("fwhm")), fields),
        "band_names": _per_band(_names(fields.get("band names")), fields),
        "default_bands": _default_bands(fields),
        "data_ignore_value": _fill_value(header, fields),
        "bad_bands": bad,
        "reflectance_scale_factor": fields.get("reflectance scale factor"),  # read_header's number
    }
    if unread:  # said by had fit and had score; --data bands=good refuses the file with it (had.cubeview)
        meta["bad_bands_unread"] = unread
        meta["reader_notes"] = [f"note: {header.name}'s {unread}, so had marks no band bad; correct the header"]
    listed = meta["wavelengths"]
    if odd_wavelength is not None:  # was spectral's "Unable to parse" log line alone; a NaN or inf, no word at all
        meta["reader_notes"] = [*(meta.get("reader_notes") or ()),
                                f"note: {header.name}'s wavelength holds {odd_wavelength!r}, not a number, so had "
                                "records no wavelengths (a model's bands are then not checked against this file's); "
                                "correct the header"]
    if isinstance(listed, list) and len(listed) != int(fields["bands"]):  # was dropped later without a word, and
        meta["wavelengths"] = None  # with it the check of a scene's bands against a model's wavelengths
        meta["reader_notes"] = [*(meta.get("reader_notes") or ()),
                                f"note: {header.name}'s wavelength lists {len(listed)} values for {fields['bands']} "
                                "bands, so had records no wavelengths (a model's bands are then not checked against "
                                "this file's); correct the header"]
    transform, crs = georeference(fields)
    meta.update(transform=transform, crs=crs, map_info=fields.get("map info"))
    info = fields.get("map info") if transform is not None else None
    if crs is None and info and _unnamed_unit(info):  # was: ignored, the map written in metres or degrees
        written = map_units(info)[0]
        meta["reader_notes"] = [*(meta.get("reader_notes") or ()),
                                f"note: {header.name}'s map info gives units={written}, a unit had cannot name for "
                                f"{info[0].strip()}, so had writes no CRS; write the units as Meters, Feet, US Survey "
                                "Feet, Kilometers, Yards or Miles (UTM) or Degrees (Geographic Lat/Lon), or give the "
                                "header a coordinate system string"]
    return meta


def _default_bands(fields: dict[str, Any]) -> list[int] | None:
    """``default bands`` as 0-based indices, or None when absent or not whole band numbers of this file (the
    field only picks a quicklook's colours: a wrong one is ignored, not a reason to refuse the scene)."""
    value = fields.get("default bands")
    if value is None:
        return None
    try:
        bands = [int(str(b).strip()) - 1 for b in (value if isinstance(value, list) else [value])]
    except ValueError:
        return None
    return bands if all(0 <= b < int(fields["bands"]) for b in bands) else None


def _bad_bands(fields: dict[str, Any]) -> tuple[list[int] | None, str | None]:
    """The 0-based bands ``bbl`` (the bad band list: 1 good, 0 bad) marks bad (None when it marks none), and why
    it was not read (``"bbl lists 188 flags for 189 bands"``) when it is not one whole number per band: no band is
    then marked bad, and that reason is said (was: dropped without a word, and ``--data bands=good`` said the file
    "marks no band bad ... has none, or one of ones")."""
    value = fields.get("bbl")
    if value is None:
        return None, None
    values = value if isinstance(value, list) else [value]
    try:
        flags = [int(float(str(v).strip())) for v in values]
    except ValueError:
        odd = next(str(v).strip() for v in values if _floats(v) is None)
        return None, f"bbl holds {odd!r}, not flags 1 (good) or 0 (bad)"
    if len(flags) != int(fields["bands"]):
        return None, f"bbl lists {len(flags)} flags for {fields['bands']} bands"
    bad = [band for band, flag in enumerate(flags) if flag == 0]
    return bad or None, None


def _names(value: Any) -> list[str] | None:
    """``band names`` as stripped strings (spectral splits the braced list at its commas), None when absent."""
    if value is None:
        return None
    return [str(v).strip() for v in (value if isinstance(value, list) else [value])]


def _per_band(values: Any, fields: dict[str, Any]) -> list | None:
    """`values` (a list) when it holds one entry per band of the header, else None (a field that does not
    describe each band is dropped, as the fields that only decorate the scene are)."""
    return values if isinstance(values, list) and len(values) == int(fields["bands"]) else None


def _scale_factor(header: Path, fields: dict[str, Any]) -> float | None:
    """``reflectance scale factor`` (stored value / factor = reflectance: 10000 for int16 reflectance), None when
    the header has none (values as stored). One that is not a positive number is refused, as a bad data ignore
    value is: it says what the values mean, which had score compares with the model's (:mod:`had.reflectance`;
    was: ignored, so a model of int16 DN x 10000 scored a float reflectance file, a flat map, unsaid)."""
    value = fields.get("reflectance scale factor")
    if value is None:
        return None
    number = None if isinstance(value, list) else _floats(value)  # a braced list: spectral's open fails on it
    if number is None or not math.isfinite(number) or number <= 0:
        text = "{" + ", ".join(map(str, value)) + "}" if isinstance(value, list) else str(value).strip()
        raise DataFileError(f"{header}: reflectance scale factor = {text!r} is not a positive number; correct the "
                            "header (for example 'reflectance scale factor = 10000') or remove the line")
    return number


def _fill_value(header: Path, fields: dict[str, Any]) -> Any:
    """``data ignore value`` as a number (or numbers), None when absent; one that is not a number is refused: it
    decides which pixels are fitted, so dropping it would fit the fill as data."""
    value = fields.get("data ignore value")
    numbers = _floats(value)
    if value is not None and numbers is None:
        raise DataFileError(f"{header}: data ignore value = {value!r} is not a number; correct the header (for "
                            "example 'data ignore value = -9999') or remove the line")
    if numbers is not None and np.isinf(numbers).any():  # 1e400 reads as inf, which no pixel holds and the
        # detectors' nodata setting refuses (was: "invalid config for detector rx: nodata.float: Input should be a
        # finite number", naming a setting the user never gave); NaN stays: a float file's no-data marker
        raise DataFileError(f"{header}: data ignore value = {value!r} is not a finite number; correct the header "
                            "(for example 'data ignore value = -9999') or remove the line")
    return numbers


def _not_finite(value: Any) -> str | None:
    """The first entry of a header field (one value or a braced list) that is not a finite number (``b``, ``nan``,
    ``inf``), as written; None when every entry is one, or the field is absent."""
    values = [] if value is None else value if isinstance(value, list) else [value]
    for entry in values:
        number = _floats(entry)
        if number is None or not math.isfinite(number):
            return str(entry).strip()
    return None


def _floats(value) -> Any:
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    try:
        floats = [float(v) for v in values]
    except ValueError:
        return None
    return floats if isinstance(value, list) else floats[0]


def georeference(fields: dict[str, Any]) -> tuple[list[float] | None, str | None]:
    """The affine transform ``[a, b, c, d, e, f]`` and CRS (WKT, ``EPSG:n`` or a PROJ definition,
    :func:`_crs_from_map_info`) of a header, each None if absent."""
    info = fields.get("map info")
    wkt = fields.get("coordinate system string")
    # spectral splits a braced value at its commas (and strips each part): joined back with commas, the WKT
    # is the header's, less any blanks beside its commas (insignificant in WKT)
    wkt = (",".join(wkt) if isinstance(wkt, list) else str(wkt)).strip() if wkt else None
    if not info or len(info) < 7:
        return None, wkt or None
    info = [str(v).strip() for v in info]
    try:
        ref_x, ref_y, easting, northing, size_x, size_y = (float(v) for v in info[1:7])
    except ValueError:
        return None, wkt or None
    extras = {k.strip().lower(): v.strip() for k, _, v in (item.partition("=") for item in info[7:]) if _}
    try:
        rotation = math.radians(float(extras.get("rotation", 0.0)))
    except ValueError:
        return None, wkt or None
    # a pixel size of 0 places every pixel on one point (bounds collapsed to a line or a point), an infinite
    # rotation fails math.cos (ValueError): the map info cannot be read, as a word there cannot (was: the GeoTIFF
    # said "georeferenced"). A negative size stays: GDAL reads it as a map flipped on that axis, as here
    if size_x == 0 or size_y == 0 or not math.isfinite(rotation):
        return None, wkt or None
    a, b = math.cos(rotation) * size_x, math.sin(rotation) * size_x
    d, e = math.sin(rotation) * size_y, -math.cos(rotation) * size_y
    # GDAL's ENVI driver places the origin from the unrotated pixel size, then rotates: a GIS shows the same
    c = easting - (ref_x - 1.0) * size_x
    f = northing + (ref_y - 1.0) * size_y
    transform = [a, b, c, d, e, f]
    width, height = (_floats(fields.get(key)) for key in ("samples", "lines"))
    far = [c + a * width + b * height, f + d * width + e * height] if isinstance(width, float) and \
        isinstance(height, float) else []  # the far corner: 1e300 m pixels put it at infinity
    if not all(math.isfinite(v) for v in transform + far):  # a NaN or infinite number (1e400 reads as inf):
        return None, wkt or None  # NaN or infinite bounds, unreadable too (was: "georeferenced")
    return transform, wkt or _crs_from_map_info(info)


#: ENVI's ``units=`` of a projected ``map info`` (lower case, blanks for ``_`` and ``-``) as PROJ's unit names;
#: metres keep the EPSG codes; any other unit gives no CRS (:func:`map_units`)
LINEAR_UNITS = {**dict.fromkeys(("meters", "meter", "metres", "metre", "m"), "m"),
                **dict.fromkeys(("feet", "foot", "ft", "international feet", "international foot"), "ft"),
                **dict.fromkeys(("us feet", "us foot", "us survey feet", "us survey foot", "us ft", "survey feet"),
                                "us-ft"),
                **dict.fromkeys(("kilometers", "kilometer", "kilometres", "kilometre", "km"), "km"),
                **dict.fromkeys(("yards", "yard", "yd"), "yd"), **dict.fromkeys(("miles", "mile", "mi"), "mi"),
                **dict.fromkeys(("nautical miles", "nautical mile"), "kmi"),
                **dict.fromkeys(("centimeters", "centimetres", "cm"), "cm"),
                **dict.fromkeys(("millimeters", "millimetres", "mm"), "mm")}


def map_units(info: list[str]) -> tuple[str | None, str | None]:
    """The ``units=`` a ``map info`` gives, as written (None when absent), and its PROJ name (``"m"`` when absent,
    None when had cannot name it: no CRS is then built from the map info)."""
    extras = {k.strip().lower(): v.strip() for k, _, v in (str(item).partition("=") for item in info[7:]) if _}
    written = extras.get("units")
    if written is None:
        return None, "m"
    return written, LINEAR_UNITS.get(" ".join(written.lower().replace("_", " ").replace("-", " ").split()))


#: the ``units=`` of a Geographic Lat/Lon ``map info`` that had reads (EPSG:4326 is in degrees)
DEGREES = ("degrees", "degree", "deg")


def _unnamed_unit(info: list[str]) -> bool:
    """Whether a UTM or Geographic Lat/Lon ``map info`` gives a ``units=`` had cannot build its CRS in."""
    projection, (written, unit) = str(info[0]).strip().lower(), map_units(info)
    if projection == "utm":
        return unit is None
    return projection.startswith("geographic") and written is not None and written.strip().lower() not in DEGREES


def _crs_from_map_info(info: list[str]) -> str | None:
    """The CRS a ``map info`` names: UTM on WGS-84 or NAD-83 in metres as its EPSG code, in another linear unit of
    :data:`LINEAR_UNITS` (``units=Feet``) as a PROJ definition in that unit (as GDAL's ENVI driver reads Feet),
    geographic WGS-84 in degrees as EPSG:4326; None otherwise. Was: the ``units=`` ignored, so a UTM header in feet
    got EPSG:32611 in metres and its GeoTIFF landed hundreds of km off; a unit had cannot name now gives no CRS."""
    projection = info[0].lower()
    plain = [item for item in info[7:] if "=" not in item]
    datum = (plain[-1] if plain else "").upper().replace(" ", "")
    unit = map_units(info)[1]
    if projection == "utm" and len(plain) >= 3 and unit is not None:
        try:
            zone, hemisphere = int(float(plain[0])), plain[1].lower()
        except ValueError:
            return None
        north = hemisphere.startswith("n")
        if datum in ("WGS-84", "WGS84"):
            code, proj_datum = (32600 if north else 32700) + zone, "WGS84"
        elif datum in ("NORTHAMERICA1983", "NAD-83", "NAD83") and north:
            code, proj_datum = 26900 + zone, "NAD83"
        else:
            return None
        if unit == "m":
            return f"EPSG:{code}"
        if not 1 <= zone <= 60:  # no such UTM zone (PROJ refuses it): no CRS
            return None
        return f"+proj=utm +zone={zone}{'' if north else ' +south'} +datum={proj_datum} +units={unit} +no_defs"
    if projection.startswith("geographic") and datum in ("WGS-84", "WGS84") and not _unnamed_unit(info):
        return "EPSG:4326"
    return None


def write_header(header: str | Path, shape: tuple[int, int, int], dtype, interleave: str = "bil",
                 byte_order: str = "little", **fields: Any) -> Path:
    """Write an ENVI header for a cube of `shape` ``(lines, samples, bands)``; `fields` are extra header
    entries (``map_info=[...]``, ``wavelength=[...]``; underscores become spaces, lists become ``{a, b}``)."""
    codes = {np.dtype(name): code for code, name in DTYPES.items()}
    code = codes.get(np.dtype(dtype).newbyteorder("="))
    if code is None or interleave not in INTERLEAVES:
        raise DataFileError(f"cannot write an ENVI header for dtype {dtype} and interleave {interleave!r}")
    lines, samples, bands = shape
    entries = {"samples": samples, "lines": lines, "bands": bands, "header offset": 0, "file type": "ENVI Standard",
               "data type": code, "interleave": interleave, "byte order": int(byte_order == "big")}
    entries.update({key.replace("_", " "): value for key, value in fields.items()})
    text = "ENVI\n" + "".join(
        f"{key} = {{{', '.join(str(v) for v in value)}}}\n" if isinstance(value, (list, tuple)) else f"{key} = {value}\n"
        for key, value in entries.items())
    Path(header).write_text(text)
    return Path(header)


def save_envi(header: str | Path, cube: np.ndarray, interleave: str = "bil", byte_order: str = "little",
              data_suffix: str = ".img", **fields: Any) -> Path:
    """Write `cube` ``(H, W, B)`` as an ENVI file pair (header and data file); returns the data file's path."""
    cube = np.asarray(cube)
    write_header(header, cube.shape, cube.dtype, interleave, byte_order, **fields)
    layout = {"bip": (0, 1, 2), "bil": (0, 2, 1), "bsq": (2, 0, 1)}[interleave]
    dtype = cube.dtype.newbyteorder(ORDER_MARKS.get(byte_order, "<"))
    data = Path(header).with_suffix(data_suffix)
    data.write_bytes(np.ascontiguousarray(cube.transpose(layout), dtype=dtype).tobytes())
    return data
