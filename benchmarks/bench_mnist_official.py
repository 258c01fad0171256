"""Deep SVDD one-class on MNIST as the papers ran it: the official training set, Deep SVDD 2018's preprocessing.

Protocol (Ruff et al., ICML 2018; the reference Deep-SVDD-PyTorch ``src/datasets/mnist.py``): one digit normal,
the other nine anomalies; fit on every official training image of the normal digit (about 6,000; no labels),
AUROC on the 10,000 official test images. Preprocessing: global contrast normalisation with the l1 norm, then
min-max scaling by the normal digit's training images (``had-plugin-images``: ``mnist`` with
``train_set="official"``, ``preprocessing="gcn-l1-minmax"``; the computed ranges equal the constants the
reference hard-codes).

Deep SVDD (one-class objective, mnist LeNet) with the reference README's MNIST recipe: Adam lr 1e-4, batch 200,
weight decay 0.5e-6, lr x 0.1 after the milestone; autoencoder pretraining lr 1e-4, batch 200, weight decay
0.5e-3. The reference trains 150 + 150 epochs with the milestone at 50; ``--epochs`` / ``--ae-epochs`` cut them for
the CPU and the milestones keep the reference's place (one third of the run).

Writes ``benchmarks/results/deepsad/mnist_official.csv`` (one row per fit, written after each) and
``mnist_official.md``. Usage::

    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_mnist_official.py --epochs 30 --ae-epochs 30
    .venv/bin/python benchmarks/bench_mnist_official.py --summarise
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_deepsad import OUT, PAPER_MNIST, _ms  # noqa: E402  (the helpers and the recalled paper figures)
from csvlog import read_rows, write_rows  # noqa: E402  (the run log, rewritten after each fit)

import had  # noqa: E402
from had.atomic import write_bytes  # noqa: E402
from had.metrics import auroc  # noqa: E402

CSV = OUT / "mnist_official.csv"
FIELDS = ["digit", "seed", "auroc", "fit_s", "cpu_s", "n_train", "n_test", "epochs", "ae_epochs", "lr", "batch_size",
          "gcn_lo", "gcn_hi"]
REFERENCE_EPOCHS = 150  # both phases, milestone at 50 (the reference README's MNIST command)


def recipe(epochs: int, ae_epochs: int, lr: float = 1e-4, batch_size: int = 200) -> dict:
    """The reference README's MNIST recipe with the epochs given (lr and batch size as given, both phases);
    milestones at a third of each phase."""
    return {"objective": "one-class", "net": "mnist_lenet", "lr": lr, "batch_size": batch_size, "weight_decay": 0.5e-6,
            "epochs": epochs, "lr_milestones": [max(1, round(epochs / 3))],
            "ae_lr": lr, "ae_batch_size": batch_size, "ae_weight_decay": 0.5e-3, "ae_epochs": ae_epochs,
            "ae_lr_milestones": [max(1, round(ae_epochs / 3))], "progress": False}


def fit_scored(method: str, split, cfg: dict, seed: int) -> tuple[float, float, float]:
    """Fit `method` on the split's training set (with its known labels where the detector uses them) ->
    (AUROC on the test set, fit wall s, fit CPU s)."""
    det = had.get_detector(method, {**cfg, "seed": seed})
    c0, t0 = time.process_time(), time.perf_counter()
    det.fit(split.train.X, split.train.known if det.uses_labels else None)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    return auroc(split.test.y, det.decision_function(split.test.X)), wall, cpu


def recipe_arguments(ap: argparse.ArgumentParser, epochs: int, batch_size: int) -> None:
    """The MNIST benchmarks' shared options: digits, seeds, the recipe's epochs / lr / batch size, threads."""
    ap.add_argument("--digits", type=int, nargs="+", default=list(range(10)))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--epochs", type=int, default=epochs, help=f"training epochs (reference {REFERENCE_EPOCHS})")
    ap.add_argument("--ae-epochs", type=int, default=epochs, help=f"autoencoder epochs (reference {REFERENCE_EPOCHS})")
    ap.add_argument("--lr", type=float, default=1e-4, help="Adam lr of both phases (reference 1e-4)")
    ap.add_argument("--batch-size", type=int, default=batch_size, help=f"both phases (reference {batch_size})")
    ap.add_argument("--threads", type=int, default=1)


def run_or_summarise(args: argparse.Namespace, csv_path: Path, run, summarise, md_name: str) -> int:
    """``--summarise``: rebuild `md_name` from the CSV; otherwise run (one torch thread unless told), then rebuild."""
    OUT.mkdir(parents=True, exist_ok=True)
    if args.summarise:
        rows = read_rows(csv_path)
    else:
        import torch

        torch.set_num_threads(args.threads)
        rows = run(args)
    text = summarise(rows)
    write_bytes(OUT / md_name, text + "\n")
    print(text)
    return 0


def run_key(row: dict) -> tuple:
    """(ae_epochs, epochs, lr, batch_size): the recipe a row was run with."""
    return int(row["ae_epochs"]), int(row["epochs"]), float(row["lr"]), int(row["batch_size"])


def run(digits: list[int], seeds: list[int], epochs: int, ae_epochs: int, lr: float, batch_size: int) -> list[dict]:
    from had_images.oneclass import one_class_split

    rows = read_rows(CSV)
    done = {run_key(r) + (int(r["digit"]), int(r["seed"])) for r in rows}
    for seed in seeds:
        for digit in digits:
            if (ae_epochs, epochs, lr, batch_size, digit, seed) in done:
                continue
            data = had.load_dataset("mnist", normal_class=digit, train_set="official", preprocessing="gcn-l1-minmax")
            split = one_class_split(data)
            a, wall, cpu = fit_scored("deepsvdd", split, recipe(epochs, ae_epochs, lr, batch_size), seed)
            lo, hi = data.meta["gcn_min_max"]
            rows.append({"digit": digit, "seed": seed, "auroc": a, "fit_s": wall, "cpu_s": cpu,
                         "n_train": split.train.X.shape[0], "n_test": split.test.X.shape[0], "epochs": epochs,
                         "ae_epochs": ae_epochs, "lr": lr, "batch_size": batch_size, "gcn_lo": lo, "gcn_hi": hi})
            write_rows(CSV, FIELDS, rows)  # after every fit, atomically
            print(f"digit {digit} seed {seed}: AUROC {100 * a:.2f}  fit {wall:.0f} s wall, {cpu:.0f} s CPU, "
                  f"{split.train.X.shape[0]} training images", flush=True)
    return rows


def summarise(rows: list[dict]) -> str:
    if not rows:
        return "no runs yet"
    runs = sorted({run_key(r) for r in rows})
    table = ["| digit | " + " | ".join(str(d) for d in range(10)) + " | mean |", "|---|" + "---|" * 11]
    notes = []
    for key in runs:
        ae_epochs, epochs, lr, batch_size = key
        by = defaultdict(list)
        mine = [r for r in rows if run_key(r) == key]
        for r in mine:
            by[int(r["digit"])].append(float(r["auroc"]))
        cells = [_ms(by[d]) if by[d] else "not run" for d in range(10)]
        mean = f"{100 * np.mean([np.mean(by[d]) for d in range(10)]):.1f}" if all(by[d] for d in range(10)) else "n/a"
        seeds = sorted({int(r["seed"]) for r in mine})
        table.append(f"| Deep SVDD (had), AE {ae_epochs} + {epochs} epochs, lr {lr:g}, batch {batch_size}, "
                     f"seeds {', '.join(map(str, seeds))} | "
                     + " | ".join(cells) + f" | {mean} |")
        fit = [float(r["fit_s"]) for r in mine]
        cpu = [float(r["cpu_s"]) for r in mine]
        notes.append(f"AE {ae_epochs} + {epochs} epochs, lr {lr:g}, batch {batch_size}: fit {np.mean(fit):.0f} s wall, {np.mean(cpu):.0f} s CPU per "
                     f"digit (mean of {len(mine)}), training images {min(int(r['n_train']) for r in mine)}-"
                     f"{max(int(r['n_train']) for r in mine)}, test images {mine[0]['n_test']}.")
    table.append("| Deep SVDD, ICML 2018 (recalled, unverified) | " + " | ".join(str(v) for v in PAPER_MNIST)
                 + f" | {np.mean(PAPER_MNIST):.1f} |")
    head = ("Deep SVDD (one-class, mnist LeNet) on the official MNIST: fit on the normal digit's official training "
            "images, AUROC (%) on the 10,000 official test images (mean ± std over seeds where more than one). "
            "Preprocessing GCN (l1) + min-max by the normal digit's training range (Deep SVDD 2018). Recipe: the "
            f"reference README's MNIST command (lr 1e-4, batch 200, wd 0.5e-6, AE wd 0.5e-3, {REFERENCE_EPOCHS} + "
            f"{REFERENCE_EPOCHS} epochs, milestone at a third) with the epochs, lr and batch size of each row. One "
            "torch thread on a shared 2-core machine.")
    return head + "\n\n" + "\n".join(table) + "\n\n" + "\n".join(notes)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    recipe_arguments(ap, epochs=30, batch_size=200)
    ap.add_argument("--summarise", action="store_true", help="only rebuild mnist_official.md from the CSV")
    args = ap.parse_args(argv)
    return run_or_summarise(args, CSV, lambda a: run(a.digits, a.seeds, a.epochs, a.ae_epochs, a.lr, a.batch_size),
                            summarise, "mnist_official.md")


if __name__ == "__main__":
    sys.exit(main())
