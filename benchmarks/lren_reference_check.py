"""LREN against its reference stack: the training graph in TensorFlow (float32, graph mode), side by side with ours.

Why: our LREN reproduces the reference's numbers on abu-beach-4 but not on sandiego_plane and hydice over 5 seeds
(benchmarks/results/lren/investigation.md). This script answers two questions with the reference's own framework:

1. ``tf``: what does LREN's training graph (written out here in ``tf.compat.v1`` from methods.md section 1.2-1.4:
   the same layers, Glorot init, GMM energy in float32 with its 1e-6 ridge, Adam 1e-4, batches of 4096 from one
   shuffle) do on a scene, seed by seed? Saves the latent codes and memberships every 100 epochs, the
   smallest eigenvalue of the scene's mixture covariances, and whether training broke (a NaN loss: TensorFlow's
   CPU Cholesky returns NaN instead of raising when a component collapses below the ridge). It also saves the
   initial weights and the batch order.
2. ``torch``: our network and loss (``had_lren.network``), started from *those* initial weights and that batch
   order, trained the same 1000 epochs: does it follow TensorFlow's trajectory?
3. ``score``: the dictionary + LRR stage of ``had_lren`` (the reference's atom rule and solver) on every saved
   checkpoint of either run, AUROC against the scene's map, and RX on the latent codes.

TensorFlow is not a dependency of ``had``: run ``tf`` in a separate environment
(``python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu scipy scikit-learn``)::

    /tmp/tfenv/bin/python benchmarks/lren_reference_check.py tf HYDICE_data --seed 123 --out /tmp/tf_hydice_123.npz
    .venv/bin/python benchmarks/lren_reference_check.py torch /tmp/tf_hydice_123.npz --out /tmp/torch_hydice_123.npz
    .venv/bin/python benchmarks/lren_reference_check.py score /tmp/tf_hydice_123.npz /tmp/torch_hydice_123.npz

Scenes are read from ``$HAD_DATA_DIR/hsi/<name>.mat`` (keys ``data`` and ``map``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

LAYERS = {"enc1": "tanh", "enc2": None, "dec1": "tanh", "dec2": None, "est1": "tanh", "est2": None}


def _scene(name: str) -> tuple[np.ndarray, np.ndarray]:
    import scipy.io as sio

    root = Path(os.environ.get("HAD_DATA_DIR", "../shared/data"))
    mat = sio.loadmat(root / "hsi" / f"{name}.mat")
    cube = np.asarray(mat["data"], dtype=np.float64)
    pixels = cube.reshape(-1, cube.shape[-1])
    pixels = (pixels - pixels.min()) / (pixels.max() - pixels.min())  # one global min-max
    std = pixels.std(axis=0)
    pixels = (pixels - pixels.mean(axis=0)) / np.where(std > 0, std, 1.0)  # StandardScaler
    return pixels, np.asarray(mat["map"]).reshape(-1)


def run_tf(args) -> None:
    import tensorflow as tf

    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    X, y = _scene(args.scene)
    n, bands = X.shape
    graph = tf1.Graph()
    with graph.as_default():
        tf1.set_random_seed(args.seed)
        rng = np.random.RandomState(args.seed)
        x = tf1.placeholder(tf.float32, [None, bands])
        weights = {}

        def dense(inp, width, name):
            w = tf1.get_variable(name + "_w", [int(inp.shape[1]), width],
                                 initializer=tf1.glorot_uniform_initializer())
            b = tf1.get_variable(name + "_b", [width], initializer=tf1.zeros_initializer())
            weights[name] = (w, b)
            out = tf.matmul(inp, w) + b
            return tf.tanh(out) if LAYERS[name] == "tanh" else out

        z = dense(dense(x, 400, "enc1"), 9, "enc2")
        xhat = dense(dense(z, 400, "dec1"), bands, "dec2")
        gamma = tf.nn.softmax(dense(dense(z, 60, "est1"), 7, "est2"))
        gsum = tf.reduce_sum(gamma, 0)
        phi = tf.reduce_mean(gamma, 0)
        mu = tf.einsum("ik,il->kl", gamma, z) / gsum[:, None]
        zw = tf.sqrt(gamma[:, :, None]) * (z[:, None, :] - mu[None])
        sigma = tf.einsum("ikl,ikm->klm", zw, zw) / gsum[:, None, None]
        chol = tf.linalg.cholesky(sigma + 1e-6 * tf.eye(9)[None])
        v = tf.linalg.triangular_solve(chol, tf.transpose(z[:, None, :] - mu[None], [1, 2, 0]))
        log_det = 2.0 * tf.reduce_sum(tf.math.log(tf.linalg.diag_part(chol)), 1)
        logits = tf.math.log(phi[:, None]) - 0.5 * (tf.reduce_sum(tf.square(v), 1) + 9 * np.log(2 * np.pi)
                                                     + log_det[:, None])
        loss = (tf.reduce_mean(tf.reduce_sum(tf.square(x - xhat), 1)) + 0.1 * tf.reduce_mean(-tf.reduce_logsumexp(logits, 0))
                + 1e-4 * tf.reduce_sum(1.0 / tf.linalg.diag_part(sigma)))
        step = tf1.train.AdamOptimizer(1e-4).minimize(loss)
        config = tf1.ConfigProto(intra_op_parallelism_threads=args.threads, inter_op_parallelism_threads=1)
        sess = tf1.Session(graph=graph, config=config)
        sess.run(tf1.global_variables_initializer())
        saved = {"y": y, "order": rng.permutation(n)}
        for name, (w, b) in weights.items():
            saved[f"init.{name}.w"], saved[f"init.{name}.b"] = sess.run([w, b])
        batches = [saved["order"][i:i + 4096] for i in range(0, n, 4096)]
        t0 = time.time()
        for epoch in range(1, args.epochs + 1):
            for idx in batches:
                sess.run(step, {x: X[idx]})
            if epoch % 100 == 0:
                Z, G, lv, S = sess.run([z, gamma, loss, sigma], {x: X})
                broken = not np.isfinite(lv) or not np.all(np.isfinite(S))
                low = np.nan if broken else float(np.linalg.eigvalsh(S.astype(np.float64)).min())
                print(f"{args.scene} seed {args.seed} epoch {epoch}: loss {lv:.4f}, smallest eigenvalue {low:.2e}"
                      f"{' (NaN: training broke)' if broken else ''}, {time.time() - t0:.0f} s", flush=True)
                if broken:
                    saved["broke_at"] = epoch
                    break
                saved[f"z{epoch}"], saved[f"g{epoch}"] = Z, G
        np.savez(args.out, **saved)


def run_torch(args) -> None:
    import torch

    from had_lren.network import LRENNet, lren_loss

    torch.set_num_threads(args.threads)
    ref = np.load(args.reference)
    bands = ref["init.enc1.w"].shape[0]
    net = LRENNet(bands)
    with torch.no_grad():
        for name in LAYERS:
            layer = getattr(net, name)
            layer.weight.copy_(torch.from_numpy(ref[f"init.{name}.w"].T))
            layer.bias.copy_(torch.from_numpy(ref[f"init.{name}.b"]))
    scene = args.scene
    X, y = _scene(scene)
    X = torch.from_numpy(X.astype(np.float32))
    order = torch.from_numpy(ref["order"])
    batches = list(X[order].split(4096))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    saved = {"y": y}
    for epoch in range(1, args.epochs + 1):
        for batch in batches:
            z, xhat, gamma = net(batch)
            loss = lren_loss(batch, z, xhat, gamma, 0.1, 1e-4, 1e-6, torch.float64)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch % 100 == 0:
            with torch.no_grad():
                Z = net.encode(X)
                saved[f"z{epoch}"], saved[f"g{epoch}"] = Z.numpy(), net.memberships(Z).numpy()
            print(f"torch epoch {epoch}: batch loss {float(loss):.4f}", flush=True)
    np.savez(args.out, **saved)


def _checkpoint(run, epoch: int, lam: float) -> tuple[float, float, set[int]]:
    """(LRR AUROC, RX AUROC on the latent codes, dictionary atoms) of one run's checkpoint."""
    import had
    from had.metrics import auroc
    from had_lren import lrr as L

    Z, G, y = run[f"z{epoch}"].astype(np.float64), run[f"g{epoch}"], run["y"]
    atoms = L.select_atoms(G)
    result = L.lrr(Z.T, Z[atoms].T, lam)
    rx = had.get_detector("rx").fit(Z).decision_scores_
    return auroc(y, L.column_scores(result.E)), auroc(y, rx), set(atoms.tolist())


