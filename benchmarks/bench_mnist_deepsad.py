"""Deep SAD's MNIST tables on the official training set (Ruff et al., ICLR 2020, 4.1 as recalled), with Deep SVDD.

Protocol (``had_images.semisupervised.semisupervised_split``): one digit normal, the nine others anomalies; the
training set is the normal digit's official training images (less the 5 % validation hold-out of the ``mnist``
source) plus labelled anomalies of ONE known anomaly class (gamma_l: their share of the training set; the class a
seeded draw per normal digit) and unlabelled anomalies of all nine classes (gamma_p: their share of the unlabelled
images); AUROC on the 10,000 official test images. Two tables:

* gamma_l in 0, 0.01, 0.05, 0.1, 0.2 at gamma_p = 0;
* gamma_p in 0, 0.01, 0.05, 0.1, 0.2 at gamma_l = 0.05.

In the same loop, Deep SVDD (one-class, labels ignored) is fitted on the same setting without the labelled
anomalies (gamma_l = 0, the same gamma_p): Deep SAD without labels is Deep SVDD, so the gamma_l = 0 entry is that
fit. Known labels follow `had` (1 known anomaly, 0 unlabelled; had-plugin-deepsad converts them to the reference's
semi_target). Preprocessing: pixels / 255 (Deep SAD's ``ToTensor``) unless ``--preprocessing gcn-l1-minmax``.
Recipe: the Deep SAD reference README's MNIST command (lr 1e-4, batch 128, wd 0.5e-6, AE wd 0.5e-3, 150 + 150
epochs, milestone 50, eta 1) with the epochs cut for the CPU (milestones at a third, as bench_mnist_official.py).

With ``--methods ... semidgm`` (issue 17 item 4), SemiDGM (Kingma et al.'s M2, had-plugin-deepsad's ``semidgm``) runs
beside Deep SAD on every setting with labels (the gamma_l table's ratios above 0, the whole gamma_p table at gamma_l =
0.05), with the reference baseline's defaults (``baseline_SemiDGM.py``: lr 1e-3, batch 128, wd 1e-6, alpha 0.1,
the reference's MNIST sizes 784-128-64, z 32) and ``--semidgm-epochs`` epochs (the reference: 50). Its rows keep the
Deep SAD recipe of the run they sit beside in ``epochs`` ... ``batch_size`` and their own epochs in
``semidgm_epochs``.

Writes ``benchmarks/results/deepsad/mnist_deepsad.csv`` (a row after each fit) and ``mnist_deepsad.md``. Usage::

    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_mnist_deepsad.py --epochs 3 --ae-epochs 3
    .venv/bin/python benchmarks/bench_mnist_deepsad.py --summarise
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_deepsad import OUT, _ms  # noqa: E402  (the results folder and the mean ± std cell)
from bench_mnist_official import (  # noqa: E402  (the reference README's MNIST recipe, epochs cut; shared steps)
    fit_scored, recipe, recipe_arguments, run_or_summarise)
from csvlog import read_rows, write_rows  # noqa: E402  (the run log, rewritten after each fit)

import had  # noqa: E402
from had.metrics import auroc  # noqa: E402

CSV = OUT / "mnist_deepsad.csv"
FIELDS = ["table", "digit", "known_class", "seed", "method", "gamma_l", "gamma_p", "auroc", "fit_s", "cpu_s",
          "n_train", "n_known", "n_polluting", "n_test", "epochs", "ae_epochs", "lr", "batch_size", "preprocessing",
          "semidgm_epochs"]
GAMMA_L = [0.0, 0.01, 0.05, 0.1, 0.2]  # at gamma_p = 0
GAMMA_P = [0.0, 0.01, 0.05, 0.1, 0.2]  # at gamma_l = 0.05
GAMMA_L_OF_P_TABLE = 0.05
#: (table, method, gamma_l, gamma_p) in run order: the gamma_l table first, so a stopped run keeps it whole
RUNS = ([("gamma_l", "deepsvdd", 0.0, 0.0)] + [("gamma_l", "deepsad", g, 0.0) for g in GAMMA_L if g > 0]
        + [r for p in GAMMA_P if p > 0
           for r in (("gamma_p", "deepsvdd", 0.0, p), ("gamma_p", "deepsad", GAMMA_L_OF_P_TABLE, p))]
        + [("gamma_l", "semidgm", g, 0.0) for g in GAMMA_L if g > 0]
        + [("gamma_p", "semidgm", GAMMA_L_OF_P_TABLE, p) for p in GAMMA_P if p > 0])
METHODS = ("deepsvdd", "deepsad", "semidgm")
# Deep SAD, ICLR 2020, MNIST (appendix tables, mean ± std over normal classes and seeds), as recalled here:
# unverified, approximate. Deep SVDD is unsupervised: its gamma_l column is one figure.
PAPER_GAMMA_L = {"deepsad": ["92.8 ± 4.9", "96.4 ± 2.7", "96.7 ± 2.4", "96.9 ± 2.3", "96.9 ± 2.4"],
                 "deepsvdd": ["92.8 ± 4.9"] * 5}
PAPER_GAMMA_P = {"deepsad": ["96.7 ± 2.4", "95.5 ± 3.3", "93.5 ± 4.1", "91.2 ± 4.9", "86.6 ± 6.6"],
                 "deepsvdd": ["92.8 ± 4.9"] + ["not recalled"] * 4}


def run_key(row: dict) -> tuple:
    """What identifies a fit: method, digit, seed, ratios, the recipe and SemiDGM's epochs (blank for the others)."""
    return (row["method"], int(row["digit"]), int(row["seed"]), float(row["gamma_l"]), float(row["gamma_p"]),
            int(row["epochs"]), int(row["ae_epochs"]), float(row["lr"]), int(row["batch_size"]), row["preprocessing"],
            str(row.get("semidgm_epochs") or ""))


