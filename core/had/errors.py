"""Typed errors. Every error `had` raises on bad input derives from :class:`HadError`.

Each message says what was wrong and how to fix it; the CLI prints it as one line.
"""

from __future__ import annotations

import errno
import os
import re

#: the `had list` argument that lists each registry kind
LIST_COMMAND = {"detector": "detectors", "datasource": "datasets", "metric": "metrics"}


def plugin_selection_note(*names: str | None) -> str:
    """A sentence naming HAD_DISABLE_PLUGINS / HAD_PLUGINS when they hide plugins, '' otherwise.

    `names`: plugins or distributions the caller looked for; a blocked one is named as disabled.
    """
    blocked = [n.strip() for n in os.environ.get("HAD_DISABLE_PLUGINS", "").split(",") if n.strip()]
    hit = [n for n in names if n and n in blocked]
    if hit:
        return f" ({shown(hit[0])} is disabled by HAD_DISABLE_PLUGINS={shown(','.join(blocked))}; remove it from that variable)"
    if blocked:
        return f" (HAD_DISABLE_PLUGINS={shown(','.join(blocked))} disables some plugins)"
    if "HAD_PLUGINS" in os.environ:
        return f" (HAD_PLUGINS={shown(os.environ['HAD_PLUGINS'])} loads only those plugins)"
    return ""


_OS_HINTS = {
    errno.EACCES: "check the permissions of the file or folder, or choose another path",
    errno.EPERM: "check the permissions of the file or folder, or choose another path",
    errno.EROFS: "the file system is read-only: choose a writable path",
    errno.ENOSPC: "the disk is full: free space or choose another path",
    errno.EFBIG: "the file is larger than the file system or a limit allows: free space or choose another path",
    errno.EDQUOT: "the disk quota is exceeded: free space or choose another path",
    errno.ENOENT: "check the path",
    errno.ENAMETOOLONG: "use a shorter path",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
    errno.EEXIST: "a file of that name is where a folder is needed: choose another path",
    errno.EISDIR: "that is a folder: name a file",
    # was: "check the path and the disk" for a map or an allocation refused under ``ulimit -v``
    errno.ENOMEM: "memory or address space is exhausted: raise the process's limit (ulimit -v, prlimit --as) or "
                  "free memory",
}


def shown(text: object) -> str:
    """`text` as a message shows it: as is, or quoted (``repr``) where it holds a newline, a terminal escape or
    another control character, so a name or string read from a file keeps a message on one harmless line."""
    text = str(text)
    return text if text.isprintable() else repr(text)


def cut(text: str, limit: int) -> str:
    """`text` as a message shows a value: at most `limit` characters, the last three ``...`` where it is cut (a
    header may be 64 KiB, a setting a nested list of thousands)."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def ascii_digits(text: str) -> bool:
    """Whether `text` is ASCII digits, what ``int()`` reads as a count (``str.isdigit`` is True for ``²`` and
    ``٣`` too, which ``int`` refuses or reads as another number)."""
    return text.isascii() and text.isdigit()


def one_line(message: str) -> str:
    """`message` with every control character (a newline, a terminal escape) written as its escape: what the
    command line prints as its one ``error:`` line, whatever a file or a library put into the message."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message))


