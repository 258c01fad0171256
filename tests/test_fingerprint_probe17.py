"""The training fingerprint is that of the values, whatever their storage (:mod:`had.fingerprint`, scheme
``sha256-blocks-16MiB-c-le``): the same float32 cube as an ENVI BIL, BSQ or BIP file, a little- or big-endian
``.npy``, a Fortran-ordered array or a memory map has one fingerprint, so ``had score`` of a model on its training
data stored otherwise says so. Was: each row hashed in memory order and byte order (BIL/BSQ a689c6..., BIP 268f69...,
a little-endian .npy a48a18..., a big-endian one another), and metrics on training data looked held out. Models
saved with the older forms keep them, are still loaded and compared in their own form: never a false note."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import had
from had import fingerprint
from had.cli import main

from fingerprint_support import ON_TRAINING, Zeros



def blocks(data: bytes, block: int = fingerprint.BLOCK_BYTES) -> str:
    """The documented form, written out: sha256 of the 16 MiB blocks' sha256 digests, in order."""
    return hashlib.sha256(b"".join(hashlib.sha256(data[i:i + block]).digest()
                                   for i in range(0, len(data), block))).hexdigest()


def _cube(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cube = rng.normal(size=(40, 30, 12)).astype(np.float32)
    truth = np.zeros((40, 30), dtype=np.uint8)
    truth[3:6, 4:7] = 1
    cube[3:6, 4:7] += 4
    return cube, truth


def stored_bil(tmp_path, cube: np.ndarray) -> np.memmap:
    envi = pytest.importorskip("had_hsi.envi")
    envi.save_envi(tmp_path / "bil.hdr", cube, "bil")
    return had.load_dataset("envi-file", path=str(tmp_path / "bil.hdr")).X


def _storages(tmp_path, cube: np.ndarray) -> dict[str, object]:
    """The same values in every storage had reads: ENVI files in each interleave and byte order (memory maps),
    .npy files (read as memory maps), arrays in C and Fortran order and byte-swapped."""
    envi = pytest.importorskip("had_hsi.envi")
    stored = {"c": cube, "fortran": np.asfortranarray(cube), "big-endian": cube.astype(">f4"),
              "bil-view": np.ascontiguousarray(cube.transpose(0, 2, 1)).transpose(0, 2, 1)}
    for interleave in ("bil", "bsq", "bip"):
        for order in ("little", "big"):
            header = tmp_path / f"{interleave}_{order}.hdr"
            envi.save_envi(header, cube, interleave, order)
            stored[f"envi-{interleave}-{order}"] = had.load_dataset("envi-file", path=str(header)).X
    for name, array in (("npy-le", cube.astype("<f4")), ("npy-be", cube.astype(">f4")),
                        ("npy-fortran", np.asfortranarray(cube))):
        np.save(tmp_path / f"{name}.npy", array)
        stored[name] = np.load(tmp_path / f"{name}.npy", mmap_mode="r")
    return stored


def test_the_same_values_have_one_fingerprint_whatever_their_storage(tmp_path):
    cube, _ = _cube()
    stored = _storages(tmp_path, cube)
    assert isinstance(stored["envi-bil-little"], np.memmap) and stored["envi-bsq-big"].dtype == np.dtype(">f4")
    expected = blocks(cube.astype("<f4").tobytes())  # the C-order little-endian bytes, the documented form
    for name, X in stored.items():
        np.testing.assert_array_equal(X, cube)
        assert fingerprint.of_data(X) == expected, name  # what had score compares
        assert fingerprint.training_sha256(X, tile_bytes=3000) == expected, name  # tile by tile
    fitted = {name: had.get_detector("rx").fit(X).training_sha256_ for name, X in stored.items()}  # one-pass fit
    assert set(fitted.values()) == {expected}, fitted
    # a fit through Detector.fit itself, on every storage
    with pytest.warns(Warning):  # constant training scores
        itself = {name: Zeros().fit(X).training_sha256_ for name, X in stored.items()}
    assert set(itself.values()) == {expected}, itself
    # a table: C, Fortran, big-endian
    rows = cube.reshape(-1, 12).astype(np.float64)
    assert {fingerprint.of_data(t) for t in (rows, np.asfortranarray(rows), rows.astype(">f8"))} == {
        blocks(rows.tobytes())}


def test_other_values_have_other_fingerprints(tmp_path):
    cube, _ = _cube()
    expected = fingerprint.of_data(cube)
    changed = cube.copy()
    changed[39, 29, 11] += 1
    assert fingerprint.of_data(changed) != expected
    assert fingerprint.of_data(_cube(1)[0]) != expected
    # the bytes of a BIL file read as a C-order (H, W, B) cube: other values, so another fingerprint than the file's
    # (was: the same, both hashed as the file's bytes: a false note on misread data)
    bil = stored_bil(tmp_path, cube)
    scrambled = np.fromfile(bil.filename, dtype=np.float32).reshape(cube.shape)
    assert not np.array_equal(scrambled, cube)
    assert fingerprint.of_data(bil) == expected != fingerprint.of_data(scrambled)
    assert fingerprint.of_data(cube.astype(np.float64)) != expected  # another dtype: other bytes


def _score(model, *args) -> str:
    main(["score", str(model), *map(str, args)])


def test_scoring_the_training_values_stored_otherwise_says_they_are_the_training_data(tmp_path, capsys):
    """The tester's runs: a model fitted on a big-endian .npy scored on a little-endian copy, and one fitted on a
    BIL ENVI line scored on the BIP file of the same values."""
    envi = pytest.importorskip("had_hsi.envi")
    cube, truth = _cube()
    np.save(tmp_path / "same.npy", cube)
    np.save(tmp_path / "same_be.npy", cube.astype(">f4"))
    np.save(tmp_path / "truth.npy", truth)
    np.save(tmp_path / "other.npy", _cube(1)[0])
    envi.save_envi(tmp_path / "line_bil.hdr", cube, "bil")
    envi.save_envi(tmp_path / "line_bip.hdr", cube, "bip", "big")
    main(["fit", "rx", str(tmp_path / "same_be.npy"), "-o", str(tmp_path / "m")])
    main(["fit", "rx", str(tmp_path / "line_bil.hdr"), "-o", str(tmp_path / "mb")])
    capsys.readouterr()
    labels = f"labels={tmp_path / 'truth.npy'}"
    for scored, out in (("same.npy", "s1.npy"), ("same_be.npy", "s2.npy"), ("same.npy", "s3.tif")):  # .tif: tiled
        _score(tmp_path / "m", tmp_path / scored, "-o", tmp_path / out, "--data", labels)
        said = capsys.readouterr().out
        assert f"note: these are the data {tmp_path / 'm'} was fitted on" in said and ON_TRAINING in said, said
    _score(tmp_path / "m", tmp_path / "other.npy", "-o", tmp_path / "s4.npy", "--data", labels)
    said = capsys.readouterr().out
    assert "auroc" in said and ON_TRAINING not in said, said
    mapped = f"map_path={tmp_path / 'truth.npy'}"
    for scored, out in (("line_bip.hdr", "b1.tif"), ("line_bil.hdr", "b2.npy"), ("same.npy", "b3.npy")):
        data = ["--data", mapped] if scored.endswith(".hdr") else ["--data", labels]
        _score(tmp_path / "mb", tmp_path / scored, "-o", tmp_path / out, *data)
        said = capsys.readouterr().out
        assert f"note: these are the data {tmp_path / 'mb'} was fitted on" in said and ON_TRAINING in said, said


def _as_saved_before(model, digest: str, scheme: str | None) -> None:
    """Rewrite a model's manifest as had wrote it before: its training fingerprint in an older form."""
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["training_data_sha256_scheme"] == fingerprint.BLOCKS
    manifest["training_data_sha256"] = digest
    if scheme is None:
        del manifest["training_data_sha256_scheme"]
    else:
        manifest["training_data_sha256_scheme"] = scheme
    (model / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("scheme", ["sha256-blocks-16MiB", None])
def test_a_model_with_an_older_fingerprint_loads_and_says_no_false_note(tmp_path, capsys, scheme):
    """A model fitted on a BIL line before this change holds the fingerprint of the file's bytes (in the blocks form
    of 5 December 2026, or, with no scheme, their plain sha256): it still loads, its own line scored is still told
    to be its training data (that form is computed for it), and other values are not. The same values stored
    otherwise (BIP) are not told (that form cannot tell them), never falsely."""
    envi = pytest.importorskip("had_hsi.envi")
    cube, truth = _cube()
    data_file = envi.save_envi(tmp_path / "line_bil.hdr", cube, "bil")
    envi.save_envi(tmp_path / "line_bip.hdr", cube, "bip")
    envi.save_envi(tmp_path / "other.hdr", _cube(1)[0], "bil")
    np.save(tmp_path / "truth.npy", truth)
    model = tmp_path / "m"
    main(["fit", "rx", str(tmp_path / "line_bil.hdr"), "-o", str(model)])
    raw = data_file.read_bytes()
    old = blocks(raw) if scheme else hashlib.sha256(raw).hexdigest()  # what had then wrote (sha256sum line_bil.img)
    _as_saved_before(model, old, scheme)
    loaded = had.load(model)
    assert loaded.training_sha256_ == old and loaded.training_sha256_scheme_ == (scheme or "sha256")
    capsys.readouterr()
    mapped = f"map_path={tmp_path / 'truth.npy'}"
    for scored, out, told in (("line_bil.hdr", "a.npy", True), ("line_bil.hdr", "a.tif", True),
                              ("other.hdr", "o.npy", False), ("line_bip.hdr", "p.npy", False)):
        _score(model, tmp_path / scored, "-o", tmp_path / out, "--data", mapped)
        said = capsys.readouterr().out
        assert "auroc" in said and (ON_TRAINING in said) == told, (scored, said)


def test_a_bip_file_is_its_own_bytes_and_a_bil_file_is_hashed_without_holding_its_copies(tmp_path, monkeypatch):
    """The documented one-liner (:func:`had.fingerprint.of_file`) is the fingerprint of a little-endian BIP file;
    a BIL file is transposed a tile at a time, and its copies are let go once hashed (not held until 16 MiB more
    come: the whole of this 8 MiB scene)."""
    import tracemalloc

    import had.tiling

    envi = pytest.importorskip("had_hsi.envi")
    cube = np.random.default_rng(2).normal(size=(256, 128, 64)).astype(np.float32)  # 8 MiB
    bip = envi.save_envi(tmp_path / "bip.hdr", cube, "bip")
    assert fingerprint.of_file(bip) == fingerprint.of_data(cube)
    X = stored_bil(tmp_path, cube)
    monkeypatch.setattr(had.tiling, "TILE_BYTES", 2**20)  # tiles of 16 rows, 0.5 MiB
    tracemalloc.start()
    try:
        digest = fingerprint.training_sha256(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest == fingerprint.of_data(cube)
    assert peak < 0.25 * X.nbytes, peak
