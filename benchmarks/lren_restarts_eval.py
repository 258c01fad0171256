"""LREN second design round, step 2: evaluate the levers on the saved study runs, without further training.

Reads the npz files of ``benchmarks/lren_restarts_study.py`` (development scenes only) and writes one CSV row per
(setting, scene, seed-combination) and a summary table of the mean AUROC per setting (over the 8 scenes and every
seed or seed combination), with the cost of each setting in training epochs:

* ``single``: one run stopped at a checkpoint epoch (the frozen default is ``single`` at 200 epochs);
* ``restarts``: k runs (every combination of k of the saved seeds) at one checkpoint, each run's scores
  standardised by its own training scores (``iqr``: median / interquartile range, as ``had_sdk.restarts`` does;
  ``std``: mean / standard deviation), then averaged;
* ``stop``: one run stopped by a label-free collapse rule read off the diagnostics (``least-collapsed``: the
  checkpoint whose mixture has the largest smallest-to-largest eigenvalue ratio; ``ratio-halved``: the last
  checkpoint before that ratio falls below half its running maximum);
* ``lambda``: one run at a checkpoint with another LRR lambda, the low-rank stage recomputed on the saved codes.

Score ``lrr`` is what the default reports (the closed form); ``rx-latent`` (RX on the codes) is for reference.

    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/lren_restarts_eval.py --study /tmp/lren4_study
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
from collections import defaultdict
from pathlib import Path

import numpy as np

from lren_dev import DEV

OUT = Path(__file__).resolve().parent / "results" / "lren" / "round2"
#: one member's dictionary, ADMM solve and closed form in epochs of training (choice_log.md, second round)
LRR_EPOCHS = 10
#: the most a setting may cost, in epoch-equivalents: k x (epochs + LRR_EPOCHS)
BUDGET = 300


def standardise(scores: np.ndarray, how: str) -> np.ndarray:
    s = scores.astype(np.float64)
    if how == "iqr":
        q25, med, q75 = np.quantile(s, [0.25, 0.5, 0.75])
        scale = q75 - q25
        return (s - med) / (scale if scale > 0 else 1.0)
    scale = s.std()
    return (s - s.mean()) / (scale if scale > 0 else 1.0)


def stop_epoch(diag: np.ndarray, checkpoints: list[int], rule: str) -> int:
    """The checkpoint a label-free collapse rule stops at (diag rows: epoch, eig min, eig max, ratio, latent)."""
    epochs, ratio = diag[:, 0].astype(int), diag[:, 3]
    if rule == "least-collapsed":
        keep = np.isin(epochs, checkpoints)
        return int(epochs[keep][np.argmax(ratio[keep])])
    running = np.maximum.accumulate(ratio)
    below = np.flatnonzero(ratio < 0.5 * running)
    stop = epochs[below[0]] if below.size else epochs[-1]
    eligible = [c for c in checkpoints if c <= stop]
    return int(eligible[-1]) if eligible else int(min(checkpoints))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--study", type=Path, default=Path("/tmp/lren4_study"))
    parser.add_argument("--scenes", nargs="+", default=list(DEV))
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--budget", type=int, default=330, help="training epochs in total across restarts shown")
    parser.add_argument("--max-k", type=int, default=3)
    parser.add_argument("--lambdas", nargs="*", type=float, default=[])
    parser.add_argument("--lambda-epochs", nargs="*", type=int, default=[200])
    parser.add_argument("--suffix", default="", help="added to the output names (partial runs)")
    parser.add_argument("--rows", type=Path, default=None, help="summarise these rows too (an earlier run's CSV)")
    args = parser.parse_args()

    import had
    from had.metrics import auroc

    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for scene in [s for s in DEV if s in args.scenes]:
        files = sorted(args.study.glob(f"{scene}__seed*.npz"))
        if not files:
            continue
        y = np.asarray(had.load_dataset(scene).y).reshape(-1).astype(bool)
        runs = {int(f.stem.split("seed")[1]): dict(np.load(f)) for f in files}
        runs = {s: r for s, r in runs.items() if "failed" not in r}
        seeds = sorted(runs)
        checkpoints = [int(c) for c in next(iter(runs.values()))["checkpoints"]]

        def add(setting, score, epochs, members, value):
            cost = len(members) * (epochs // len(members) + LRR_EPOCHS)
            rows.append(dict(setting=setting, score=score, epochs=epochs, cost=cost, scene=scene,
                             members=" ".join(map(str, members)), auroc=value))

        for e in checkpoints:
            for score in ("lrr", "rx"):
                for s in seeds:
                    add(f"single@{e}", score, e, [s], auroc(y, runs[s][f"e{e}_{score}"]))
                for k in range(2, args.max_k + 1):
                    if k * e > args.budget:
                        continue
                    for how in ("iqr", "std"):
                        z = {s: standardise(runs[s][f"e{e}_{score}"], how) for s in seeds}
                        for combo in itertools.combinations(seeds, k):
                            add(f"restarts{k}x{e}/{how}", score, k * e, combo,
                                auroc(y, np.mean([z[s] for s in combo], axis=0)))
        for rule in ("least-collapsed", "ratio-halved"):
            for s in seeds:
                e = stop_epoch(runs[s]["diag"], checkpoints, rule)
                for score in ("lrr", "rx"):
                    add(f"stop:{rule}", score, e, [s], auroc(y, runs[s][f"e{e}_{score}"]))
        if args.lambdas:
            from had_lren import lrr as L
            import had_lren  # noqa: F401

            for lam in args.lambdas:
                for e in args.lambda_epochs:
                    for s in seeds:
                        det = had.get_detector("lren", lrr_lambda=lam)
                        S, result = det.low_rank_stage(runs[s][f"e{e}_z"], runs[s][f"e{e}_gamma"])
                        rule = L.out_of_sample_rule(S[det.atoms_].T, result.X, lam)
                        add(f"lambda{lam:g}@{e}", "lrr", e, [s], auroc(y, L.out_of_sample_scores(S, rule)))
        print(f"{scene}: {len(seeds)} seeds", flush=True)

    name = ("dev_table_rows_lambda" if args.lambdas else "dev_table_rows") + args.suffix + ".csv"
    with (args.out / name).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in r.items()})
    if args.rows is not None:
        with args.rows.open() as f:
            rows += [dict(r, epochs=int(r["epochs"]), cost=int(r["cost"]), auroc=float(r["auroc"]))
                     for r in csv.DictReader(f)]
    summary(rows, args.out / (("dev_table_lambda" if args.lambdas else "dev_table") + args.suffix + ".md"))


def summary(rows: list[dict], path: Path) -> None:
    """Mean AUROC per (setting, score) over the 8 scenes and all seeds/combinations; per-scene means beside."""
    groups: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    cost: dict[tuple, list[int]] = defaultdict(list)
    for r in rows:
        key = (r["setting"], r["score"])
        groups[key][r["scene"]].append(r["auroc"])
        cost[key].append(r["cost"])
    scenes = [s for s in DEV if any(s in g for g in groups.values())]
    lines = ["| setting | score | cost (mean) | eligible | mean AUROC | mean max-min over seeds/combinations | "
             + " | ".join(scenes) + " |", "|---|---|---|---|---|---|" + "---|" * len(scenes)]
    order = sorted(groups, key=lambda k: (k[1], -np.mean([v for vs in groups[k].values() for v in vs])))
    for key in order:
        per_scene = groups[key]
        values = [v for vs in per_scene.values() for v in vs]
        spread = np.mean([np.max(v) - np.min(v) for v in per_scene.values()])
        eligible = "yes" if max(cost[key]) <= BUDGET else "no"
        lines.append(f"| {key[0]} | {key[1]} | {np.mean(cost[key]):.0f} | {eligible} | {np.mean(values):.4f} | {spread:.4f} | "
                     + " | ".join(f"{np.mean(per_scene[s]):.4f}" if s in per_scene else "" for s in scenes) + " |")
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
