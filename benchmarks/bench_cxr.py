"""Chest X-ray benchmark on PneumoniaMNIST: the CXR methods next to Deep SVDD, a dense autoencoder and IForest.

Protocol (had-plugin-images, ``one_class_split``): fit on the 388 *normal* training images (labels never reach
fit), choose hyper-parameters on the labelled validation part (524 images) by AUROC, report AUROC, AUPRC and EER
on the test part (624 images). Test labels are used for nothing but the reported numbers.

Every method runs on the CPU with one torch thread (the development machine has 2 shared cores); epoch counts
are far below the references' (see EPOCHS, written into the Markdown). Per seed and method, the candidates of
GRID are fitted (or, for K, re-scored without refitting) and the one with the best validation AUROC is reported.

    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_cxr.py            # 3 seeds
    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_cxr.py --quick    # 1 seed, 2 epochs
    ... bench_cxr.py --methods cxr-deepsvdd --cxr-objective soft-boundary --out benchmarks/results/cxr/soft_boundary
    .venv/bin/python benchmarks/bench_cxr.py --from-csv                                # re-tabulate only

Writes ``benchmarks/results/cxr/results.csv`` (one row per method and seed) and ``results.md``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import torch

import had
import had.plugins
from had.metrics import auprc, auroc, eer
from had_images import one_class_split

#: epochs used here (the references': MemDAE 50, RLAD 50 per round x 11 rounds, CXR Deep SVDD 30-50,
#: GAN-GP 650, Deep SVDD 150 + 150 pre-training)
EPOCHS = {
    "memdae": {"epochs": 20},
    "rlad": {"epochs": 3, "ans_select_rate": 0.25},  # 5 rounds (r = 0..4) of 3 epochs
    "cxr-deepsvdd": {"epochs": 15},
    "gan-gp": {"epochs": 15, "lr_decay_epochs": 5},
    "deepsvdd": {"epochs": 30, "ae_epochs": 30},
    "autoencoder": {"epochs": 30, "restarts": 1},
}
#: extra config fixed for the 28x28 CPU runs (widths scaled down)
FIXED = {
    "memdae": {"width": 8, "rep_dim": 32},
    "rlad": {"width": 8, "rep_dim": 32, "w_contrast": 0.25, "w_rec": 1.0},
    "cxr-deepsvdd": {"width": 8, "rep_dim": 32},
    "gan-gp": {"width": 8, "critic_width": 8, "rep_dim": 32},
}
#: validation-selected candidates: "k" is re-scored on each fitted model; every other entry is a refit. With
#: 10-40x fewer epochs than the references, their lr 1e-4 barely trains (measured on MNIST digit 0, not on
#: PneumoniaMNIST: CXR Deep SVDD 10 epochs, w_svdd 1: test AUROC 0.73 at lr 1e-4, 0.85 at 1e-3), so a larger
#: lr is a candidate next to the reference's, and the validation part decides.
K_GRID = [1, 5, 10, 50, 100]
GRID = {
    "memdae": [{"lr": 1e-4}, {"lr": 1e-3}],
    "rlad": [{"lr": 1e-4}, {"lr": 1e-3}],
    "cxr-deepsvdd": [{"w_svdd": a, "w_rec": b, "lr": lr} for a, b in ((0.5, 0.5), (0.9, 0.1)) for lr in (1e-4, 1e-3)],
    "gan-gp": [{"lr": 1e-4}, {"lr": 5e-4}],
}
QUICK = {"epochs": 2, "ae_epochs": 2}


def _iforest_name() -> str | None:
    names = had.plugins.names("detector")
    return next((n for n in ("iforest", "pyod-iforest") if n in names), None)


def _flat(X: np.ndarray) -> np.ndarray:
    return X.reshape(X.shape[0], -1).astype(np.float64)


def _metrics(y, scores) -> dict[str, float]:
    return {"auroc": auroc(y, scores), "auprc": auprc(y, scores), "eer": eer(y, scores)}


def run_had(name, config, train, val, test, flat=False):
    """Fit candidates, pick on validation AUROC; returns the row for the chosen one."""
    prep = _flat if flat else (lambda X: X)
    best = None
    total = 0.0
    for extra in GRID.get(name, [{}]):
        det = had.get_detector(name, {**config, **extra})
        t0 = time.perf_counter()
        det.fit(prep(train.X))
        fit_s = time.perf_counter() - t0
        total += fit_s
        options = [(extra, None)]
        if hasattr(det, "set_k"):
            options = [({**extra, "k": k}, k) for k in K_GRID]
        for chosen, k in options:
            if k is not None:
                det.set_k(k, prep(train.X))
            v = auroc(val.y, det.decision_function(prep(val.X)))
            if best is None or v > best["val_auroc"]:
                best = {"val_auroc": v, "chosen": chosen, "fit_s": fit_s,
                        **_metrics(test.y, det.decision_function(prep(test.X)))}
    best["select_s"] = total
    return best


def run_pyod_iforest(seed, train, val, test):
    from pyod.models.iforest import IForest

    t0 = time.perf_counter()
    model = IForest(random_state=seed).fit(_flat(train.X))
    fit_s = time.perf_counter() - t0
    return {"val_auroc": auroc(val.y, model.decision_function(_flat(val.X))), "chosen": {"via": "pyod"},
            "fit_s": fit_s, "select_s": fit_s, **_metrics(test.y, model.decision_function(_flat(test.X)))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument("--quick", action="store_true", help="1 seed, 2 epochs: a smoke run")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "cxr"))
    parser.add_argument("--from-csv", action="store_true", help="rewrite results.md from OUT/results.csv, no runs")
    parser.add_argument("--cxr-objective", choices=["one-class", "soft-boundary"], default="one-class",
                        help="cxr-deepsvdd's objective (soft-boundary: nu 0.1, 10 warm-up epochs, the reference's)")
    parser.add_argument("--cxr-score", choices=["distance", "objective"], default="distance",
                        help="cxr-deepsvdd's score (distance: ||code - c||^2, the reference's and the results "
                             "table's; objective: each image's loss, the detector's default since 1 December "
                             "2026, tested in benchmarks/cxr_deepsvdd_diagnosis.py)")
    parser.add_argument("--gangp-ssim", choices=["signed", "unit"], default="signed",
                        help="gan-gp's ssim_range (signed: SSIM of the [-1, 1] input, the reference's; unit: of "
                             "[0, 1])")
    args = parser.parse_args(argv)
    FIXED["cxr-deepsvdd"]["objective"] = args.cxr_objective
    # pinned: the detector's default became score="objective" after the table was measured, so an unpinned rerun
    # no longer gave the table's row (seed 0: val 0.7251 / test 0.4808 for the table's 0.6349 / 0.5476)
    FIXED["cxr-deepsvdd"]["score"] = args.cxr_score
    FIXED["gan-gp"]["ssim_range"] = args.gangp_ssim
    out = Path(args.out)
    if args.from_csv:
        rows = read_csv(out / "results.csv")
        seeds = sorted({r["seed"] for r in rows})
        table = summary(rows)
        print(table)
        (out / "results.md").write_text(markdown(table, seeds, False))
        return 0
    torch.set_num_threads(1)
    seeds = [args.seeds[0]] if args.quick else args.seeds
    train, val, test = one_class_split(had.load_dataset("pneumoniamnist"))
    print(f"train {train.describe()}; val {val.describe()}; test {test.describe()}", file=sys.stderr)
    available = set(had.plugins.names("detector"))
    iforest = _iforest_name()
    methods = args.methods or ["memdae", "rlad", "cxr-deepsvdd", "gan-gp", "deepsvdd", "autoencoder", "iforest"]
    rows = []
    for seed in seeds:
        for method in methods:
            base = {"seed": seed, "progress": False, "device": "cpu"}
            try:
                if method == "iforest":
                    if iforest:
                        row = run_had(iforest, {"seed": seed}, train, val, test, flat=True)
                        row["chosen"] = {"via": iforest}
                    else:
                        row = run_pyod_iforest(seed, train, val, test)
                elif method not in available:
                    print(f"[cxr] {method}: not installed, skipped", file=sys.stderr)
                    continue
                else:
                    cfg = {**base, **FIXED.get(method, {}), **EPOCHS.get(method, {})}
                    if args.quick:
                        cfg.update({k: v for k, v in QUICK.items() if k in cfg})
                    row = run_had(method, cfg, train, val, test, flat=(method == "autoencoder"))
            except had.HadError as exc:
                print(f"[cxr] {method} seed {seed}: {exc}", file=sys.stderr)
                continue
            row = {"method": method, "seed": seed, **row}
            rows.append(row)
            print(f"[cxr] {method:13s} seed {seed}: val {row['val_auroc']:.4f} test AUROC {row['auroc']:.4f} "
                  f"AUPRC {row['auprc']:.4f} EER {row['eer']:.4f} fit {row['fit_s']:.1f}s {row['chosen']}",
                  file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    cols = ["method", "seed", "val_auroc", "auroc", "auprc", "eer", "fit_s", "select_s", "chosen"]
    with open(out / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: (f"{row[c]:.6f}" if isinstance(row[c], float) else row[c]) for c in cols})
    table = summary(rows)
    print(table)
    (out / "results.md").write_text(markdown(table, seeds, args.quick))
    return 0


def read_csv(path: Path) -> list[dict]:
    """Rows of a results.csv written by this script (numbers as floats, seed as int)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["seed"] = int(row["seed"])
        for key in ("val_auroc", "auroc", "auprc", "eer", "fit_s", "select_s"):
            row[key] = float(row[key])
    return rows


