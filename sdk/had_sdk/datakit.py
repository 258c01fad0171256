"""The conformance checks of a data plugin, as plain functions that raise AssertionError (or the error they
expected not to see), and :func:`plan` yielding them for one plugin (run by
:class:`had_sdk.testing.DataPluginSuite`).

They need no data files: listing the plugin imports none of its loaders, a preset given an unknown value or an
unknown field is a ``ConfigError``, each known file is well formed, a file with the wrong bytes is refused with a
``ChecksumError`` and a missing one says where to put it and where to get it. Where ``HAD_DATA_DIR`` holds a
``SHA256SUMS`` file, the declared sums must agree with it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import had
from had import datadir, plugins
from had.datadir import KnownFile
from had.errors import ChecksumError, ConfigError, DataFileError

from .kit import NotChecked
from .kit_plan import Check


def registered_sources(plugin: str) -> dict[str, plugins.Entry]:
    """The data sources `plugin` registers, by name."""
    found = {name: e for name, e in plugins.registry()["datasource"].items() if e.plugin == plugin}
    assert found, f"plugin {plugin!r} registers no data source (load errors: {plugins.load_errors().get(plugin)})"
    return found


def check_listing_imports_no_loader(plugin: str, names: list[str], modules: list[str]) -> None:
    """In a fresh interpreter with only `plugin` enabled, listing data sources shows `names` and imports none
    of `modules` (the modules its "module:Class" registrations name, and any others given)."""
    code = ("import sys, had.plugins\n"
            f"names = set(had.plugins.names('datasource'))\n"
            f"missing = {sorted(names)!r}\n"
            "assert not [n for n in missing if n not in names], ('not listed', names)\n"
            f"loaded = [m for m in {sorted(modules)!r} if m in sys.modules]\n"
            "assert not loaded, ('listing imported', loaded)\n")
    env = {**os.environ, "HAD_PLUGINS": plugin}
    env.pop("HAD_DISABLE_PLUGINS", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"listing plugin {plugin!r}: {done.stderr.strip().splitlines()[-1:]}"


def check_unknown_preset(name: str, defaults: dict[str, Any]) -> None:
    """Each preset field set to an unknown value is a ConfigError naming the registered value among the known
    ones; an unknown field is a ConfigError too."""
    from had import plugins

    source = plugins.entry("datasource", name).load()
    for key, value in defaults.items():
        try:  # the source's own config, not had.get_datasource: that refuses another value of a preset naming the
            source({**defaults, key: "__no_such_preset__"})  # data (DataSource.named_by) before the config sees it
        except ConfigError as exc:
            assert str(value) in str(exc), f"{name}: the error for an unknown {key} does not name {value!r}: {exc}"
        else:
            raise AssertionError(f"{name}: {key}='__no_such_preset__' was accepted; expected ConfigError")
    try:
        had.get_datasource(name, {"__no_such_field__": 1})
    except ConfigError:
        return
    raise AssertionError(f"{name}: the unknown field __no_such_field__ was accepted; expected ConfigError")


def check_known_file(known: KnownFile) -> None:
    """A relative path, a 64-hex sha256, an https URL without spaces, and a citation."""
    assert not Path(known.relpath).is_absolute() and ".." not in Path(known.relpath).parts, known.relpath
    assert re.fullmatch(r"[0-9a-f]{64}", known.sha256), f"{known.relpath}: sha256 {known.sha256!r}"
    assert known.url.startswith("https://") and " " not in known.url, f"{known.relpath}: url {known.url!r}"
    assert known.citation.strip(), f"{known.relpath}: no citation"


def check_sums_agree(files: list[KnownFile], data_dir: Path) -> None:
    """The declared sha256 of each file agrees with `data_dir`/SHA256SUMS (``sha256  ./relpath`` lines)."""
    sums = data_dir / "SHA256SUMS"
    if not sums.is_file():
        raise NotChecked(f"no SHA256SUMS in the data dir {data_dir}: declared sums not compared")
    listed = {p.removeprefix("./"): d for d, p in (line.split(maxsplit=1) for line in sums.read_text().splitlines()
                                                  if line.strip())}
    for known in files:
        assert known.relpath in listed, f"{known.relpath} is not in {sums}"
        assert listed[known.relpath] == known.sha256, f"{known.relpath}: declared sha256 differs from {sums}"


def check_file_refused(name: str, known: KnownFile, data_dir: Path) -> None:
    """Loading `name` from an empty `data_dir` is a DataFileError naming HAD_DATA_DIR, the path and the URL;
    with other bytes at the file's place it is a ChecksumError. Sets HAD_DATA_DIR for the duration."""
    before = os.environ.get("HAD_DATA_DIR")
    os.environ["HAD_DATA_DIR"] = str(data_dir)
    try:
        try:
            had.load_dataset(name)
        except DataFileError as exc:
            message = str(exc)
            for part in ("HAD_DATA_DIR", known.relpath, known.url):
                assert part in message, f"{name}: the missing-file error does not name {part}: {message}"
        else:
            raise AssertionError(f"{name} loaded from an empty data dir; expected DataFileError")
        target = data_dir / known.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"not the published file\n" * 64)
        try:
            had.load_dataset(name)
        except ChecksumError:
            return
        except Exception as exc:
            raise AssertionError(f"{name}: a file with other bytes raised {type(exc).__name__}: {exc}; "
                                 "expected ChecksumError") from exc
        raise AssertionError(f"{name} loaded a file with other bytes; expected ChecksumError")
    finally:
        if before is None:
            os.environ.pop("HAD_DATA_DIR", None)
        else:
            os.environ["HAD_DATA_DIR"] = before


@dataclass
class DataPlugin:
    """A data plugin, the file each of its known sources reads, and any other files it declares."""

    plugin: str
    #: ``{registered source name: the KnownFile it reads}``
    files: dict[str, KnownFile] = field(default_factory=dict)
    #: more KnownFiles the plugin declares (checked for form and sums, not loaded)
    other_files: list[KnownFile] = field(default_factory=list)
    #: modules besides the registrations' targets that listing must not import
    loader_modules: tuple[str, ...] = ()


def plan(p: DataPlugin) -> Iterator[Check]:
    sources = registered_sources(p.plugin)
    targets = {e.target.partition(":")[0] for e in sources.values() if isinstance(e.target, str)}
    every_file = list(p.files.values()) + list(p.other_files)
    yield Check("listing", lambda tmp: check_listing_imports_no_loader(p.plugin, sorted(sources),
                                                                        sorted(targets | set(p.loader_modules))))
    for name, entry in sorted(sources.items()):
        if entry.defaults:
            yield Check(f"unknown_preset-{name}", lambda tmp, n=name, d=entry.defaults: check_unknown_preset(n, d))
    yield Check("known_files", lambda tmp: [check_known_file(k) for k in every_file])
    yield Check("sums", lambda tmp: check_sums_agree(every_file, datadir.data_dir()))
    for name, known in sorted(p.files.items()):
        yield Check(f"refused-{name}", lambda tmp, n=name, k=known: check_file_refused(n, k, tmp))
