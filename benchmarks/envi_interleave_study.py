"""The interleave check of the ENVI reader (``had_hsi.envi._refuse_wrong_interleave``) on the development scenes (never
a headline one): each written in each interleave (BSQ, BIL, BIP) and declared rightly and both wrong ways, with PCA
rotations of each (all bands; the first 16, 20 and 30 components), a 40 x 40 crop of abu-urban-1 (and its PCA
rotation), noise (float32 and int16), and, declared rightly only, wider and narrower variants: each scene tiled side
by side (mirrored) to 300 and 600 samples and (unmirrored) to 450, a few-lines strip (16 and 24 lines of 600
samples), the 600-sample tiling's first 16 PCA components, 30 neighbouring bands (first, middle, last: alone, in a
16-line strip and in a 16 x 600 strip), 20 lines of its first 20 bands (and 21 lines), every third band and its bands
doubled (a band interpolated between each two), plus the synthetic cubes the tests keep (a wide cube of few smooth
components, a BSQ stack of unrelated smooth layers). Each file is opened with the reader as it stands (refused or
read), and the check's statistics are printed: the ``_apart`` ratio at each reading's three neighbour strides and
period strides.

Usage (a few minutes on one core)::

    HAD_DATA_DIR=../shared/data OMP_NUM_THREADS=1 .venv/bin/python benchmarks/envi_interleave_study.py \\
        > benchmarks/results/envi_interleave_study.md

Exit 1 if a rightly declared file is refused.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from had.errors import DataFileError
from had_hsi import envi
from scipy.io import loadmat

DEV = {"abu-airport-1": ("abu-airport-1.mat", "data"), "abu-airport-3": ("abu-airport-3.mat", "data"),
       "abu-beach-1": ("abu-beach-1.mat", "data"), "abu-beach-3": ("abu-beach-3.mat", "data"),
       "abu-urban-1": ("abu-urban-1.mat", "data"), "abu-urban-4": ("abu-urban-4.mat", "data"),
       "hydice-ii": ("HYDICE-II.mat", "data"), "muufl-crop": ("muufl-crop.mat", "hsi_sub")}
LAYOUTS = ("bsq", "bil", "bip")


def _scene(name: str) -> np.ndarray:
    filename, key = DEV[name]
    root = Path(os.environ.get("HAD_DATA_DIR", "../shared/data")) / "hsi"
    return np.ascontiguousarray(loadmat(root / filename)[key]).astype(np.float32)


def _pca(cube: np.ndarray, keep: int | None = None) -> np.ndarray:
    lines, samples, bands = cube.shape
    X = cube.reshape(-1, bands).astype(np.float64)
    X -= X.mean(0)
    rotation = np.linalg.svd(X, full_matrices=False)[2].T[:, :keep]
    return (X @ rotation).reshape(lines, samples, -1).astype(np.float32)


def _tiled(cube: np.ndarray, samples: int) -> np.ndarray:
    """`cube` tiled side by side, every other copy mirrored (no seam), cut to `samples` samples."""
    copies = [cube if i % 2 == 0 else cube[:, ::-1] for i in range(-(-samples // cube.shape[1]))]
    return np.ascontiguousarray(np.concatenate(copies, axis=1)[:, :samples])


def _doubled(cube: np.ndarray) -> np.ndarray:
    """`cube` with a band interpolated between each two (2B - 1 bands: a finer sampled spectrum)."""
    out = np.empty(cube.shape[:2] + (2 * cube.shape[2] - 1,), dtype=cube.dtype)
    out[..., ::2] = cube
    out[..., 1::2] = (cube[..., :-1] + cube[..., 1:]) / 2
    return out


def _wide_components() -> np.ndarray:  # as test_a_wide_cube_of_few_smooth_components_is_read_in_any_layout
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:40, 0:200] / 80.0
    slope_y, slope_x, phase = rng.uniform(0.3, 1.5, (3, 16))
    return (rng.uniform(0.2, 3.0, 16) * np.sin(y[..., None] * slope_y + x[..., None] * slope_x + 6 * phase)
            + rng.normal(0, 0.01, (40, 200, 16))).astype(np.float32)


def _grids() -> np.ndarray:  # as test_a_bsq_stack_of_unrelated_smooth_layers_is_read_and_the_check_can_be_turned_off
    from scipy import ndimage

    rng = np.random.default_rng(1)
    layers = np.stack([ndimage.gaussian_filter(rng.normal(size=(200, 201)), 40) for _ in range(17)], axis=2)
    return (layers / layers.std(axis=(0, 1))).astype(np.float32)


def cubes() -> list[tuple[str, str, np.ndarray, bool]]:
    """(name, group, cube, misdeclared too): the groups are raw, pca, noise (written every way) and wide, narrow,
    synthetic (declared rightly only)."""
    out = []
    rng = np.random.default_rng(3)
    for name in DEV:
        cube = _scene(name)
        out.append((name, "raw", cube, True))
        for keep in (None, 16, 20, 30):
            out.append((f"{name} pca{keep or 'all'}", "pca", _pca(cube, keep), True))
        for samples in (300, 600):
            out.append((f"{name} tiled {samples}", "wide", _tiled(cube, samples), False))
        out.append((f"{name} strip 16x600", "wide", _tiled(cube, 600)[:16], False))
        out.append((f"{name} strip 24x600", "wide", _tiled(cube, 600)[:24], False))
        out.append((f"{name} tiled 600 pca16", "wide", _pca(_tiled(cube, 600), 16), False))
        out.append((f"{name} tiled 450 unmirrored", "wide",
                    np.ascontiguousarray(np.tile(cube, (1, 5, 1))[:, :450]), False))
        bands = cube.shape[2]
        for first in (0, bands // 2 - 15, bands - 30):  # 30 neighbouring bands, alone and in strips of 16 lines
            few = np.ascontiguousarray(cube[..., first:first + 30])
            out.append((f"{name} bands {first}-{first + 29}", "narrow", few, False))
            out.append((f"{name} bands {first}-{first + 29} strip 16", "narrow", np.ascontiguousarray(few[:16]), False))
            out.append((f"{name} bands {first}-{first + 29} strip 16x600", "narrow", _tiled(few, 600)[:16], False))
        out.append((f"{name} bands 0-19 strip 20", "narrow", np.ascontiguousarray(cube[:20, :, :20]), False))
        out.append((f"{name} bands 0-19 strip 21", "narrow", np.ascontiguousarray(cube[:21, :, :20]), False))
        out.append((f"{name} every 3rd band", "narrow", np.ascontiguousarray(cube[..., ::3]), False))
        out.append((f"{name} bands doubled", "narrow", _doubled(cube), False))
        if name == "abu-urban-1":
            crop = np.ascontiguousarray(cube[:40, :40])
            out.append(("abu-urban-1 crop 40x40", "raw", crop, True))
            out.append(("abu-urban-1 crop 40x40 pcaall", "pca", _pca(crop), True))
    out.append(("noise float32", "noise", rng.normal(size=(40, 40, 48)).astype(np.float32), True))
    out.append(("noise int16", "noise", rng.integers(0, 4000, size=(40, 40, 48)).astype(np.int16), True))
    out.append(("wide few smooth components", "synthetic", _wide_components(), False))
    out.append(("bsq stack of smooth layers", "synthetic", _grids(), False))
    return out


def strides(shape: tuple[int, int, int]) -> dict[str, int]:
    """The strides measured, named: each reading's neighbours (``bsq.sample`` ...) and period strides."""
    named = {}
    for name in LAYOUTS:
        for what, stride in zip(("sample", "line", "band"), envi._neighbours(name, *shape)):
            named[f"{name}.{what}"] = stride
        period = envi._period(name, *shape)
        if period:
            named[f"{name}.period"], named[f"{name}.half"] = period
    return named