def recipe_fields(args, method: str) -> dict:
    """The recipe columns of a row: the run's Deep SAD / Deep SVDD recipe, and SemiDGM's epochs on its rows."""
    return {"epochs": args.epochs, "ae_epochs": args.ae_epochs, "lr": args.lr, "batch_size": args.batch_size,
            "preprocessing": args.preprocessing, "semidgm_epochs": args.semidgm_epochs if method == "semidgm" else ""}


def run(args) -> list[dict]:
    from had_images.semisupervised import semisupervised_split

    rows = read_rows(CSV)
    done = {run_key(r) for r in rows}
    base = recipe(args.epochs, args.ae_epochs, args.lr, args.batch_size)
    tables = [t for t in ("gamma_l", "gamma_p") if t in args.tables]
    runs = [r for r in RUNS if r[1] in args.methods
            and (args.gammas is None or (r[2] if r[0] == "gamma_l" else r[3]) in args.gammas)]
    for seed in args.seeds:
        for table in tables:
            for digit in args.digits:
                todo = [r for r in runs if r[0] == table and run_key({"method": r[1], "digit": digit, "seed": seed,
                        "gamma_l": r[2], "gamma_p": r[3], **recipe_fields(args, r[1])}) not in done]
                if not todo:
                    continue
                data = had.load_dataset("mnist", normal_class=digit, train_set="official",
                                        preprocessing=args.preprocessing)
                for _, method, gamma_l, gamma_p in todo:
                    split = semisupervised_split(data, gamma_l, gamma_p, seed=seed)
                    if method == "semidgm":  # the reference baseline's defaults, its own epochs
                        cfg = {"epochs": args.semidgm_epochs, "progress": False}
                    else:
                        cfg = {k: v for k, v in base.items() if method == "deepsvdd" or k != "objective"}
                    a, wall, cpu = fit_scored(method, split, cfg, seed)
                    train = split.train
                    rows.append({"table": table, "digit": digit, "known_class": split.known_anomaly_class,
                                 "seed": seed, "method": method, "gamma_l": gamma_l, "gamma_p": gamma_p, "auroc": a,
                                 "fit_s": wall, "cpu_s": cpu, "n_train": train.X.shape[0],
                                 "n_known": int((train.known == 1).sum()),
                                 "n_polluting": int(((train.known == 0) & (train.y == 1)).sum()),
                                 "n_test": split.test.X.shape[0], **recipe_fields(args, method)})
                    write_rows(CSV, FIELDS, rows)  # after every fit, atomically
                    print(f"{table} digit {digit} (known {split.known_anomaly_class}) seed {seed} {method} "
                          f"gamma_l {gamma_l:g} gamma_p {gamma_p:g}: AUROC {100 * a:.2f}  fit {wall:.0f} s wall, "
                          f"{cpu:.0f} s CPU, {train.X.shape[0]} training images", flush=True)
    return rows


