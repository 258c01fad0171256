"""LREN diagnostics behind benchmarks/results/lren/investigation.md: what training does to the latent space.

``--trajectory`` (default): one fit with the reference's settings; every ``--every`` epochs, from the latent
codes of the whole scene: the smallest eigenvalue of the mixture covariances (float64), the cluster sizes (and
how many anomaly pixels each holds), the AUROC of the LRR score at that point (dictionary + ADMM, exactly as
the fit ends), and the AUROC of RX on the same latent codes (a Mahalanobis distance: does the latent space
still separate the anomalies?). Labels are used for these diagnostics only.

``--float32``: the same fit with the mixture in float32 (``gmm_float64=False``), as the reference computes it;
reports the epoch where the Cholesky factor fails, if it does.

Usage::

    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/lren_diagnostics.py --scene hydice --seed 1
    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/lren_diagnostics.py --scene sandiego_plane --float32
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", default="hydice")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--lrr-lambda", type=float, default=None, help="default: the reference's for the scene")
    parser.add_argument("--float32", action="store_true", help="mixture in float32; report a Cholesky failure")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    import had
    from had.errors import HadError
    from had.metrics import auroc
    from had_lren import lrr as L
    from had_lren.network import gmm_parameters

    torch.set_num_threads(args.threads)
    data = had.load_dataset(args.scene)
    y = np.asarray(data.y).reshape(-1).astype(bool)
    pixels = data.X.reshape(-1, data.X.shape[-1]).astype(np.float32)
    lam = args.lrr_lambda if args.lrr_lambda is not None else (1e-4 if args.scene == "abu-beach-4" else 0.01)
    det = had.get_detector("lren-reference", seed=args.seed, epochs=args.epochs, lrr_lambda=lam, device="cpu",
                           progress=False, gmm_float64=not args.float32)
    t0 = time.perf_counter()
    print(f"{args.scene}, seed {args.seed}, LRR lambda {lam}, mixture in {'float32' if args.float32 else 'float64'}")
    print("| epoch | smallest eigenvalue | largest eigenvalue | cluster sizes (anomalies) | atoms that are anomalies "
          "| LRR AUROC | RX on latent AUROC | s |")
    print("|---|---|---|---|---|---|---|---|")

    def report(detector, epoch: int) -> None:
        if epoch % args.every:
            return
        z, gamma = detector.embed(pixels)
        with torch.no_grad():
            _, _, sigma = gmm_parameters(torch.from_numpy(z).double(), torch.from_numpy(gamma).double())
        eig = np.linalg.eigvalsh(sigma.numpy())
        cluster = gamma.argmax(axis=1)
        sizes = np.bincount(cluster, minlength=gamma.shape[1])
        anomalous = np.bincount(cluster[y], minlength=gamma.shape[1])
        atoms = L.select_atoms(gamma)
        S = z.astype(np.float64)
        scores = L.column_scores(L.lrr(S.T, S[atoms].T, lam).E)
        centred = S - S.mean(axis=0)
        rx = np.einsum("ij,ij->i", centred, np.linalg.solve(np.cov(S.T), centred.T).T)
        cells = ", ".join(f"{n} ({a})" if a else str(n) for n, a in zip(sizes, anomalous))
        print(f"| {epoch} | {eig.min():.2e} | {eig.max():.3g} | {cells} | {int(y[atoms].sum())} of {len(atoms)} | "
              f"{auroc(y, scores):.4f} | {auroc(y, rx):.4f} | {time.perf_counter() - t0:.0f} |", flush=True)

    det.training_callback = lambda d, progress: report(d, progress.epoch) if progress.event == "epoch" else None
    try:
        det.fit(data.X)
    except HadError as exc:
        print(f"\nfit failed: {exc}")
        return
    print(f"\nfinal: AUROC {auroc(y, det.decision_scores_):.4f} (ADMM {auroc(y, det.lrr_scores_):.4f})")


if __name__ == "__main__":
    main()