def measure(header: Path, shape: tuple[int, int, int]) -> dict[str, float | None]:
    fields = envi.read_header(header)
    data = envi.data_file_of(header)
    stated = envi._dtype(fields).newbyteorder(envi.ORDER_MARKS[envi._endian(fields)])
    out = {}
    with open(data, "rb") as file:
        for label, stride in strides(shape).items():
            out[label] = envi._apart(file, stated, 0, envi._count(fields), stride, None)
    return out


def main() -> int:
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        header = Path(tmp) / "cube.hdr"
        for name, group, cube, every_way in cubes():
            for written in LAYOUTS:
                data = envi.save_envi(header, cube, written)
                for declared in (LAYOUTS if every_way else (written,)):
                    envi.write_header(header, cube.shape, cube.dtype, declared)
                    try:
                        envi.open_envi(data)
                        verdict = "read"
                    except DataFileError as exc:
                        told = "interleave" in str(exc)
                        verdict = (f"refused ({2 if 'has no' in str(exc) else 1})" if told else f"error: {exc}")
                    records.append({"cube": name, "group": group, "shape": list(cube.shape), "written": written,
                                    "declared": declared, "verdict": verdict,
                                    "apart": measure(header, cube.shape)})
    dump = os.environ.get("STUDY_JSON")
    if dump:
        Path(dump).write_text(json.dumps(records))
    return report(records)