def run_score(args) -> None:
    runs = [np.load(path) for path in args.runs]
    if args.final:
        _final_table(args, runs)
        return
    epochs = sorted({int(k[1:]) for run in runs for k in run.files if k.startswith("z")})
    print("| epoch | " + " | ".join(f"{Path(p).stem}: LRR AUROC (latent RX) [atoms shared with run 1]"
                                      for p in args.runs) + " |")
    print("|---" * (len(runs) + 1) + "|")
    for epoch in epochs:
        cells, first = [], None
        for run in runs:
            if f"z{epoch}" not in run.files:
                cells.append("-")
                continue
            lrr_auroc, rx_auroc, atoms = _checkpoint(run, epoch, args.lam)
            shared = "" if first is None else f" [{len(atoms & first)}/{len(atoms)}]"
            first = atoms if first is None else first
            cells.append(f"{lrr_auroc:.4f} ({rx_auroc:.4f}){shared}")
        print(f"| {epoch} | " + " | ".join(cells) + " |")
    for path, run in zip(args.runs, runs):
        if "broke_at" in run.files:
            print(f"{Path(path).stem}: training broke (NaN) before epoch {int(run['broke_at'])}")


def _final_table(args, runs) -> None:
    """One row per run: the LRR AUROC at its last checkpoint, or the epoch where training broke."""
    print("| run | last epoch | LRR AUROC | RX on latent codes | training |")
    print("|---|---|---|---|---|")
    for path, run in zip(args.runs, runs):
        broke = f"NaN before epoch {int(run['broke_at'])}" if "broke_at" in run.files else "completed"
        saved = sorted(int(k[1:]) for k in run.files if k.startswith("z"))
        if not saved:
            print(f"| {Path(path).stem} | - | - | - | {broke} |")
            continue
        lrr_auroc, rx_auroc, _ = _checkpoint(run, saved[-1], args.lam)
        print(f"| {Path(path).stem} | {saved[-1]} | {lrr_auroc:.4f} | {rx_auroc:.4f} | {broke} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    tf_ = sub.add_parser("tf", help="train the reference graph in TensorFlow (needs tensorflow)")
    tf_.add_argument("scene")
    tf_.add_argument("--seed", type=int, default=123)
    tf_.add_argument("--epochs", type=int, default=1000)
    tf_.add_argument("--threads", type=int, default=1)
    tf_.add_argument("--out", required=True)
    to = sub.add_parser("torch", help="train had_lren's network from a tf run's initial weights and order")
    to.add_argument("reference")
    to.add_argument("--scene", default=None, help="scene of the tf run (default: from its file name)")
    to.add_argument("--epochs", type=int, default=1000)
    to.add_argument("--threads", type=int, default=1)
    to.add_argument("--out", required=True)
    sc = sub.add_parser("score", help="dictionary + LRR AUROC at every saved checkpoint")
    sc.add_argument("runs", nargs="+")
    sc.add_argument("--lam", type=float, default=0.01)
    sc.add_argument("--final", action="store_true", help="one row per run: its last checkpoint")
    args = ap.parse_args(argv)
    if args.command == "tf":
        run_tf(args)
    elif args.command == "torch":
        if args.scene is None:
            args.scene = Path(args.reference).stem.split("tf_", 1)[-1].rsplit("_", 1)[0]
        run_torch(args)
    else:
        run_score(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
