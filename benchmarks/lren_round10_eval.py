"""LREN tenth design round: global RX as an extra ensemble member, on the DEVELOPMENT scenes only.

Candidate (benchmarks/results/lren/round10/rule.md, written before this table): the default ``lren`` ensemble
(6 restarts, each member's scene scores standardised by their median / IQR and averaged: ``had_sdk.restarts``)
plus global RX on the raw cube (``had.rx.RX`` fitted on the scene), standardised the same way, with weight w:

    score_w = (1 - w) * mean_m z_m + w * z_RX,   z = (s - median(s)) / IQR(s) on the scene, w in W_GRID

and, reported for information only (not a candidate of the rule), rank fusion ``(1 - w) F_LREN + w F_RX`` with
F the scene's empirical CDF of each score.

Every fit is one ``had bench`` cell done by hand (``had.executors.run_cell``'s steps: the dataset source, the
transductive protocol, the cell's seed, the scene's declared fill; a transductive detector's scores are its
``decision_scores_``), cached as one npz per (scene, seed) under ``--cache`` (the ensemble's scores, each member's
scene scores and scale) and one per scene for RX. The table step checks that w = 0 reproduces the committed
``final10/results.csv`` ``lren`` AUROCs of the development scenes (and RX's) to 1e-6, then writes
``round10/dev_table.md`` and ``round10/dev_table_rows.csv`` with the rule's verdict.

Headline scenes (sandiego_plane, hydice, abu-beach-4, abu-urban-2) are refused; only the development rows of
final10/results.csv are read.

    HAD_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lren_round10_eval.py \\
        --cache /tmp/lren10_cache
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lren_dev import DEV  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "lren"
HEADLINE = ("sandiego_plane", "hydice", "abu-beach-4", "abu-urban-2")
W_GRID = (0.0, 0.1, 0.2, 0.3, 0.5)
SEEDS = (0, 1, 2, 3, 4)
#: the rule (round10/rule.md)
MEAN_TIE, MEAN_FLOOR_PARTIAL, REPRO_TOL = 0.0005, 0.002, 1e-6
FAMILIES = ("z", "rank")  # "rank" is informational only


def check_scenes(scenes: list[str]) -> None:
    headline = [s for s in scenes if s in HEADLINE]
    if headline:
        raise SystemExit(f"{headline}: headline scenes; this round uses the development scenes {DEV} only")
    bad = [s for s in scenes if s not in DEV]
    if bad:
        raise SystemExit(f"{bad}: not development scenes; this round uses {DEV} only")


def cell(detector: str, scene: str, seed: int, settings: dict | None = None):
    """One `had bench` cell's fit and transductive scores (``had.executors.run_cell``'s steps), the detector's
    defaults but for `settings`: (detector, flat scores float64 with fill pixels NaN, flat labels, fit seconds)."""
    from had import get_detector, nodata, protocols
    from had.executors import load

    source, dataset = load(scene, {})
    split = protocols.apply(source.protocol(None), dataset, seed=seed)
    det = get_detector(detector, {"seed": seed, **(settings or {})})
    fill = nodata.declared(dataset.meta)
    if fill is not None and nodata.masks_fill(det):
        det.set_params(**{nodata.FIELD: nodata.as_config(fill)})
    t0 = time.perf_counter()
    det.fit(split.train.X, split.train.known)
    fit_s = time.perf_counter() - t0
    if det.transductive:
        scores = det.decision_scores_.reshape(np.shape(split.test.y))
    else:
        scores = det.decision_function(split.test.X)
    scores = np.asarray(scores, dtype=np.float64)
    if fill is not None and np.ndim(split.test.X) == 3:
        scores = np.where(nodata.fill_mask(split.test.X, fill).reshape(np.shape(scores)), np.nan, scores)
    return det, scores.reshape(-1), np.asarray(split.test.y).reshape(-1), fit_s


def start_cache(cache: Path, scene: str) -> None:
    """One thread for torch, the cache folder, and global RX's cell of `scene` in it (the rounds' yardstick)."""
    import torch

    torch.set_num_threads(1)
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"{scene}__rx.npz"
    if not target.is_file():
        _, scores, y, fit_s = cell("rx", scene, 0)
        np.savez(target, scores=scores, y=y, fit_s=fit_s)
        print(f"{scene} rx: {fit_s:.2f}s", flush=True)


def fit_all(cache: Path, scenes: list[str], seeds: list[int]) -> None:
    for scene in scenes:
        start_cache(cache, scene)
        for seed in seeds:
            target = cache / f"{scene}__seed{seed}.npz"
            if target.is_file():
                continue
            det, scores, y, fit_s = cell("lren", scene, seed)
            members = np.stack([np.asarray(m.decision_scores_, dtype=np.float64).reshape(-1)
                                for m in det.restart_members_])
            np.savez(target, scores=scores, members=members, scale=np.asarray(det.restart_scale_, np.float64),
                     fit_s=fit_s)
            print(f"{scene} seed {seed} lren: {fit_s:.2f}s", flush=True)


def robust_z(scores: np.ndarray) -> np.ndarray:
    """(s - median) / IQR on the scene, the SDK's IQR (``had_sdk.restarts.training_scale``), NaN (fill) kept."""
    from had_sdk.restarts import training_scale

    return (scores - np.nanmedian(scores)) / training_scale(scores)


