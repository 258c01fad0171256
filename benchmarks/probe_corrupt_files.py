"""Corrupt every file format `had` reads and check what `had fit rx FILE -o OUT` answers (reliability.md).

Writes a small valid scene in each format (MAT 5, MAT v7.3, .npy, .npz, ENVI BSQ/BIL/BIP, GeoTIFF, CSV), then
variants: truncated at 0-99 % of their length, bytes overwritten at seeded positions (most in the first 600
bytes, where the headers are), ENVI headers with each field broken, data files short, empty, long or missing,
odd CSVs and a pickled .npy. Each variant is fitted by the CLI in a fresh process. A case is good when it exits 0
or answers one line ``error: ...`` with exit 2 and leaves no output folder; the rest are printed (exit 1).

    .venv/bin/python benchmarks/probe_corrupt_files.py [--seed 0] [--work /tmp/had-probe]   # ~2 min, 2 cores

First run (4 December 2026, seed 0): 195 cases, none bad; it found what had read without a word (a ``data
ignore value`` that is not a number, a data file longer than its header needs, an unreadable ``map info``, and
tifffile's raw log line), each since said or refused.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HAD = str(Path(sys.executable).with_name("had"))


def valid_files(folder: Path) -> None:
    import h5py
    import scipy.io
    import tifffile
    from had_hsi.envi import save_envi

    rng = np.random.default_rng(0)
    X = rng.normal(100, 10, (24, 20, 8)).astype(np.float32)
    truth = np.zeros((24, 20), np.uint8)
    truth[5, 5] = 1
    folder.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(folder / "v5.mat", {"data": X, "map": truth})
    with h5py.File(folder / "v73.mat", "w") as fh:
        fh.create_dataset("data", data=X.transpose(2, 1, 0))
        fh.create_dataset("map", data=truth.T)
    np.save(folder / "cube.npy", X)
    np.savez(folder / "cube.npz", data=X, map=truth)
    for interleave in ("bsq", "bil", "bip"):
        save_envi(folder / f"e_{interleave}.hdr", X, interleave)
    tifffile.imwrite(folder / "cube.tif", X.transpose(2, 0, 1), planarconfig="separate")
    np.savetxt(folder / "table.csv", rng.normal(0, 1, (200, 5)), delimiter=",", header="a,b,c,d,e", comments="")


def cases(good: Path, seed: int) -> list[tuple[str, dict[str, bytes], str]]:
    """``(name, {file name: bytes}, file to fit)`` for every variant."""
    rnd = random.Random(seed)
    out = []
    for name in ("v5.mat", "v73.mat", "cube.npy", "cube.npz", "cube.tif", "table.csv"):
        raw = (good / name).read_bytes()
        for fraction in (0.0, 0.01, 0.05, 0.2, 0.5, 0.9, 0.99):
            out.append((f"{name}-truncated-{fraction}", {name: raw[:int(len(raw) * fraction)]}, name))
        for k in range(12):
            changed = bytearray(raw)
            at = rnd.randrange(min(len(raw), 600)) if k < 8 else rnd.randrange(len(raw))
            for j in range(rnd.choice([1, 4, 16])):
                changed[min(len(raw) - 1, at + j)] = rnd.randrange(256)
            out.append((f"{name}-overwritten-{k}@{at}", {name: bytes(changed)}, name))
    for il in ("bsq", "bil", "bip"):
        header, data = (good / f"e_{il}.hdr").read_text(), (good / f"e_{il}.img").read_bytes()
        headers = {
            "samples-0": header.replace("samples = 20", "samples = 0"),
            "samples-huge": header.replace("samples = 20", "samples = 99999999"),
            "samples-negative": header.replace("samples = 20", "samples = -4"),
            "samples-text": header.replace("samples = 20", "samples = abc"),
            "bands-0": header.replace("bands = 8", "bands = 0"),
            "data-type-99": header.replace("data type = 4", "data type = 99"),
            "data-type-complex": header.replace("data type = 4", "data type = 6"),
            "byte-order-7": header.replace("byte order = 0", "byte order = 7"),
            "interleave-xyz": header.replace(f"interleave = {il}", "interleave = xyz"),
            "offset-huge": header.replace("header offset = 0", "header offset = 99999999999"),
            "offset-negative": header.replace("header offset = 0", "header offset = -10"),
            "not-envi": header.replace("ENVI", "XXXX", 1),
            "no-lines": "\n".join(line for line in header.splitlines() if not line.startswith("lines")),
            "open-brace": header + "\nwavelength = { 1, 2, 3\n",
            "wavelengths-short": header + "\nwavelength = { 1, 2, 3 }\n",
            "ignore-value-text": header + "\ndata ignore value = abc\n",
            "map-info-text": header + "\nmap info = { UTM, 1, 1, abc }\n",
            "empty": "",
            "binary": "\x00\xff" * 50,
        }
        for what, text in headers.items():
            out.append((f"e_{il}-{what}", {f"e_{il}.hdr": text.encode("latin-1"), f"e_{il}.img": data}, f"e_{il}.hdr"))
        for what, body in (("data-short", data[:len(data) // 2]), ("data-empty", b""), ("data-long", data + data[:100]),
                           ("data-nan", np.full(len(data) // 4, np.nan, np.float32).tobytes())):
            out.append((f"e_{il}-{what}", {f"e_{il}.hdr": header.encode(), f"e_{il}.img": body}, f"e_{il}.hdr"))
        out.append((f"e_{il}-data-missing", {f"e_{il}.hdr": header.encode()}, f"e_{il}.hdr"))
    for what, body in (("empty", b""), ("header-only", b"a,b,c\n"), ("text", b"a,b\n1,x\n2,3\n"),
                       ("ragged", b"a,b\n1,2\n3\n4,5,6\n"), ("nan", b"a,b\n1,2\nnan,3\n4,5\n"),
                       ("inf", b"a,b\n1,2\ninf,3\n4,5\n"), ("binary", bytes(range(256)) * 4),
                       ("utf16", "a,b\n1,2\n3,4\n".encode("utf-16"))):
        out.append((f"csv-{what}", {"t.csv": body}, "t.csv"))
    import io

    pickled = io.BytesIO()
    np.save(pickled, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    out.append(("npy-pickled", {"o.npy": pickled.getvalue()}, "o.npy"))
    return out


def fit(case: Path, target: str) -> tuple[int, str, bool]:
    model = case / "model"
    done = subprocess.run([HAD, "fit", "rx", str(case / target), "-o", str(model)], capture_output=True, text=True,
                          timeout=300)
    lines = done.stderr.strip().splitlines()
    one_line = done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:")
    good = (done.returncode == 0 or one_line) and not (done.returncode and model.exists())
    return done.returncode, done.stderr.strip()[-400:], good


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default="/tmp/had-probe")
    args = parser.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    valid_files(work / "good")
    jobs = []
    for name, files, target in cases(work / "good", args.seed):
        folder = work / "cases" / name
        folder.mkdir(parents=True)
        for file, body in files.items():
            (folder / file).write_bytes(body)
        jobs.append((name, folder, target))
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda job: (job[0], *fit(job[1], job[2])), jobs))
    bad = [r for r in results if not r[3]]
    for name, code, err, _ in sorted(results):
        print(f"{code:3d} {name:38s} {err.splitlines()[-1][:150] if err else ''}")
    print(f"\n{len(results)} cases, {len(bad)} bad (not exit 0, nor one 'error:' line with exit 2 and no output)")
    for name, code, err, _ in bad:
        print(f"BAD {name}: exit {code}\n    {err}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