def _recipe_name(key: tuple) -> str:
    epochs, ae_epochs, lr, batch_size, preprocessing = key
    return f"AE {ae_epochs} + {epochs} epochs, lr {lr:g}, batch {batch_size}, preprocessing {preprocessing}"


def _table(rows: list[dict], column: str, paper: dict) -> list[str]:
    """One table: a line per ratio, Deep SVDD and Deep SAD mean ± std over digits, and the recalled figures. A fit
    serves every table it belongs to (Deep SVDD at gamma_p = 0 is also Deep SAD at gamma_l = 0; Deep SAD at
    gamma_l = 0.05, gamma_p = 0 is in both tables)."""
    by = defaultdict(list)
    for r in rows:
        by[(r["method"], float(r["gamma_l"]), float(r["gamma_p"]), str(r.get("semidgm_epochs") or ""))].append(r)
    dgm = sorted({e for m, _, _, e in by if m == "semidgm"}, key=int)
    lines = [f"| {column} | Deep SVDD (had) | Deep SAD (had) | digits | "
             + "".join(f"SemiDGM (had, {e} epochs) | " for e in dgm)
             + "Deep SVDD, paper (recalled) | Deep SAD, paper (recalled) |", "|---|---|---|---|" + "---|" * len(dgm)
             + "---|---|"]
    for i, g in enumerate(GAMMA_L if column == "gamma_l" else GAMMA_P):
        if column == "gamma_l":
            svdd = by[("deepsvdd", 0.0, 0.0, "")]
            sad = svdd if g == 0 else by[("deepsad", g, 0.0, "")]
            semi = [by[("semidgm", g, 0.0, e)] for e in dgm]
        else:
            svdd, sad = by[("deepsvdd", 0.0, g, "")], by[("deepsad", GAMMA_L_OF_P_TABLE, g, "")]
            semi = [by[("semidgm", GAMMA_L_OF_P_TABLE, g, e)] for e in dgm]
        digits = sorted({int(r["digit"]) for r in sad})
        cells = [_ms([float(r["auroc"]) for r in rs]) or "not run" for rs in (svdd, sad)]
        semi_cells = ["no labels" if column == "gamma_l" and g == 0 else
                      (f"{_ms([float(r['auroc']) for r in rs])} ({len(rs)})" if rs else "not run") for rs in semi]
        lines.append(f"| {g:g} | {cells[0]} | {cells[1]} | {len(digits)} | " + "".join(c + " | " for c in semi_cells)
                     + f"{paper['deepsvdd'][i]} | {paper['deepsad'][i]} |")
    return lines


def _per_digit(rows: list[dict]) -> list[str]:
    """AUROC (%) per digit and fit, with the known anomaly class."""
    lines = ["| method | gamma_l | gamma_p | " + " | ".join(str(d) for d in range(10)) + " |",
             "|---|---|---|" + "---|" * 10]
    known = defaultdict(dict)  # digit -> seed -> the known anomaly class drawn for it
    for r in rows:
        known[int(r["digit"])][int(r["seed"])] = str(r["known_class"])
    lines.append("| known anomaly class (by seed) | | | "
                 + " | ".join("/".join(known[d][s] for s in sorted(known[d])) for d in range(10)) + " |")
    seen = []
    def key(r: dict) -> tuple:
        epochs = r.get("semidgm_epochs") or ""
        return (r["method"] + (f" ({epochs} epochs)" if epochs else ""), float(r["gamma_l"]), float(r["gamma_p"]))

    for r in rows:
        if key(r) not in seen:
            seen.append(key(r))
    for method, gl, gp in seen:
        by = defaultdict(list)
        for r in rows:
            if key(r) == (method, gl, gp):
                by[int(r["digit"])].append(float(r["auroc"]))
        lines.append(f"| {method} | {gl:g} | {gp:g} | " + " | ".join(_ms(by[d]) or "-" for d in range(10)) + " |")
    return lines


