"""LREN eleventh design round: the raw spectra's LRR as a second member score, on the DEVELOPMENT scenes only.

Candidate (benchmarks/results/lren/round11/rule.md, written before this script ran): each restart member of the
default ``lren`` also solves its LRR (same atoms, lambda, solver settings, closed form) on the fitted pixels'
raw spectra projected on their k = min(32, bands) leading principal components and whitened; the member's score
is ``(1 - w) s_codes / IQR_c + w s_raw / IQR_r`` (the rule's medians are constants and change no ranking), and
the ensemble divides each member's score by its IQR and averages (``had_sdk.restarts``), w in W_GRID.

Every fit is one ``had bench`` cell (``lren_round10_eval.cell``), cached per (scene, seed) under ``--cache``: the
ensemble's scores, each member's codes scores and raw scores. The table step checks validity (w = 0 recomputed
from the members equals the detector's own scores' AUROC to 1e-6) and writes ``round11/dev_table.md`` and
``round11/dev_table_rows.csv`` with the rule's verdict. Headline scenes are refused.

    HAD_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lren_round11_eval.py \\
        --cache /tmp/lren11_cache
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lren_dev import DEV  # noqa: E402
from lren_round10_eval import cell, check_scenes  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "lren"
W_GRID = (0.0, 0.25, 0.5)
SEEDS = (0, 1, 2, 3, 4)
#: the rule (round11/rule.md)
MEAN_GAIN, DROP_MAX, TIE, VALID_TOL = 0.002, 0.02, 0.0005, 1e-6
PCS = 32


def raw_space(pixels: np.ndarray, k: int = PCS) -> np.ndarray:
    """The fitted pixels' raw spectra on their k leading principal components, whitened (float64)."""
    X = np.asarray(pixels, dtype=np.float64).reshape(-1, np.shape(pixels)[-1])
    centred = X - X.mean(axis=0)
    values, vectors = np.linalg.eigh(centred.T @ centred / max(X.shape[0] - 1, 1))
    order = np.argsort(values)[::-1][:min(k, X.shape[1])]
    values, vectors = values[order], vectors[:, order]
    keep = values > 1e-12 * values[0]
    return centred @ (vectors[:, keep] / np.sqrt(values[keep]))


def raw_scores(S: np.ndarray, member) -> np.ndarray:
    """The member's LRR on the raw space `S`: its atoms, its config's solver settings, the closed form's scores."""
    from had_lren import lrr as L

    cfg = member.config
    atoms = np.asarray(member.atoms_)
    with L.single_threaded_blas():
        result = L.lrr(S.T, S[atoms].T, cfg.lrr_lambda, tol=cfg.lrr_tol, max_iter=cfg.lrr_max_iter, rho=cfg.lrr_rho,
                       mu=cfg.lrr_mu, mu_max=cfg.lrr_mu_max, svt_method=cfg.lrr_svt,
                       dtype=np.float32 if cfg.lrr_float32 else np.float64)
        rule = L.out_of_sample_rule(S[atoms].T, result.X, cfg.lrr_lambda)
        return L.out_of_sample_scores(S, rule)


def fit_all(cache: Path, scenes: list[str], seeds: list[int]) -> None:
    import torch

    from had import load_dataset

    torch.set_num_threads(1)
    cache.mkdir(parents=True, exist_ok=True)
    for scene in scenes:
        target = cache / f"{scene}__rx.npz"
        if not target.is_file():
            _, scores, y, fit_s = cell("rx", scene, 0)
            np.savez(target, scores=scores, y=y, fit_s=fit_s)
        X = np.asarray(load_dataset(scene).X)
        S = raw_space(X)
        for seed in seeds:
            target = cache / f"{scene}__seed{seed}.npz"
            if target.is_file():
                continue
            det, scores, y, fit_s = cell("lren", scene, seed)
            members = det.restart_members_
            codes = np.stack([np.asarray(m.decision_scores_, dtype=np.float64).reshape(-1) for m in members])
            if codes.shape[1] != S.shape[0]:
                raise SystemExit(f"{scene}: members scored {codes.shape[1]} pixels, the scene has {S.shape[0]}")
            t0 = time.perf_counter()
            raw = np.stack([raw_scores(S, m) for m in members])
            np.savez(target, scores=scores, y=y, codes=codes, raw=raw, fit_s=fit_s,
                     raw_s=time.perf_counter() - t0, pcs=S.shape[1])
            print(f"{scene} seed {seed}: fit {fit_s:.1f}s, raw branch {time.perf_counter() - t0:.1f}s", flush=True)


def fused(codes: np.ndarray, raw: np.ndarray, w: float) -> np.ndarray:
    """The ensemble's score at weight w: members' fused scores, each divided by its IQR, averaged."""
    from had_sdk.restarts import training_scale

    members = []
    for c, r in zip(codes, raw):
        s = c / training_scale(c) if w == 0 else (1 - w) * c / training_scale(c) + w * r / training_scale(r)
        members.append(s / training_scale(s))
    return np.mean(members, axis=0)


