"""Property-based tests of the artifact manifest reader (read only): any manifest loads or is an ArtifactError.

The reader itself belongs to the artifact work of issue 13 (items 1-6); these properties state its contract:
every mutated manifest is either read or refused with a HadError naming the artifact, and no `files` entry is
followed outside the artifact folder.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from fuzzing import fuzz
from hypothesis import given
from hypothesis import strategies as st

import had
from had.artifact import MANIFEST, read_manifest
from had.errors import HadError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    det = had.get_detector("rx").fit(np.random.default_rng(0).normal(size=(10, 8, 3)))
    return had.save(det, tmp_path_factory.mktemp("manifest") / "rx")


def _with_manifest(artifact: Path, tmp: str, manifest) -> Path:
    copy = Path(tmp) / "rx"
    shutil.copytree(artifact, copy)
    (copy / MANIFEST).write_text(json.dumps(manifest, allow_nan=True))
    return copy


def _load_or_refuse(path: Path) -> None:
    try:
        read_manifest(path)
        had.load(path)
    except HadError as exc:
        assert "\n" not in str(exc)


@fuzz(ci=80)
@given(st.data())
def test_a_mutated_manifest_loads_or_is_a_typed_error(artifact, data):
    manifest = json.loads((artifact / MANIFEST).read_text())
    key = data.draw(st.sampled_from(sorted(manifest)))
    if data.draw(st.booleans()):
        del manifest[key]
    else:
        manifest[key] = data.draw(json_values)
    with tempfile.TemporaryDirectory() as tmp:
        _load_or_refuse(_with_manifest(artifact, tmp, manifest))


@pytest.mark.parametrize("inside,outside", [("/etc/passwd", "/etc/no-such-file-had"),
                                            ("../rx/weights.safetensors", "../rx/no-such-file-had")])
def test_files_entries_never_leave_the_folder(artifact, inside, outside):
    """An entry outside the folder is refused the same way whether or not its target exists (no oracle)."""
    messages = []
    for name in (inside, outside):
        manifest = json.loads((artifact / MANIFEST).read_text())
        manifest["files"][name] = "0" * 64
        with tempfile.TemporaryDirectory() as tmp:
            with pytest.raises(HadError) as info:
                read_manifest(_with_manifest(artifact, tmp, manifest))
            messages.append(str(info.value).replace(name, "NAME").replace(tmp, "TMP"))
    assert messages[0] == messages[1]