def interrupted(exc: BaseException | None) -> bool:
    """Whether a Ctrl-C is behind `exc`: a KeyboardInterrupt in its chain of causes (an extension module's import
    interrupted surfaces as an ImportError, which said "not installed")."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


#: ``--data KEY=VALUE`` in a data source's advice (``had fit``'s form); VALUE up to a blank, semicolon, closing
#: bracket or quote, or a comma before a blank (``bands=1-2,4`` is one value; ``y_key=class, or`` ends at the comma)
_DATA_SETTING = re.compile(r"--data ([A-Za-z_][A-Za-z0-9_]*)=((?:[^\s,;)'`\"]|,(?=[^\s,;)'`\"]))*)")


def _python_value(text: str) -> str:
    """A ``--data`` value as Python writes it: null/none/empty None, true/false True/False, numbers and
    placeholders in capitals (FILE, N) as they are, any other word quoted."""
    lowered = text.lower()
    if lowered in ("null", "none", ""):
        return "None"
    if lowered in ("true", "false"):
        return lowered.capitalize()
    if text.isupper() or re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        return text
    return repr(text)


def in_python_form(text: str) -> str:
    """`text` with each ``--data KEY=VALUE`` a data source advises (the CLI's form) written as
    :func:`had.load_dataset` takes it, ``KEY=VALUE`` in Python (``--data y_key=null``: ``y_key=None``); the CLI's
    ``had bench`` writes it its own way (:func:`had.executors.bench_hint`)."""
    return _DATA_SETTING.sub(lambda m: f"{m.group(1)}={_python_value(m.group(2))}", text)


def os_error_message(exc: OSError) -> str:
    """One line for an I/O error: what failed, on which path, and what to do. An OSError without an errno says
    its own text (:func:`_unnumbered_message`)."""
    if exc.errno is None and not exc.strerror:
        return _unnumbered_message(exc)
    where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
    what = exc.strerror or type(exc).__name__
    hint = _OS_HINTS.get(exc.errno or -1, "check the path and the disk")
    return f"{what}{': ' + where if where else ''}; {hint}"


#: what an OSError's text (or its cause's) says when memory or address space ran out: a map or an allocation
#: refused (the dynamic loader's "failed to map segment from shared object" under ``ulimit -v``)
_NO_MEMORY = ("failed to map segment", "cannot allocate memory", "out of memory", "not enough memory")
#: what it says when a shared library (an extension module's ``.so``, ``ctypes.CDLL``) failed to load
_NO_LIBRARY = ("shared object", "shared library", "dll load failed", "cannot load library")


def _unnumbered_message(exc: OSError) -> str:
    """One line for an OSError without an errno (a library's ``raise OSError(text)``): its text, with the text of
    the OSError it was raised from where that says more, and a hint that fits: a shared library that could not be
    mapped for want of memory or address space, one that failed to load, memory that could not be allocated.
    Was: "OSError; check the path and the disk", its text dropped (probe of 7 December 2026: ``had fit pyod-pca``
    under ``prlimit --as=1000000000``, llvmlite's "Could not find/load shared object file 'libllvmlite.so'" raised
    from the loader's "failed to map segment from shared object")."""
    said = [flat_text(exc)]
    seen, cause = {id(exc)}, exc.__cause__ or exc.__context__
    while isinstance(cause, OSError) and id(cause) not in seen:  # the loader's own words, under the library's
        seen.add(id(cause))
        if flat_text(cause) and flat_text(cause) not in said:
            said.append(flat_text(cause))
        cause = cause.__cause__ or cause.__context__
    text = " ".join(said).lower()
    library, memory = any(m in text for m in _NO_LIBRARY), any(m in text for m in _NO_MEMORY)
    from .mat_reader import address_space_limit

    limit = address_space_limit()
    raise_it = (f"this process's address space is limited to {limit / 2**20:,.0f} MiB (ulimit -v, prlimit --as): "
                "raise that limit"
                if limit is not None else "free memory")
    if library and memory:
        hint = (f"a shared library could not be mapped into memory: {raise_it}, or, on a file system mounted "
                "noexec, install the package elsewhere")
    elif memory:
        hint = f"memory or address space could not be allocated: {raise_it}"
    elif library:
        hint = ("a shared library failed to load: reinstall the package that provides it"
                + (f"; {raise_it}" if limit is not None else ""))
    else:
        hint = "check the path and the disk"
    first = f"{type(exc).__name__}: {cut(shown(said[0]), 160)}" if said[0] else type(exc).__name__
    more = f" ({cut(shown(said[1]), 160)})" if len(said) > 1 else ""
    return f"{first}{more}; {hint}"


def flat_text(exc: BaseException) -> str:
    """`exc`'s text on one line, its runs of blanks and newlines made one blank."""
    return " ".join(str(exc).split())


class HadError(Exception):
    """Base class of every error raised by `had` on bad input or state."""


class UnknownNameError(HadError, KeyError):
    """A detector, dataset or metric name that no loaded plugin registers."""

    def __init__(self, kind: str, name: str, known: list[str], broken: list[str] | None = None):
        from .catalog import unknown_name_message

        self.kind, self.name, self.known = kind, name, sorted(known)
        said = unknown_name_message(kind, name, self.known, broken)
        # the name's own plugin left out by a variable, said (catalog.left_out_by_selection): not said again
        selection_said = any(mark in said for mark in ("HAD_DISABLE_PLUGINS=", "HAD_PLUGINS=", "HAD_PLUGINS is set"))
        super().__init__(said + ("" if selection_said else plugin_selection_note()))

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return self.args[0]


class InvalidInputError(HadError, ValueError):
    """Data of the wrong rank, shape, dtype, or with NaN/Inf values, or empty."""


class BandMismatchError(InvalidInputError):
    """Data scored with a different feature/band count than the detector was fitted on."""


class LabelError(InvalidInputError):
    """Labels of the wrong length or with values outside the documented convention."""


class NotFittedError(HadError, AttributeError):
    """A detector used before `fit`."""


class ConfigError(HadError, ValueError):
    """A configuration that fails validation."""


class DataFileError(HadError):
    """A data file that is missing, corrupt, has a bad checksum, or lacks an expected key."""


class ChecksumError(DataFileError):
    """A data file whose sha256 differs from the one the data plugin knows."""


class ArtifactError(HadError):
    """A saved detector that cannot be loaded: tampered, truncated, unknown format, missing plugin."""


class ExportNotSupported(HadError):
    """A detector that cannot be exported to ONNX; the message names the reason."""


class PluginError(HadError):
    """A plugin that failed to load or registered something invalid."""


#: how a PluginError for a plugin's own failure ends (one wording: users search for it, tests match it)
PLUGIN_FAULT = "that is the plugin's fault: report it to its authors"


class ExportParityError(HadError):
    """An ONNX export that fails verification (checker, contract, or parity with the eager scores).

    `report` holds the measured numbers (relative error, AUROC, label agreement) next to the limits.
    """

    def __init__(self, message: str, report: dict | None = None):
        super().__init__(message)
        self.report = dict(report or {})


class KnownLabelsWarning(UserWarning):
    """Known labels that look like scikit-learn's +1 inlier / -1 outlier, the reverse of had's
    (:func:`had.validation.reversed_known`)."""


class UnusedSettingWarning(UserWarning):
    """A setting given that the detector does not use as set: ``contamination`` while a ``threshold`` rule sets
    the threshold (:meth:`had.Detector.set_params`)."""


class ConstantScoresWarning(UserWarning):
    """A fit whose training scores are all the same: the model separates nothing (:func:`had.detector.constant_scores`)."""
