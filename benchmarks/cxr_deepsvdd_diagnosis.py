"""Why CXR Deep SVDD scores at chance on PneumoniaMNIST: one change at a time, judged on the validation part only.

Every variant is the benchmark's setting (``bench_cxr.py``: width 8, codes of 32, 15 epochs, 28x28, one torch
thread, fit on the 388 normal training images) with one field changed. Reported per variant and seed: the
validation AUROC (524 labelled images: the only labels used to choose), and label-free diagnostics of the fitted
model: the spread of the validation scores (std / mean, ~0 when every image is mapped to the centre), the norm
of the head's weight against its bias (the head ``code = W pool(features) + b`` can ignore the image with
``W -> 0, b -> c``; the decoder reconstructs from the feature map, not from the code, so the L1 term does not
prevent it), the share of the centre's coordinates set to +-eps, the epoch kept by the held-out loss, and the validation
AUROC of the same network's L1 reconstruction error (does the trunk see pneumonia at all?) and of its per-image
training loss ``w_svdd * score + w_rec * L1`` (what ``score="objective"`` deploys), and the Spearman correlation
of the distance with each validation image's pixel standard deviation (its contrast; no labels).

    B="HAD_DATA_DIR=../shared/data nice -n 10 .venv/bin/python -W ignore benchmarks/cxr_deepsvdd_diagnosis.py"
    $B --seeds 0 1 2                     # every variant: benchmarks/results/cxr/diagnosis/diagnosis.csv + .md
    $B --seeds 1 2 --variants NAME ...   # more seeds for some variants
    $B --seeds 0 1 2 --test NAME         # test AUROC of one variant, once its choice is frozen (test.csv, test.md)

Rows are appended as they finish (an interrupted run keeps them; finished rows are skipped on a rerun).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

import had
from had.metrics import auroc
from had_images import one_class_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from csvlog import append_row, read_rows  # noqa: E402  (the run log shared by the benchmarks)

OUT = Path(__file__).resolve().parent / "results" / "cxr" / "diagnosis"
#: the benchmark's cxr-deepsvdd setting, with the learning rate and weights its validation choice picked most
#: often (lr 1e-3; w_svdd, w_rec 0.5, 0.5 and 0.9, 0.1 were picked equally often)
BASE = {"width": 8, "rep_dim": 32, "epochs": 15, "lr": 1e-3, "w_svdd": 0.5, "w_rec": 0.5, "head_bias": True,
        "score": "distance", "progress": False, "device": "cpu"}
#: variant name -> the fields it changes (one question each)
VARIANTS = {
    "reference": {},
    "lr 1e-4 (the reference's)": {"lr": 1e-4},
    "soft-boundary": {"objective": "soft-boundary"},
    "no head bias": {"head_bias": False},
    "no head bias, w_svdd 0.9": {"head_bias": False, "w_svdd": 0.9, "w_rec": 0.1},
    "no head bias, lr 1e-4": {"head_bias": False, "lr": 1e-4},
    "no head bias, soft-boundary": {"head_bias": False, "objective": "soft-boundary"},
    "no head bias, pretrain 10": {"head_bias": False, "pretrain_epochs": 10},
    "pure Deep SVDD (w_rec 0), no head bias": {"head_bias": False, "w_svdd": 1.0, "w_rec": 0.0},
    "eps 0.01": {"eps": 0.01},
    "pretrain 10 epochs (c after L1 pretraining)": {"pretrain_epochs": 10},
    "imagenet normalisation": {"normalization": "imagenet"},
    "last epoch (no held-out selection)": {"validation_fraction": 0.0},
    "width 16": {"width": 16},
    "random network (1 epoch at lr 1e-9)": {"epochs": 1, "lr": 1e-9},
    "50 epochs (the reference's length)": {"epochs": 50},
    "isize 64 (images upsampled in the graph)": {"isize": 64},
    "score = per-image loss (the fix)": {"score": "objective"},
}
FIELDS = ["variant", "seed", "val_auroc", "test_auroc", "rec_val_auroc", "loss_val_auroc", "dist_contrast_rho", "score_cv", "head_w_norm", "head_b_norm",
          "c_at_eps", "best_epoch", "fit_s"]


def diagnose(name: str, seed: int, train, val, test=None) -> dict:
    cfg = {**BASE, **VARIANTS[name], "seed": seed}
    det = had.get_detector("cxr-deepsvdd", cfg)
    t0 = time.perf_counter()
    det.fit(train.X)
    fit_s = time.perf_counter() - t0
    val_scores = det.decision_function(val.X)
    det.model_.eval()
    with torch.no_grad():  # the same network's L1 reconstruction error as a score: does the trunk see pneumonia?
        x = det.preprocessing_(torch.from_numpy(np.asarray(val.X, np.float32)))
        rec = det.network_.ae(x)[1]
        rec_scores = (rec - x).abs().flatten(1).sum(dim=1).numpy()
    chosen, det.config.score = det.config.score, "distance"  # the same network scored by the distance alone
    dist_scores = det.decision_function(val.X)
    det.config.score = chosen
    contrast = np.asarray(val.X, np.float64).reshape(len(val.X), -1).std(axis=1)  # each image's pixel std
    fc = det.network_.ae.fc
    c = det.network_.c
    return {"variant": name, "seed": seed, "val_auroc": auroc(val.y, val_scores),
            "test_auroc": auroc(test.y, det.decision_function(test.X)) if test is not None else "",
            "rec_val_auroc": auroc(val.y, rec_scores),
            "loss_val_auroc": auroc(val.y, det.config.w_svdd * val_scores + det.config.w_rec * rec_scores),
            "dist_contrast_rho": float(spearmanr(dist_scores, contrast)[0]),
            "score_cv": float(np.std(val_scores) / max(abs(np.mean(val_scores)), 1e-30)),
            "head_w_norm": float(fc.weight.norm()),
            "head_b_norm": float(fc.bias.norm()) if fc.bias is not None else 0.0,
            "c_at_eps": float((c.abs() <= det.config.eps + 1e-7).float().mean()),
            "best_epoch": det.history_.get("best_epoch"), "fit_s": fit_s}


def pixel_statistics(train, part, name: str) -> str:
    """AUROC on `part` of two pixel statistics (no training, no choice): each image's pixel std (contrast) and
    its L1 distance to the mean training image (what a reconstruction of the average normal image would score)."""
    flat = np.asarray(part.X, np.float64).reshape(part.n_samples, -1)
    mean_image = np.asarray(train.X, np.float64).reshape(train.n_samples, -1).mean(axis=0)
    return (f"Pixel statistics on the {name} part (no training): each image's pixel std ranks at AUROC "
            f"{auroc(part.y, flat.std(axis=1)):.3f}, its L1 distance to the mean training image at "
            f"{auroc(part.y, np.abs(flat - mean_image).sum(axis=1)):.3f}.")




def table(rows: list[dict], key: str) -> str:
    """Mean ± std per variant of `key` and the diagnostics, in VARIANTS order (every score is the distance to c
    except in the last two variants)."""
    lines = [f"| variant | seeds | {key.replace('_', ' ')} | per seed | val AUROC of its L1 reconstruction error | val AUROC of its per-image loss | rho(distance, contrast) | val score std/mean | head |W| | head |b| "
             "| c at ±eps | kept epoch | fit s |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in VARIANTS:
        rs = [r for r in rows if r["variant"] == name and r[key] != ""]
        if not rs:
            continue
        v = np.array([float(r[key]) for r in rs])

        def m(k, fmt=".3f"):
            return format(float(np.mean([float(r[k]) for r in rs])), fmt)

        epochs = ",".join(r["best_epoch"] or "-" for r in rs)
        rec = m("rec_val_auroc") if all(r.get("rec_val_auroc") for r in rs) else "-"
        loss = m("loss_val_auroc") if all(r.get("loss_val_auroc") for r in rs) else "-"
        rho = m("dist_contrast_rho", "+.2f") if all(r.get("dist_contrast_rho") for r in rs) else "-"
        lines.append(f"| {name} | {len(rs)} | {v.mean():.3f} ± {v.std():.3f} | "
                     f"{' '.join(f'{x:.3f}' for x in v)} | {rec} | {loss} | {rho} | {m('score_cv')} | {m('head_w_norm', '.3g')} | "
                     f"{m('head_b_norm', '.3g')} | {m('c_at_eps', '.2f')} | {epochs} | {m('fit_s', '.0f')} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--test", metavar="VARIANT", choices=list(VARIANTS),
                        help="the frozen choice: fit it and report its test AUROC (test.csv), nothing else")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    train, val, test = one_class_split(had.load_dataset("pneumoniamnist"))
    path = args.out / ("test.csv" if args.test else "diagnosis.csv")
    done = {(r["variant"], r["seed"]) for r in read_rows(path)}
    for seed in args.seeds:
        for name in [args.test] if args.test else args.variants:
            if (name, str(seed)) in done:
                continue
            row = diagnose(name, seed, train, val, test if args.test else None)
            append_row(path, FIELDS, row, ".6f")
            print(f"[diag] {name:45s} seed {seed}: val {row['val_auroc']:.4f} "
                  f"{'test ' + format(row['test_auroc'], '.4f') if args.test else ''} cv {row['score_cv']:.3g} "
                  f"|W| {row['head_w_norm']:.3g} |b| {row['head_b_norm']:.3g} epoch {row['best_epoch']} "
                  f"{row['fit_s']:.0f}s", file=sys.stderr, flush=True)
    rows = read_rows(path)
    md = table(rows, "test_auroc" if args.test else "val_auroc")
    md += "\n\n" + (pixel_statistics(train, test, "test") if args.test else pixel_statistics(train, val, "validation"))
    (args.out / ("test.md" if args.test else "diagnosis.md")).write_text(md + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