def cdf(scores: np.ndarray) -> np.ndarray:
    """The scene's empirical CDF of each score (average ranks / N), NaN kept."""
    from scipy.stats import rankdata

    out = np.full(scores.shape, np.nan)
    ok = ~np.isnan(scores)
    out[ok] = rankdata(scores[ok]) / ok.sum()
    return out


def lren_part(run) -> np.ndarray:
    """mean_m z_m: the ensemble's scores (mean_m s_m / IQR_m, had_sdk.restarts) less mean_m median_m / IQR_m."""
    shift = float(np.mean([np.nanmedian(s) / c for s, c in zip(run["members"], run["scale"])]))
    return run["scores"] - shift


def committed(detector: str) -> dict[tuple[str, int], float]:
    """final10/results.csv AUROCs of `detector` on the development scenes only (no other row is kept)."""
    out = {}
    with (RESULTS / "final10" / "results.csv").open() as f:
        for r in csv.DictReader(f):
            if r["detector"] == detector and r["dataset"] in DEV and not r["error"]:
                out[(r["dataset"], int(r["seed"]))] = float(r["auroc"])
    return out


def table(cache: Path, scenes: list[str], seeds: list[int], out: Path, command: str) -> None:
    from had.metrics import auroc
    from had.nodata import scored_pixels

    rows, rx, fit_s, repro = [], {}, [], []
    for scene in scenes:
        r = np.load(cache / f"{scene}__rx.npz")
        y, s_rx = r["y"], r["scores"]
        rx[scene] = auroc(*scored_pixels(y, s_rx))
        z_rx, f_rx = robust_z(s_rx), cdf(s_rx)
        for seed in seeds:
            run = np.load(cache / f"{scene}__seed{seed}.npz")
            fit_s.append(float(run["fit_s"]))
            base = auroc(*scored_pixels(y, run["scores"]))  # the ensemble's scores as had bench scores them
            part, f_lren = lren_part(run), cdf(run["scores"])
            for w in W_GRID:
                for family, fused in (("z", (1 - w) * part + w * z_rx), ("rank", (1 - w) * f_lren + w * f_rx)):
                    value = auroc(*scored_pixels(y, fused))
                    rows.append(dict(family=family, w=w, scene=scene, seed=seed, auroc=value, rx=rx[scene],
                                     gap=value - rx[scene]))
            repro.append((scene, seed, base))
    # validity: w = 0 (z) is the ensemble itself; both reproduce final10's lren cells, RX its rx cells
    ref_lren, ref_rx = committed("lren"), committed("rx")
    z0 = {(r["scene"], r["seed"]): r["auroc"] for r in rows if r["family"] == "z" and r["w"] == 0.0}
    diffs = [abs(base - ref_lren[(s, k)]) for s, k, base in repro if (s, k) in ref_lren]
    diffs += [abs(z0[(s, k)] - ref_lren[(s, k)]) for (s, k) in z0 if (s, k) in ref_lren]
    rx_diffs = [abs(rx[s] - ref_rx[(s, 0)]) for s in scenes if (s, 0) in ref_rx]
    quantum = {}  # one (anomaly, background) pair's share of the AUROC: the metric's step
    for s in scenes:
        y = np.load(cache / f"{s}__rx.npz")["y"].astype(bool)
        quantum[s] = 1.0 / (int(y.sum()) * int((~y).sum()))
    off = [(s, k, base - ref_lren[(s, k)]) for s, k, base in repro
           if (s, k) in ref_lren and abs(base - ref_lren[(s, k)]) > REPRO_TOL]
    missing = [(s, k) for s, k, _ in repro if (s, k) not in ref_lren]
    valid = not missing and max(diffs) <= REPRO_TOL and len(scenes) == len(DEV) and list(seeds) == list(SEEDS)

    out.mkdir(parents=True, exist_ok=True)
    with (out / "dev_table_rows.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: (f"{v:.6f}" if isinstance(v, float) and k != "w" else v) for k, v in r.items()}
                         for r in rows)
    stats = {}
    for family in FAMILIES:
        for w in W_GRID:
            sel = [r for r in rows if r["family"] == family and r["w"] == w]
            per = {s: np.array([r["auroc"] for r in sel if r["scene"] == s]) for s in scenes}
            stats[(family, w)] = dict(
                per=per, mean=float(np.mean([v.mean() for v in per.values()])),
                worst={s: float(v.min() - rx[s]) for s, v in per.items()},
                below={s: int((v < rx[s]).sum()) for s, v in per.items()})
            stats[(family, w)]["n_below"] = sum(stats[(family, w)]["below"].values())

    lines = [f"# LREN tenth round: RX as an extra ensemble member (development scenes, seeds "
             f"{seeds[0]}-{seeds[-1]})", "", f"Produced by: `{command}`", "",
             "Rule: [rule.md](rule.md) (written before this table). score_w = (1 - w) mean_m z_m + w z_RX, "
             "z = (s - median) / IQR on the scene.", "",
             f"Validity: w = 0 vs final10/results.csv `lren` dev cells: max |diff| {max(diffs):.2e} over "
             f"{len(diffs)} comparisons (tolerance {REPRO_TOL:g}); RX vs final10 `rx`: max |diff| "
             f"{max(rx_diffs) if rx_diffs else float('nan'):.2e}; missing reference cells: {len(missing)}. "
             f"{'Valid.' if valid else 'NOT VALID under the rule (strict 1e-6): no verdict.'}"
             + ("" if not off else " Cells beyond 1e-6 (AUROC diff, in AUROC steps of one anomaly/background pair "
                "at that scene; final10's CSV has 6 significant digits, so +-5e-7 is its rounding): "
                + ", ".join(f"{s} seed {k} {d:+.2e} ({d / quantum[s]:+.1f} steps)" for s, k, d in off) + "."), "",
             f"LREN fit seconds (6 restarts, 1 thread): total {sum(fit_s):.0f}, mean {np.mean(fit_s):.1f} over "
             f"{len(fit_s)} fits.", ""]
    for family in FAMILIES:
        title = ("z-score fusion (the candidate)" if family == "z"
                 else "rank (empirical-CDF) fusion: informational, not a candidate of the rule")
        lines += [f"## {title}", "", "AUROC, mean ± std over seeds:", "",
                  "| w | dev mean | pairs < RX (of 40) | " + " | ".join(scenes) + " |",
                  "|---|---|---|" + "---|" * len(scenes)]
        for w in W_GRID:
            st = stats[(family, w)]
            lines.append(f"| {w:g} | {st['mean']:.4f} | {st['n_below']} | "
                         + " | ".join(f"{v.mean():.4f} ± {v.std():.4f}" for v in st["per"].values()) + " |")
        lines.append("| RX | " + f"{np.mean(list(rx.values())):.4f} | | " + " | ".join(f"{rx[s]:.4f}" for s in scenes)
                     + " |")
        lines += ["", "Worst seed's AUROC - RX's (pairs below RX of 5 in brackets):", "",
                  "| w | " + " | ".join(scenes) + " |", "|---|" + "---|" * len(scenes)]
        for w in W_GRID:
            st = stats[(family, w)]
            lines.append(f"| {w:g} | " + " | ".join(f"{st['worst'][s]:+.4f} ({st['below'][s]})" for s in scenes)
                         + " |")
        lines.append("")

    base = stats[("z", 0.0)]
    z = {w: stats[("z", w)] for w in W_GRID}
    eligible = [w for w in W_GRID if w > 0 and z[w]["n_below"] == 0 and z[w]["mean"] >= base["mean"] - MEAN_TIE]
    partial = [w for w in W_GRID if w > 0 and z[w]["mean"] >= base["mean"] - MEAN_FLOOR_PARTIAL
               and z[w]["n_below"] < base["n_below"]]
    if eligible:
        w = min(eligible)
        verdict = (f"Eligible (no pair below RX, mean >= {base['mean'] - MEAN_TIE:.4f}): "
                   + ", ".join(f"w={v:g}" for v in eligible) + f". By rule 1: **w = {w:g}** (dev mean "
                   f"{z[w]['mean']:.4f}, {z[w]['mean'] - base['mean']:+.4f} vs w = 0's {base['mean']:.4f}).")
    elif partial:
        w = min(partial, key=lambda v: (z[v]["n_below"], v))
        verdict = (f"No w is eligible under rule 1. By rule 2 (partial): **w = {w:g}** ({z[w]['n_below']} pairs "
                   f"below RX vs {base['n_below']} at w = 0; dev mean {z[w]['mean']:.4f}). It does not meet the RX "
                   "rule on every (dev scene, seed).")
    else:
        verdict = "No w meets rule 1 or rule 2: no change (w = 0)."
    if not valid:
        verdict = ("The table is not valid under the rule's strict reproduction check (see Validity): no verdict; "
                   "the default stays (w = 0). Were the reproduction accepted, the rule's selection would give: "
                   + verdict)
    lines += ["## Verdict", "", f"Baseline w = 0: dev mean {base['mean']:.4f}, {base['n_below']} of 40 pairs below "
              "RX. " + verdict, ""]
    (out / "dev_table.md").write_text("\n".join(lines))
    print("\n".join(lines))


def write_dev_table(out: Path, lines: list[str]) -> None:
    """A round's table: ``OUT/dev_table.md`` (the folder made), and the same lines on stdout."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "dev_table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def study_main(doc: str, cache: Path, out: Path, fit_all, table, script: str) -> None:
    """The design rounds' command line (this round's and rounds 11-12's): fit the development cells into the
    cache (headline scenes refused), then the table with the command that made it."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=cache)
    parser.add_argument("--scenes", nargs="+", default=list(DEV))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--out", type=Path, default=out)
    parser.add_argument("--fit-only", action="store_true", help="fit and cache, no table")
    args = parser.parse_args()
    check_scenes(args.scenes)
    fit_all(args.cache, args.scenes, args.seeds)
    if not args.fit_only:
        table(args.cache, args.scenes, args.seeds, args.out, "HAD_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 "
              f".venv/bin/python benchmarks/{script} " + " ".join(sys.argv[1:]))


def main() -> None:
    study_main(__doc__, Path("/tmp/lren10_cache"), RESULTS / "round10", fit_all, table, "lren_round10_eval.py")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
