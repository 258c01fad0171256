"""What the mixture energy costs per training step of a default `lren` fit, against the reconstruction term that the
bare autoencoder pays too: the bound on what any implementation of the same loss can save (issue 12's speed target).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lren_loss_cost.py [--latent 32] [--clusters 5] [--bands 189]

Times, side by side in one process on one torch thread, the forward and backward of :func:`had_lren.network.lren_loss`
with the stabilised default's terms (trace penalty, relative lean ridge, float32: :mod:`had_lren.mixture_node`), and the
same terms through autograd, on random codes and memberships of
a full batch (4096 pixels), and of its reconstruction term alone (``sum_b (x - xhat)^2``, mean over the batch); the
difference is the mixture's. It multiplies that by the full-batch equivalents of a default fit (a 100x100 scene:
batches of 4096, 4096 and 1808 pixels, 10 epochs x 6 restarts) to give the seconds the mixture adds to a fit.
"""

from __future__ import annotations

import argparse
import time

import torch


def timed(step, repeats: int) -> float:
    for _ in range(5):
        step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    from had_lren.detector import STABILISED
    from had_lren.network import lren_loss

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latent", type=int, default=STABILISED["latent"])
    parser.add_argument("--clusters", type=int, default=STABILISED["clusters"])
    parser.add_argument("--bands", type=int, default=189)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    n = args.batch
    x = torch.randn(n, args.bands)
    xhat = torch.randn(n, args.bands, requires_grad=True)
    z = torch.randn(n, args.latent, requires_grad=True)
    gamma = torch.softmax(torch.randn(n, args.clusters), dim=1).requires_grad_()

    def whole():
        lren_loss(x, z, xhat, gamma, 0.1, 0.005, 1e-6, None, STABILISED["cov_penalty"], STABILISED["relative_ridge"],
                  STABILISED["lean_mixture"]).backward()

    def through_autograd():  # the same terms through autograd (the plain ridge variance: the same value)
        lren_loss(x, z, xhat, gamma, 0.1, 0.005, 1e-6, None, STABILISED["cov_penalty"], STABILISED["relative_ridge"],
                  False).backward()

    def reconstruction():
        torch.sum((x - xhat) ** 2, dim=1).mean().backward()

    loss, recon = timed(whole, args.repeats), timed(reconstruction, args.repeats)
    plain = timed(through_autograd, args.repeats)
    mixture = loss - recon
    batches = (4096 + 4096 + 1808) / n * STABILISED["epochs"] * STABILISED["restarts"]  # a 100x100 scene
    print(f"batch {n}, latent {args.latent}, clusters {args.clusters}, bands {args.bands}, one torch thread")
    print(f"lren_loss forward + backward: {loss * 1e3:.2f} ms; reconstruction term alone: {recon * 1e3:.2f} ms; "
          f"the mixture's share: {mixture * 1e3:.2f} ms ({mixture / loss:.0%})")
    print(f"the same terms through autograd (had_lren.mixture_node not used): {plain * 1e3:.2f} ms, the mixture's "
          f"share {(plain - recon) * 1e3:.2f} ms: the node takes {(loss - recon) / (plain - recon):.2f}x its time")
    print(f"a default fit of a 100x100 scene ({batches:.1f} full-batch equivalents): the mixture adds about "
          f"{mixture * batches:.2f} s")


if __name__ == "__main__":
    main()
