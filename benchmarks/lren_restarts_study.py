"""LREN second design round, step 1: train the stabilised default on the DEVELOPMENT scenes and save, at
checkpoint epochs, everything the label-free levers need (restarts, stopping, LRR lambda), so that they can be
evaluated afterwards without further training (``benchmarks/lren_restarts_eval.py``).

Per (scene, seed) one ``lren`` fit (its frozen default settings, ``--epochs`` the last checkpoint); at every
checkpoint: the scene's latent codes and memberships (float32), the LRR score the default reports (the closed
form, float32 graph's float64 twin), the ADMM error norms, RX on the latent codes, and label-free collapse
diagnostics every ``--diag-every`` epochs (smallest / largest eigenvalue of the mixture covariances and of the
scene's latent covariance). One npz per run under ``--out`` (a scratch folder, not committed). Labels are not
read here; the headline scenes are refused.

    HAD_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lren_restarts_study.py \\
        --scenes hydice-ii --seeds 0 1 2 3 4 5 --out /tmp/lren4_study

Third round: ``--checkpoints 10 15 20 25 --out /tmp/lren5_study/e10-25`` (shorter training) and
``--set latent=16 --checkpoints 10 15 20 25 --out /tmp/lren5_study/latent16`` (a wider latent space).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from lren_dev import DEV
from settings_arg import parse_sets


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes", nargs="+", default=list(DEV))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--checkpoints", nargs="+", type=int, default=[25, 50, 75, 100, 150, 200])
    parser.add_argument("--diag-every", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("/tmp/lren4_study"))
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="lren config overrides, e.g. latent=16 (third design round)")
    args = parser.parse_args()
    overrides = parse_sets(args.set)
    bad = [s for s in args.scenes if s not in DEV]
    if bad:
        raise SystemExit(f"{bad}: not development scenes; the design study uses {DEV} only")

    import torch

    import had
    from had.rx import RX
    from had_lren import lrr as L
    from had_lren.network import gmm_parameters

    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    last = max(args.checkpoints)
    for scene in args.scenes:
        data = had.load_dataset(scene)
        pixels = data.X.reshape(-1, data.X.shape[-1]).astype(np.float32)
        for seed in args.seeds:
            path = args.out / f"{scene}__seed{seed}.npz"
            if path.is_file():
                continue
            saved: dict[str, np.ndarray] = {}
            diag: list[tuple[int, float, float, float, float]] = []
            t0 = time.perf_counter()

            def watch(det, progress):
                if progress.event != "epoch":
                    return
                epoch = progress.epoch
                if epoch % args.diag_every and epoch not in args.checkpoints:
                    return
                z, gamma = det.embed(pixels)
                z64 = z.astype(np.float64)
                with torch.no_grad():
                    _, _, sigma = gmm_parameters(torch.from_numpy(z64), torch.from_numpy(gamma.astype(np.float64)))
                eig = np.linalg.eigvalsh(sigma.numpy())
                lat = np.linalg.eigvalsh(np.cov(z64.T))
                diag.append((epoch, float(eig.min()), float(eig.max()),
                             float(np.min(eig[:, 0] / eig[:, -1])), float(lat.min() / lat.max())))
                if epoch not in args.checkpoints:
                    return
                S, result = det.low_rank_stage(z, gamma)
                rule = L.out_of_sample_rule(S[det.atoms_].T, result.X, det.config.lrr_lambda)
                saved[f"e{epoch}_z"] = z
                saved[f"e{epoch}_gamma"] = gamma
                saved[f"e{epoch}_lrr"] = L.out_of_sample_scores(S, rule).astype(np.float32)
                saved[f"e{epoch}_admm"] = det.lrr_scores_.astype(np.float32)
                saved[f"e{epoch}_rx"] = RX().fit(z64).decision_scores_.astype(np.float32)
                saved[f"e{epoch}_seconds"] = np.float64(time.perf_counter() - t0)

            det = had.get_detector("lren", seed=seed, epochs=last, device="cpu", progress=False, log_every=0,
                                   restarts=1, **overrides)
            det.training_callback = watch
            try:
                det.fit(data.X)
            except Exception as exc:  # recorded, the study goes on
                saved["failed"] = np.array(str(exc))
            saved["diag"] = np.array(diag, dtype=np.float64)  # epoch, eig min, eig max, min ratio, latent ratio
            saved["checkpoints"] = np.array(args.checkpoints)
            np.savez_compressed(path, **saved)
            print(f"{scene} seed {seed}: {time.perf_counter() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