def table(cache: Path, scenes: list[str], seeds: list[int], out: Path, command: str) -> None:
    from had.metrics import auroc

    rows, invalid = [], []
    rx = {}
    for scene in scenes:
        r = np.load(cache / f"{scene}__rx.npz")
        rx[scene] = auroc(r["y"].astype(bool), r["scores"])
        for seed in seeds:
            run = np.load(cache / f"{scene}__seed{seed}.npz")
            y = run["y"].astype(bool)
            own = auroc(y, run["scores"])
            for w in W_GRID:
                a = auroc(y, fused(run["codes"], run["raw"], w))
                if w == 0 and abs(a - own) > VALID_TOL:
                    invalid.append((scene, seed, a, own))
                rows.append({"scene": scene, "seed": seed, "w": w, "auroc": a, "rx": rx[scene],
                             "fit_s": float(run["fit_s"]), "raw_s": float(run["raw_s"])})
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "dev_table_rows.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()} for row in rows)

    def cellv(scene, seed, w):
        return next(r["auroc"] for r in rows if r["scene"] == scene and r["seed"] == seed and r["w"] == w)

    stats = {}
    for w in W_GRID:
        per_scene = {s: float(np.mean([cellv(s, k, w) for k in seeds])) for s in scenes}
        below = {(s, k) for s in scenes for k in seeds if cellv(s, k, w) < rx[s]}
        stats[w] = {"mean": float(np.mean(list(per_scene.values()))), "per_scene": per_scene, "below": below}
    base = stats[0.0]
    for w in W_GRID:
        st = stats[w]
        st["drop"] = max(base["per_scene"][s] - st["per_scene"][s] for s in scenes)
        st["new_below"] = sorted(st["below"] - base["below"])
        st["eligible"] = (w > 0 and st["mean"] >= base["mean"] + MEAN_GAIN and not st["new_below"]
                          and st["drop"] <= DROP_MAX)
    eligible = [w for w in W_GRID if stats[w]["eligible"]]
    if invalid:
        verdict = f"**No verdict (invalid):** w = 0 differs from the detector's own AUROC on {invalid}"
        choice = None
    elif not eligible:
        verdict, choice = "**No change:** no w > 0 is eligible.", 0.0
    else:
        best = max(stats[w]["mean"] for w in eligible)
        choice = min(w for w in eligible if stats[w]["mean"] >= best - TIE)
        verdict = f"**Choice: w = {choice}** (eligible: {eligible})."
    lines = ["# LREN round 11: development table (rule: rule.md)", "", f"    {command}", "",
             f"Scenes {', '.join(scenes)}; seeds {seeds}. Validity: "
             f"{'passed' if not invalid else 'FAILED'} (w = 0 recomputed from the members equals each fit's own "
             f"AUROC to {VALID_TOL:g} on {len(scenes) * len(seeds) - len(invalid)} of {len(scenes) * len(seeds)}).",
             "", "| w | mean | below RX (of 40) | new below RX | drop | eligible | "
             + " | ".join(scenes) + " |", "|" + "---|" * (6 + len(scenes))]
    for w in W_GRID:
        st = stats[w]
        lines.append(f"| {w} | {st['mean']:.4f} | {len(st['below'])} | {len(st['new_below'])} | {st['drop']:+.4f} | "
                     f"{'yes' if st['eligible'] else 'no'} | "
                     + " | ".join(f"{st['per_scene'][s]:.4f}" for s in scenes) + " |")
    lines.append("| RX | " + f"{np.mean([rx[s] for s in scenes]):.4f} | | | | | "
                 + " | ".join(f"{rx[s]:.4f}" for s in scenes) + " |")
    lines += ["", verdict, "", "Pairs below RX per w: "
              + "; ".join(f"w={w}: " + ", ".join(f"{s}/{k}" for s, k in sorted(stats[w]["below"]))
                          for w in W_GRID),
              "", f"Fit seconds (median per cell): {np.median([r['fit_s'] for r in rows]):.1f}; raw branch "
              f"(6 LRR solves): {np.median([r['raw_s'] for r in rows]):.2f}"]
    (out / "dev_table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/lren11_cache"))
    parser.add_argument("--scenes", nargs="+", default=list(DEV))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--out", type=Path, default=RESULTS / "round11")
    parser.add_argument("--fit-only", action="store_true", help="fit and cache, no table")
    args = parser.parse_args()
    check_scenes(args.scenes)
    fit_all(args.cache, args.scenes, args.seeds)
    if not args.fit_only:
        table(args.cache, args.scenes, args.seeds, args.out, " ".join(["benchmarks/lren_round11_eval.py"]
                                                                        + sys.argv[1:]))


if __name__ == "__main__":
    main()