def _stats(r: dict) -> dict:
    """The check's statistics of a record, computed here from its ``_apart`` values (so that this script reads the
    same with any version of the reader): each reading's roughness and period ratio, and, for each other reading,
    whether it is smooth and credible, the declared reading's roughness over it (tell 1) and the declared reading's
    neighbours over its at the strides where the two differ (tell 2)."""
    shape, a = tuple(r["shape"]), r["apart"]
    at = {}
    for name in LAYOUTS:
        for what, stride in zip(("sample", "line", "band"), envi._neighbours(name, *shape)):
            at[stride] = a[f"{name}.{what}"]
        period = envi._period(name, *shape)
        if period:
            at[period[0]], at[period[1]] = a[f"{name}.period"], a[f"{name}.half"]
    if any(v is None for v in at.values()):
        return {}
    near = {name: set(envi._neighbours(name, *shape)) for name in LAYOUTS}
    rough = {name: max(at[s] for s in near[name]) for name in LAYOUTS}
    period = {}
    for name in LAYOUTS:
        p = envi._period(name, *shape)
        period[name] = None if p is None else (at[p[0]] / at[p[1]] if at[p[1]] else float("inf"))
    declared = r["declared"]
    others = {}
    for name in LAYOUTS:
        if name == declared:
            continue
        mine, theirs = near[declared] - near[name], near[name] - near[declared]
        below = max(at[s] for s in theirs) if theirs and mine else 0
        others[name] = {"rough": rough[name], "period": period[name],
                        "credible": period[name] is None or period[name] <= envi.LAYOUT_PERIOD,
                        "smooth": rough[name] <= envi.LAYOUT_SMOOTH,
                        "tell1": rough[declared] / rough[name] if rough[name] else float("inf"),
                        "apart_where_they_differ": max(at[s] for s in mine) / below if below else None}
    return {"rough": rough, "period": period, "others": others}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def report(records: list[dict]) -> int:
    print("# The ENVI interleave check on the development scenes\n")
    print("`benchmarks/envi_interleave_study.py`: each file opened by `open_envi` as the reader stands, then the "
          "check's statistics. `rough X`: the largest `_apart` of reading X's next sample, line and band (each a "
          "ratio to unrelated values: 0 identical, about 1 noise); `period X`: reading X's `_apart` one period on "
          "over half a period on (credible at LAYOUT_PERIOD or less; BSQ has none); `tell 1`: the declared "
          "reading's rough over the smoothest smooth credible other's; `no period`: the declared (BIL or BIP) "
          "reading's own period ratio; `apart where they differ`: for that other, the declared reading's farthest "
          "neighbour over the other's at the strides one has and the other has not. `opened`: `refused (1)` or "
          "`refused (2)` by the tell that refused it (2: the declared reading has no period), `read`.\n")
    constants = ("LAYOUT_SMOOTH", "LAYOUT_FACTOR", "LAYOUT_ROUGH", "LAYOUT_PERIOD", "LAYOUT_NO_PERIOD", "LAYOUT_DIFFER")
    print("Constants as read: " + ", ".join(f"{c} {getattr(envi, c)}" for c in constants if hasattr(envi, c)) + ".\n")
    summary: dict[tuple[str, bool], list[int]] = {}
    print("| cube | shape | written | declared | opened | rough bsq / bil / bip | period bil / bip | tell 1 | "
          "no period | apart where they differ |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in records:
        st = _stats(r)
        right = r["written"] == r["declared"]
        refused = r["verdict"].startswith("refused")
        tally = summary.setdefault((r["group"], right), [0, 0])
        tally[0] += 1
        tally[1] += refused
        mark = (f"**{r['verdict']}**" if refused else r["verdict"]) if right else \
            (r["verdict"] if refused else "**read**")
        if not st:
            print(f"| {r['cube']} | {'x'.join(map(str, r['shape']))} | {r['written']} | {r['declared']} | {mark} |"
                  " not judged | | | | |")
            continue
        credited = {n: o for n, o in st["others"].items() if o["smooth"] and o["credible"]}
        best = min(credited, key=lambda n: credited[n]["rough"]) if credited else None
        print(f"| {r['cube']} | {'x'.join(map(str, r['shape']))} | {r['written']} | {r['declared']} | {mark} | "
              + " / ".join(_fmt(st["rough"][n]) for n in LAYOUTS) + " | "
              + " / ".join(_fmt(st["period"][n]) for n in ("bil", "bip")) + " | "
              + (f"{_fmt(credited[best]['tell1'])} ({best})" if best else "-") + " | "
              + _fmt(st["period"][r["declared"]]) + " | "
              + (", ".join(f"{_fmt(o['apart_where_they_differ'])} ({n})" for n, o in credited.items()) or "-")
              + " |")
    print("\n## Counts\n")
    print("| group | declared | files | refused |")
    print("|---|---|---|---|")
    for (group, right), (files, refused) in sorted(summary.items()):
        print(f"| {group} | {'rightly' if right else 'wrongly'} | {files} | {refused} |")
    by_pair: dict[tuple[str, str], list[int]] = {}
    for r in records:
        if r["group"] == "raw" and r["written"] != r["declared"]:
            t = by_pair.setdefault((r["written"], r["declared"]), [0, 0, 0])
            t[0] += 1
            t[1] += r["verdict"] == "refused (1)"
            t[2] += r["verdict"] == "refused (2)"
    print("\nMisdeclared raw scenes (the 8 scenes and the crop) by case:\n")
    print("| written | declared | files | refused by (1) | refused by (2) |")
    print("|---|---|---|---|---|")
    for (written, declared), (files, one, two) in sorted(by_pair.items()):
        print(f"| {written} | {declared} | {files} | {one} | {two} |")
    margins(records)
    print("\nBefore tell (2) (the reader at git HEAD of 7 December 2026, tell (1) alone; this script run with it "
          "on the misdeclared files and the first study's 132 rightly declared ones): misdeclared raw scenes 40 of 54 "
          "refused (BSQ declared BIL 3, BSQ declared BIP 5, BIL declared BIP 5, the other three cases 9 each), no "
          "rightly declared file refused, misdeclared PCA cubes and noise all read. Tell (1) is unchanged, so it "
          "refuses no rightly declared file that it refuses now (none).")
    print("\nWhy tell (1) let 14 through: all were BSQ declared BIL or BIP, or BIL declared BIP. A BSQ file read as BIL "
          "has the same next sample, its \"next band\" is the true next line and its \"next line\" B lines of one "
          "band on (wrapping into a band or two on); read as BIP its \"next band\" is the true next sample and its "
          "\"next sample\" B samples on. A BIL file read as BIP keeps the next line, its \"next band\" is the true "
          "next sample. So every misreading is a fairly smooth one, and on a rough scene (airport, urban: the true "
          "reading's farthest neighbour 0.15 to 0.60) the declared one is only 1.0 to 2.5 times rougher. What those "
          "misreadings lack is their period: the same \"band\" a line (BIL) or pixel (BIP) on lies farther in the "
          "true cube than \"bands\" half the band count apart, so the period ratio is 1.2 to 1.6 (abu-beach-1 BSQ "
          "declared BIL 0.75), where true BIL and BIP readings show 0.02 to 0.28; and at the strides where the two "
          "readings differ the misreading is 1.2 to 10.5 times as far apart as the true one (muufl-crop 1.20 to "
          "1.49: its 72 bands are twice its 36 lines and samples, so its misreadings' far strides land on the same "
          "pixel two bands on). Tell (2) uses both; abu-urban-1 BSQ stays read because its true BSQ reading is not "
          "smooth (next band 0.60 of the spread of unrelated values, where smooth is 0.5 or less).")
    wrong = sum(refused for (group, right), (_, refused) in summary.items() if right)
    return 1 if wrong else 0


def margins(records: list[dict]) -> None:
    """The rightly declared files nearest each tell, by group (first study: raw, pca, noise; variants: the rest)."""
    print("\n## Margins of the rightly declared files\n")
    print("Tell 1: the largest declared rough over a smooth credible other's (refused at LAYOUT_FACTOR). Tell 2: "
          "the file nearest refusal, as the smallest of its three fractions of what refusal needs: own period ratio "
          "over LAYOUT_NO_PERIOD, LAYOUT_SMOOTH over the other's rough, apart where they differ over LAYOUT_DIFFER "
          "(refused "
          "where all three reach 1; a credible other only; readings with the same strides are not judged). Also: the "
          "largest own period ratio of a file that has a smooth credible other LAYOUT_DIFFER times smoother where "
          "they differ.\n")
    print("| files | tell 1: largest | tell 2: nearest (smallest fraction) | own period with such an other: largest |")
    print("|---|---|---|---|")
    no_period = getattr(envi, "LAYOUT_NO_PERIOD", 1.1)
    differ_needed = getattr(envi, "LAYOUT_DIFFER", 1.5)
    for label, groups in (("first study (raw, pca, noise)", {"raw", "pca", "noise"}),
                          ("wide, narrow and synthetic variants", {"wide", "narrow", "synthetic"})):
        t1, t2, own = (0.0, ""), (0.0, ""), (0.0, "")
        for r in records:
            if r["group"] not in groups or r["written"] != r["declared"]:
                continue
            st = _stats(r)
            if not st:
                continue
            name = f"{r['cube']}, {r['declared'].upper()}"
            for other, o in st["others"].items():
                if not o["credible"]:
                    continue
                if o["smooth"] and o["tell1"] > t1[0]:
                    t1 = (o["tell1"], f"{name} (other {other})")
                mine = st["period"][r["declared"]]
                differ = o["apart_where_they_differ"]
                if mine is None or differ is None:
                    continue
                fraction = min(mine / no_period, envi.LAYOUT_SMOOTH / o["rough"], differ / differ_needed)
                if fraction > t2[0]:
                    t2 = (fraction, f"{name} (other {other}: own period {mine:.2f}, other rough {o['rough']:.2f}, "
                                    f"apart where they differ {differ:.2f})")
                if o["smooth"] and differ >= differ_needed and mine > own[0]:
                    own = (mine, f"{name} (other {other})")
        none = "none has a smooth credible other"
        print(f"| {label} | {f'{t1[0]:.2f}: {t1[1]}' if t1[1] else none} | {t2[0]:.2f}: {t2[1]} | "
              f"{f'{own[0]:.2f}: {own[1]}' if own[1] else none} |")
    print("\nMisdeclared raw scenes refused, the least evidence: by (1), the smallest declared rough over the "
          "other's; by (2), the smallest own period ratio and apart where they differ (for the other named).\n")
    for tell in ("1", "2"):
        rows = []
        for r in records:
            if r["group"] != "raw" or r["verdict"] != f"refused ({tell})":
                continue
            st = _stats(r)
            credited = {n: o for n, o in st["others"].items() if o["smooth"] and o["credible"]}
            if tell == "1":
                rows.append((max(o["tell1"] for o in credited.values()), r))
            else:
                differ = max(o["apart_where_they_differ"] or 0 for o in credited.values())
                rows.append((min(st["period"][r["declared"]], differ), r))
        if rows:
            least, r = min(rows, key=lambda row: row[0])
            print(f"- ({tell}): {len(rows)} files, the least {least:.2f}: {r['cube']}, {r['written'].upper()} "
                  f"declared {r['declared'].upper()}")


if __name__ == "__main__":
    sys.exit(main())
