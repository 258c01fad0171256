"""LREN design study on the DEVELOPMENT scenes only (the choice log behind the stabilised default).

One training run per (scene, seed, loss variant); at checkpoint epochs the whole scene's latent codes are read
off and scored by every low-rank-stage variant (atom exclusion, LRR space), so that one training answers for all
of them. Recorded per checkpoint: the AUROC of the LRR score (the ADMM's error columns), of RX on the latent codes,
and label-free collapse diagnostics (smallest / largest eigenvalue of the scene's latent covariance and of the
mixture's covariances). Labels of the development scenes only: the headline scenes (sandiego_plane, hydice,
abu-beach-4, abu-urban-2) are refused.

    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/lren_dev.py --scenes abu-airport-1 --seeds 0 \\
        --loss reference stabilised --epochs 50 100 200 300 500
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "results" / "lren" / "dev_runs.csv"
DEV = ("abu-airport-1", "abu-airport-3", "abu-beach-1", "abu-beach-3", "abu-urban-1", "abu-urban-4", "hydice-ii",
       "muufl-crop")
LOSSES = {
    "reference": dict(cov_penalty="diag", relative_ridge=False),
    "stabilised": dict(cov_penalty="trace", relative_ridge=True),
}
SCORINGS = {
    "ref-atoms/latent": dict(atom_exclusion=0.0, lrr_space="latent"),
    "excl5/latent": dict(atom_exclusion=0.05, lrr_space="latent"),
    "ref-atoms/whitened": dict(atom_exclusion=0.0, lrr_space="whitened"),
    "excl5/whitened": dict(atom_exclusion=0.05, lrr_space="whitened"),
}


def dev_labels_and_rx(scene: str) -> tuple[np.ndarray, float]:
    """A development scene's pixel labels (bool, flat) and global RX's AUROC on its raw cube (the rounds' yardstick)."""
    import had
    from had.metrics import auroc
    from had.rx import RX

    data = had.load_dataset(scene)
    y = np.asarray(data.y).reshape(-1).astype(bool)
    return y, float(auroc(y, RX().fit(data.X.reshape(-1, data.X.shape[-1])).decision_scores_))


FIELDS = ["scene", "seed", "loss", "epoch", "scoring", "auroc", "auroc_rx_latent", "latent_eig_ratio",
          "mixture_eig_min", "n_atoms", "seconds"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes", nargs="+", default=list(DEV))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--loss", nargs="+", default=list(LOSSES))
    parser.add_argument("--epochs", nargs="+", type=int, default=[50, 100, 200, 300, 500])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    bad = [s for s in args.scenes if s not in DEV]
    if bad:
        raise SystemExit(f"{bad}: not development scenes; the design study uses {DEV} only")

    import torch

    import had
    from had.metrics import auroc
    from had.rx import RX

    torch.set_num_threads(args.threads)
    done = set()
    if args.out.is_file():
        with args.out.open() as f:
            done = {(r["scene"], r["seed"], r["loss"]) for r in csv.DictReader(f)}
    for scene in args.scenes:
        data = had.load_dataset(scene)
        y = np.asarray(data.y).reshape(-1)
        pixels = data.X.reshape(-1, data.X.shape[-1]).astype(np.float32)
        for seed in args.seeds:
            for loss in args.loss:
                if (scene, str(seed), loss) in done:
                    continue
                rows = []
                t0 = time.perf_counter()

                def checkpoint(det, progress):
                    epoch = progress.epoch
                    if progress.event != "epoch" or epoch not in args.epochs:
                        return
                    z, gamma = det.embed(pixels)
                    rx = RX().fit(z.astype(np.float64)).decision_scores_
                    w = np.linalg.eigvalsh(np.cov(z.astype(np.float64).T))
                    base = det.config
                    for name, setting in SCORINGS.items():
                        det.config = base.model_copy(update=setting)
                        det.low_rank_stage(z, gamma)
                        eig_min = float(min(np.linalg.eigvalsh(s).min() for s in det.gmm_["sigma"]))
                        rows.append(dict(scene=scene, seed=seed, loss=loss, epoch=epoch, scoring=name,
                                         auroc=auroc(y, det.lrr_scores_), auroc_rx_latent=auroc(y, rx),
                                         latent_eig_ratio=float(w.min() / w.max()), mixture_eig_min=eig_min,
                                         n_atoms=len(det.atoms_), seconds=time.perf_counter() - t0))
                    det.config = base

                det = had.get_detector("lren", seed=seed, epochs=max(args.epochs), device="cpu", progress=False,
                                       log_every=0, restarts=1, **LOSSES[loss])
                det.training_callback = checkpoint
                try:
                    det.fit(data.X)
                except Exception as exc:  # recorded, the study goes on
                    rows.append(dict(scene=scene, seed=seed, loss=loss, epoch=-1, scoring=f"failed: {exc}"))
                new = not args.out.is_file()
                with args.out.open("a", newline="") as f:
                    writer = csv.DictWriter(f, fieldnames=FIELDS)
                    if new:
                        writer.writeheader()
                    for r in rows:
                        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
                best = max((r for r in rows if r.get("auroc") is not None), key=lambda r: r["epoch"], default=None)
                print(f"{scene} seed {seed} {loss}: {time.perf_counter() - t0:.0f}s; last checkpoint "
                      + ", ".join(f"{r['scoring']} {r['auroc']:.4f}" for r in rows if r.get("epoch") == max(args.epochs))
                      + (f"; rx-latent {best['auroc_rx_latent']:.4f}" if best else ""), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