def summary(rows) -> str:
    """Mean ± std per method, and how the test AUROC compares with IForest's on the same seed."""
    forest = {r["seed"]: r["auroc"] for r in rows if r["method"] == "iforest"}
    lines = ["| method | seeds | val AUROC | test AUROC | test AUPRC | test EER | test AUROC > IForest (seeds) "
             "| fit s (chosen) | fit s (all candidates) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for method in dict.fromkeys(r["method"] for r in rows):
        rs = [r for r in rows if r["method"] == method]

        def ms(key, digits=4):
            v = np.array([r[key] for r in rs], dtype=float)
            return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}"

        paired = [r for r in rs if r["seed"] in forest]
        wins = "-" if method == "iforest" or not paired else \
            f"{sum(r['auroc'] > forest[r['seed']] for r in paired)}/{len(paired)}"
        lines.append(f"| {method} | {len(rs)} | {ms('val_auroc')} | {ms('auroc')} | {ms('auprc')} | {ms('eer')} | "
                     f"{wins} | {ms('fit_s', 1)} | {ms('select_s', 1)} |")
    return "\n".join(lines)


def markdown(table: str, seeds, quick: bool) -> str:
    epochs = "; ".join(f"{m}: {', '.join(f'{k}={v}' for k, v in e.items())}" for m, e in EPOCHS.items())
    return (
        "# Chest X-ray benchmark on PneumoniaMNIST (CPU)\n\n"
        f"Seeds {list(seeds)}{' (QUICK smoke run: 2 epochs)' if quick else ''}. One-class protocol: fit on the "
        "388 normal training images, choose on validation AUROC (524 images), report on test (624 images, "
        "390 pneumonia). Mean ± std over seeds. EER: had.metrics.eer. Fit time on one CPU thread of a shared "
        "2-core machine.\n\n" + table + "\n\n"
        f"Epochs (reduced for the CPU): {epochs}. Fixed sizes: {FIXED}. Validation-selected: K in {K_GRID} for "
        f"memdae/rlad (re-scored, no refit); {GRID}. autoencoder, deepsvdd-from-deepsad and IForest use "
        "flattened pixels / the plugin's default MNIST LeNet. Std is the population std over seeds.\n"
    )


if __name__ == "__main__":
    sys.exit(main())
