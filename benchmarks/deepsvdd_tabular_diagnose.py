"""Why `deepsvdd`'s tabular ranking depends on the seed (issue 17 item 3, second round's diagnostics).

One split per table (``deepsad_split`` seed 0, as ``deepsvdd_tabular_choice.py``), several model seeds on it, so
the spread measured here is the network's alone (the choice's seed std also holds the split's). Label-free
measures, on every table:

* inputs (after the protocol's standard + min-max scaling): the median per-feature interquartile range in [0, 1]
  and the share of features whose IQR is below 0.02 (a feature squashed by its tails);
* codes of the training rows at the end of the fit: the per-coordinate std relative to the centre's size
  (``code/c``), the effective rank of their covariance (participation ratio; collapse lowers it) and the share
  of centre coordinates the eps rule moved to +-0.1 (``c@eps``);
* ``rho``: the mean Spearman correlation, between model seeds, of the test rows' scores: 1 means the ranking
  does not depend on the seed.

AUROC (labels) only on the choosing tables (``--auroc`` tables). Settings as ``deepsvdd_tabular_choice.py``'s;
``pretrained`` is the encoder's distance to c after pretraining alone (one Deep SVDD epoch at lr 1e-12).
Usage: ``HAD_DATA_DIR=/work/shared/data nice -n 10 .venv/bin/python benchmarks/deepsvdd_tabular_diagnose.py
--tables cardio thyroid --settings pretrained reference --seeds 3``
"""

from __future__ import annotations

import argparse
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

import had
from had.metrics import auroc
from had.protocols import deepsad_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_deepsad import feasible_pollution  # noqa: E402
from deepsvdd_tabular_choice import CHOOSING, SETTINGS, make  # noqa: E402

EXTRA = {"pretrained": ("deepsvdd", {"recipe": "reference", "epochs": 1, "lr": 1e-12}),
         "quantile+pretrained": ("deepsvdd", {"recipe": "reference", "epochs": 1, "lr": 1e-12, "scaling": "quantile"})}


def input_stats(X: np.ndarray) -> str:
    q25, q75 = np.quantile(X, [0.25, 0.75], axis=0)
    iqr = q75 - q25
    return f"median IQR {np.median(iqr):.3f}, IQR<0.02 {np.mean(iqr < 0.02):.2f} of {X.shape[1]} features"


def code_stats(det, X: np.ndarray) -> dict[str, float]:
    encoder, c = det.network_.encoder.eval(), det.network_.c
    with torch.no_grad():
        z = encoder(torch.from_numpy(X.astype(np.float32))).double().numpy()
    c = c.double().numpy()
    eig = np.clip(np.linalg.eigvalsh(np.cov(z.T)), 0, None)
    return {"code/c": float(np.mean(z.std(0)) / np.sqrt(np.mean(c ** 2))),
            "rank": float(eig.sum() ** 2 / max((eig ** 2).sum(), 1e-300)) / z.shape[1],
            "c@eps": float(np.mean(np.isclose(np.abs(c), 0.1)))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", nargs="+", default=CHOOSING)
    ap.add_argument("--auroc", nargs="*", default=CHOOSING, help="tables whose labels may be used")
    ap.add_argument("--settings", nargs="+", default=["pretrained", "epochs-1", "reference"])
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    SETTINGS.update(EXTRA)
    for table in args.tables:
        data = had.load_dataset(table)
        split = deepsad_split(data, seed=0, ratio_pollution=feasible_pollution(data.y, 0.1))
        train, test = split.train, split.test
        print(f"{table}: n_train {train.X.shape[0]}, {input_stats(train.X)}", flush=True)
        for setting in args.settings:
            scores, stats, aucs = [], [], []
            for seed in range(args.seeds):
                det = make(setting, seed).fit(train.X)
                scores.append(det.decision_function(test.X))
                stats.append(code_stats(det, det.preprocessing_(torch.from_numpy(train.X.astype(np.float32)))
                                        .numpy()))
                if table in args.auroc:
                    aucs.append(100 * auroc(test.y, scores[-1]))
            rho = np.mean([spearmanr(a, b)[0] for a, b in combinations(scores, 2)])
            cells = ", ".join(f"{k} {np.mean([s[k] for s in stats]):.3f}" for k in stats[0])
            auc = f", AUROC {np.mean(aucs):.1f} ({' '.join(f'{a:.1f}' for a in aucs)})" if aucs else ""
            print(f"  {setting:24s} rho {rho:.3f}, {cells}{auc}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