def summarise(rows: list[dict]) -> str:
    if not rows:
        return "no runs yet"
    recipes = defaultdict(list)
    for r in rows:
        key = (int(r["epochs"]), int(r["ae_epochs"]), float(r["lr"]), int(r["batch_size"]), r["preprocessing"])
        recipes[key].append(r)
    out = ["Deep SAD's MNIST tables on the official training set (one digit normal, the nine others anomalies; "
           "labelled anomalies from ONE known class, drawn per normal digit with the seed; pollution from all nine), "
           "AUROC (%) on the 10,000 official test images, mean ± std over the fits (normal digits x seeds) run. Deep SVDD is fitted "
           "on the same setting without labelled anomalies (gamma_l = 0, same gamma_p); Deep SAD at gamma_l = 0 is "
           "that fit. Paper figures: Deep SAD, ICLR 2020 (150 + 150 epochs; means over its runs), as recalled here, "
           "**unverified**. One torch thread on a shared 2-core machine."]
    for key, mine in recipes.items():
        seeds = sorted({int(r["seed"]) for r in mine})
        out += ["", f"### {_recipe_name(key)}, seeds {', '.join(map(str, seeds))}", "",
                "gamma_l table (gamma_p = 0):", ""] + _table(mine, "gamma_l", PAPER_GAMMA_L)
        out += ["", f"gamma_p table (gamma_l = {GAMMA_L_OF_P_TABLE:g} for Deep SAD; Deep SVDD without labels):", ""]
        out += _table(mine, "gamma_p", PAPER_GAMMA_P)
        out += ["", "Per digit:", ""] + _per_digit(mine)
        sad = [r for r in mine if r["method"] != "semidgm"]
        fit = [float(r["fit_s"]) for r in sad]
        cpu = [float(r["cpu_s"]) for r in sad]
        out += ["", f"Fit {np.mean(fit):.0f} s wall, {np.mean(cpu):.0f} s CPU per fit (Deep SVDD / Deep SAD, mean of "
                f"{len(sad)}); training images {min(int(r['n_train']) for r in mine)}-"
                f"{max(int(r['n_train']) for r in mine)}, test images {mine[0]['n_test']}."]
        for e in sorted({r["semidgm_epochs"] for r in mine if r["method"] == "semidgm"}, key=int):
            semi = [r for r in mine if r["method"] == "semidgm" and r["semidgm_epochs"] == e]
            out.append(f"SemiDGM at {e} epochs: {np.mean([float(r['fit_s']) for r in semi]):.0f} s wall, "
                       f"{np.mean([float(r['cpu_s']) for r in semi]):.0f} s CPU per fit (mean of {len(semi)}).")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    recipe_arguments(ap, epochs=3, batch_size=128)
    ap.add_argument("--tables", nargs="+", default=["gamma_l", "gamma_p"], choices=["gamma_l", "gamma_p"])
    ap.add_argument("--methods", nargs="+", default=["deepsvdd", "deepsad"], choices=METHODS)
    ap.add_argument("--semidgm-epochs", type=int, default=50, help="SemiDGM's epochs (the reference's 50)")
    ap.add_argument("--gammas", nargs="+", type=float, help="only these ratios (gamma_l in its table, gamma_p in "
                    "its table); default all")
    ap.add_argument("--preprocessing", default="none", choices=["none", "gcn-l1-minmax"],
                    help="none: pixels / 255, Deep SAD's; gcn-l1-minmax: Deep SVDD 2018's")
    ap.add_argument("--summarise", action="store_true", help="only rebuild mnist_deepsad.md from the CSV")
    args = ap.parse_args(argv)
    return run_or_summarise(args, CSV, run, summarise, "mnist_deepsad.md")


if __name__ == "__main__":
    sys.exit(main())
