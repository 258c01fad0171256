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

import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lren_round10_eval import cell, start_cache, study_main, write_dev_table  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "lren"
W_GRID = (0.0, 0.25, 0.5)
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
    from had import load_dataset

    for scene in scenes:
        start_cache(cache, scene)
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


def rule_lines(au: dict, rx: dict, scenes: list[str], seeds: list[int], grid: tuple, base, name: str,
               invalid: list, cost=None) -> list[str]:
    """The rounds' rule (round11/rule.md, round12/rule.md) on AUROCs ``au[scene, seed, candidate]`` against RX's
    ``rx[scene]``, `base` the default's candidate: the table's lines, its verdict and the pairs below RX. Eligible:
    mean >= base's + MEAN_GAIN, no pair below RX that is not below at `base`, no scene's seed mean more than
    DROP_MAX below base's; the choice: the largest mean (ties within TIE to the smaller candidate, or to the one of
    smallest ``cost(candidate)``)."""
    stats = {}
    for c in grid:
        per_scene = {s: float(np.mean([au[s, n, c] for n in seeds])) for s in scenes}
        below = {(s, n) for s in scenes for n in seeds if au[s, n, c] < rx[s]}
        stats[c] = {"mean": float(np.mean(list(per_scene.values()))), "per_scene": per_scene, "below": below}
    for c in grid:
        st = stats[c]
        st["drop"] = max(stats[base]["per_scene"][s] - st["per_scene"][s] for s in scenes)
        st["new_below"] = sorted(st["below"] - stats[base]["below"])
        st["eligible"] = (c != base and st["mean"] >= stats[base]["mean"] + MEAN_GAIN and not st["new_below"]
                          and st["drop"] <= DROP_MAX)
    eligible = [c for c in grid if stats[c]["eligible"]]
    if invalid:
        verdict = f"**No verdict (invalid):** {name} = {base} differs from the detector's own AUROC on {invalid}"
    elif not eligible:
        verdict = f"**No change:** no {name} other than {base} is eligible."
    else:
        best = max(stats[c]["mean"] for c in eligible)
        verdict = (f"**Choice: {name} = {min((c for c in eligible if stats[c]['mean'] >= best - TIE), key=cost)}** "
                   f"(eligible: {eligible}).")
    n = len(scenes) * len(seeds)
    lines = [f"| {name} | mean | below RX (of {n}) | new below RX | drop | eligible | " + " | ".join(scenes) + " |",
             "|" + "---|" * (6 + len(scenes))]
    for c in grid:
        st = stats[c]
        lines.append(f"| {c} | {st['mean']:.4f} | {len(st['below'])} | {len(st['new_below'])} | {st['drop']:+.4f} | "
                     f"{'yes' if st['eligible'] else 'no'} | "
                     + " | ".join(f"{st['per_scene'][s]:.4f}" for s in scenes) + " |")
    lines.append("| RX | " + f"{np.mean([rx[s] for s in scenes]):.4f} | | | | | "
                 + " | ".join(f"{rx[s]:.4f}" for s in scenes) + " |")
    return lines + ["", verdict, "", f"Pairs below RX per {name}: "
                    + "; ".join(f"{name}={c}: " + ", ".join(f"{s}/{n}" for s, n in sorted(stats[c]["below"]))
                                for c in grid)]


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

    au = {(r["scene"], r["seed"], r["w"]): r["auroc"] for r in rows}
    n = len(scenes) * len(seeds)
    lines = ["# LREN round 11: development table (rule: rule.md)", "", f"    {command}", "",
             f"Scenes {', '.join(scenes)}; seeds {seeds}. Validity: "
             f"{'passed' if not invalid else 'FAILED'} (w = 0 recomputed from the members equals each fit's own "
             f"AUROC to {VALID_TOL:g} on {n - len(invalid)} of {n}).", ""]
    lines += rule_lines(au, rx, scenes, seeds, W_GRID, 0.0, "w", invalid)
    lines += ["", f"Fit seconds (median per cell): {np.median([r['fit_s'] for r in rows]):.1f}; raw branch "
              f"(6 LRR solves): {np.median([r['raw_s'] for r in rows]):.2f}"]
    write_dev_table(out, lines)


def main() -> None:
    study_main(__doc__, Path("/tmp/lren11_cache"), RESULTS / "round11", fit_all, table, "lren_round11_eval.py")


if __name__ == "__main__":
    main()
