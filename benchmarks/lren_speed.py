"""The cost of a default `lren` fit: the ratio to its bare autoencoder, where the rest goes, threads, TensorFlow.

Used by ``bench_lren.py --speed`` (one run, appended to ``results/lren/speed.md``) and runnable alone for the
stage breakdown only::

    HAD_DATA_DIR=/work/shared/data nice -n 10 .venv/bin/python benchmarks/lren_speed.py [--scene sandiego_plane]

* :func:`bare_autoencoder_seconds`: LREN's autoencoder alone (MSE, Adam, the same fixed batches and fast layers)
  for the epochs a default fit trains, restarts included: the part no LREN can avoid;
* :func:`breakdown`: one default fit + ``decision_function`` with wall-clock timers around each stage (the
  functions are wrapped in place for that run and restored), the bare autoencoder timed just after it in the
  same process, one torch thread;
* :func:`speed`: the ratio line, 1 against 2 threads beside a CPU hog, LREN's own TensorFlow graph.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def load(name: str):
    import had

    return had.load_dataset(name)


def bare_autoencoder_seconds(X: np.ndarray, epochs: int, batch_size: int, seed: int = 0, threads: int = 1) -> float:
    """Wall seconds to train LREN's autoencoder alone (B -> 400 -> 9 -> 400 -> B, MSE, Adam 1e-4) for the same
    epochs over the same fixed batches as a default `lren` fit, through the same fast layers: the part of LREN
    that no implementation can avoid."""
    import torch

    from had_lren import fastops
    from had_lren.network import LRENNet, MinMaxStandardize

    pixels = X.reshape(-1, X.shape[-1]).astype(np.float32)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)  # as the detector's `threads` (default 1)
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    x = MinMaxStandardize(pixels.shape[1]).fit(pixels)(torch.from_numpy(pixels))
    net = LRENNet(pixels.shape[1])
    params = [p for name, p in net.named_parameters() if not name.startswith("est")]
    optimizer = torch.optim.Adam(params, lr=1e-4, foreach=True)
    shuffled = x[torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))]
    batches = list(shuffled.split(batch_size))
    fast = fastops.usable(x)
    transposed = [b.t().contiguous() for b in batches] if fast else [None] * len(batches)
    for _ in range(epochs):
        for batch, batch_t in zip(batches, transposed):
            if fast:
                h = fastops.linear_tanh(batch, net.enc1.weight, net.enc1.bias, batch_t)
                z = fastops.linear(h, net.enc2.weight, net.enc2.bias)
                xhat = fastops.linear(fastops.linear_tanh(z, net.dec1.weight, net.dec1.bias), net.dec2.weight,
                                      net.dec2.bias)
            else:
                xhat = net.decode(net.encode(batch))
            loss = torch.sum((batch - xhat) ** 2, dim=1).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - t0
    torch.set_num_threads(previous)
    return seconds


# ---- where a default fit's time goes ----------------------------------------------------------------------
#: (label, module, attribute): functions timed by :func:`breakdown`; indented labels run inside the one above
STAGES = (
    ("fingerprint of the scene (every fit: members and ensemble)", "had.detector", "training_sha256"),
    ("preprocessing statistics (MinMaxStandardize.fit, float64)", "had_lren.network", "MinMaxStandardize.fit"),
    ("training epochs (autoencoder + estimation net + mixture energy)", "had_sdk.torch_detector", "run_phases"),
    ("  of which the mixture loss's forward (lren_loss)", "had_lren.detector", "lren_loss"),
    ("after training (on_fit_end)", "had_lren.detector", "LREN.on_fit_end"),
    ("  codes and memberships of the scene (embed)", "had_lren.detector", "LREN.embed"),
    ("  whitening", "had_lren.lrr", "whitening"),
    ("  LRR ADMM", "had_lren.lrr", "lrr"),
    ("  closed-form rule (out_of_sample_rule)", "had_lren.lrr", "out_of_sample_rule"),
    ("  closed-form scene scores in float64 (out_of_sample_scores)", "had_lren.lrr", "out_of_sample_scores"),
    ("scoring the scene through the graph (_score: members, ensemble)", "had_sdk.torch_detector",
     "TorchDetector._score"),
)


@contextlib.contextmanager
def timed_stages(totals: dict[str, list[float]]):
    """Wrap every :data:`STAGES` function to add [wall seconds, calls, CPU seconds] to `totals[label]`."""
    import importlib

    restore = []
    for label, module_name, attribute in STAGES:
        owner = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        if not hasattr(owner, name):  # an older commit's code: the stage is shown with 0 calls
            continue
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)

        def wrapper(*args, _f=original, _label=label, **kwargs):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return _f(*args, **kwargs)
            finally:
                slot = totals.setdefault(_label, [0.0, 0, 0.0])
                slot[0] += time.perf_counter() - t0
                slot[1] += 1
                slot[2] += time.process_time() - c0

        setattr(owner, name, wrapper)
        restore.append((owner, name, original))
    try:
        yield totals
    finally:
        for owner, name, original in reversed(restore):
            setattr(owner, name, original)


@dataclass
class Timed:
    """One default fit + ``decision_function`` and its bare autoencoder, measured by :func:`breakdown`."""

    scene: str
    restarts: int
    epochs: int
    batch_size: int
    threads: int
    load: float
    fit_s: float
    score_s: float
    bare_s: float
    stages: dict[str, list[float]]
    #: CPU seconds of this process (time.process_time) for fit + score and for the bare autoencoder
    lren_cpu_s: float = float("nan")
    bare_cpu_s: float = float("nan")
    #: wall seconds of torch's one-off imports, done before either side was timed (:func:`warm_torch`)
    warm_s: float = float("nan")

    @property
    def lren_s(self) -> float:
        return self.fit_s + self.score_s

    def table(self) -> list[str]:
        """Markdown: the stages in wall and CPU seconds (CPU: this process, what an idle core would take), and in
        bare-autoencoder epochs (CPU)."""
        per_epoch = self.bare_cpu_s / (self.restarts * self.epochs)
        lines = ["| stage | calls | wall s | CPU s | share of fit + score (CPU) | bare-autoencoder epochs (CPU) |",
                 "|---|---|---|---|---|---|"]

        def row(label, calls, wall, cpu):
            return (f"| {label} | {calls} | {wall:.2f} | {cpu:.2f} | {cpu / self.lren_cpu_s:.1%} | "
                    f"{cpu / per_epoch:.1f} |")

        for label, _, _ in STAGES:
            wall, calls, cpu = self.stages.get(label, (0.0, 0, 0.0))
            lines.append(row(label, calls, wall, cpu))
        outer = [self.stages.get(label, (0.0, 0, 0.0)) for label, _, _ in STAGES if not label.startswith(" ")]
        rest_wall = self.lren_s - sum(o[0] for o in outer)
        rest_cpu = self.lren_cpu_s - sum(o[2] for o in outer)
        return lines + [
            row("rest (array copies, model building, restarts bookkeeping)", "", rest_wall, rest_cpu),
            row("**fit + decision_function**", "", self.lren_s, self.lren_cpu_s),
            row(f"bare autoencoder, {self.restarts * self.epochs} epochs, same process just after", "", self.bare_s,
                self.bare_cpu_s), "",
            f"Before either was timed, the process's first torch optimiser took {self.warm_s:.1f} s (it imports "
            "torch._dynamo and torch._inductor; any torch training pays it once per process).", ""]


def warm_torch() -> float:
    """Seconds of the process's first torch optimiser (its construction imports torch._dynamo and
    torch._inductor, 1-3 s): paid once by any torch training, so paid before either side is timed."""
    import torch

    t0 = time.perf_counter()
    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-3, foreach=True)
    torch.use_deterministic_algorithms(torch.are_deterministic_algorithms_enabled(),
                                       warn_only=torch.is_deterministic_algorithms_warn_only_enabled())
    return time.perf_counter() - t0


def breakdown(scene: str = "sandiego_plane", seed: int = 0) -> Timed:
    """One default `lren` fit + ``decision_function`` of `scene` with a timer on every :data:`STAGES` function,
    then the bare autoencoder for the same epochs in the same process (the detector's threads: one); torch's
    one-off imports are done before (:func:`warm_torch`)."""
    import had

    data = load(scene)
    warm = warm_torch()
    det = had.get_detector("lren", seed=seed, device="cpu", progress=False)
    cfg = det.config
    stages: dict[str, list[float]] = {}
    load0 = os.getloadavg()[0]
    with timed_stages(stages):
        t0, c0 = time.perf_counter(), time.process_time()
        det.fit(data.X)
        t1 = time.perf_counter()
        det.decision_function(data.X)
        t2, c2 = time.perf_counter(), time.process_time()
    runs = getattr(cfg, "restarts", 1)  # restarts train `runs` networks: the bare autoencoder trains as many epochs
    c3 = time.process_time()
    bare = bare_autoencoder_seconds(data.X, runs * cfg.epochs, cfg.batch_size, seed=seed, threads=cfg.threads)
    return Timed(scene, runs, cfg.epochs, cfg.batch_size, cfg.threads, load0, t1 - t0, t2 - t1, bare, stages,
                 c2 - c0, time.process_time() - c3, warm)


def _hog(stop) -> None:  # a CPU-bound process beside the fit (a busy machine)
    while not stop.is_set():
        sum(i * i for i in range(10000))


def tf_graph_lines(tf_python: str, lren_s: float, lren_epochs: int, epochs: int = 1000) -> list[str]:
    """LREN's own training graph in TensorFlow (``lren_reference_check.py tf``, float32 graph mode, one thread,
    the reference's 1000 epochs) on the same scene, run from `tf_python` (an environment with tensorflow-cpu),
    beside the `lren` fit timed just before it. Training seconds are read from the script's own clock (import and
    graph building excluded); the whole subprocess's wall time is printed too."""
    import subprocess
    import tempfile

    script = Path(__file__).with_name("lren_reference_check.py")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        done = subprocess.run([tf_python, str(script), "tf", "sandiego_plane", "--seed", "0", "--epochs", str(epochs),
                               "--threads", "1", "--out", str(Path(tmp) / "tf.npz")],
                              capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        wall = time.perf_counter() - t0
    if done.returncode != 0:
        return ["TensorFlow graph: failed to run (" + (done.stderr.strip().splitlines() or ["?"])[-1] + ")", ""]
    last = [line for line in done.stdout.splitlines() if " epoch " in line][-1]
    trained_epochs = int(last.split(" epoch ")[1].split(":")[0])
    train_s = float(last.rsplit(", ", 1)[1].split(" s")[0])
    tf_epoch_ms = 1000 * train_s / trained_epochs
    broke = " (its loss was NaN there: training broke, as on every sandiego seed)" if "training broke" in last else ""
    return ["LREN's own graph in TensorFlow (" + last.split(":")[0] + "), one thread, same scene, same run:", "",
            "| what | wall s | ratio to `lren` fit + score |", "|---|---|---|",
            f"| `lren` fit + decision_function ({lren_epochs} epochs) | {lren_s:.1f} | 1.00 |",
            f"| TensorFlow graph, training only, {trained_epochs} of the reference's {epochs} epochs{broke} | "
            f"{train_s:.1f} | {train_s / lren_s:.2f} |",
            f"| TensorFlow subprocess, import + graph + training | {wall:.1f} | {wall / lren_s:.2f} |",
            f"| per epoch: TensorFlow {tf_epoch_ms:.0f} ms, `lren` fit+score / epochs "
            f"{1000 * lren_s / lren_epochs:.0f} ms | | {tf_epoch_ms / (1000 * lren_s / lren_epochs):.2f} |", ""]


def speed(out: Path, tf_python: str | None = None, hog_check: bool = True) -> None:
    """One run, ratios side by side: (1) the default `lren` fit + scoring of sandiego_plane against its bare
    autoencoder for the same epochs and batches, one torch thread, with the stages (:func:`breakdown`); (2) with
    `hog_check`, 20 epochs at 1 and 2 threads with a CPU-bound process beside them (how the `threads` default was
    checked for LREN); (3) with `tf_python`, LREN's own TensorFlow graph."""
    data = load("sandiego_plane")
    timed = breakdown("sandiego_plane")
    runs, epochs = timed.restarts, timed.epochs
    what = f"{runs} restarts x {epochs} epochs" if runs > 1 else f"{epochs} epochs"
    lines = [f"## {time.strftime('%Y-%m-%d %H:%M')}: `lren` default on sandiego_plane (100x100x189), one run", "",
             f"Load average {timed.load:.1f} at the start (other jobs on the 2 cores); {timed.threads} torch "
             "thread(s) for both.", "",
             "| what | wall s | ratio to the bare autoencoder |", "|---|---|---|",
             f"| bare autoencoder, {runs * epochs} epochs, batches of {timed.batch_size} | {timed.bare_s:.1f} | 1.00 |",
             f"| `lren` fit + decision_function (default: {what}) | {timed.lren_s:.1f} | "
             f"{timed.lren_s / timed.bare_s:.2f} |", "", "Where the time went (timers around each stage, same run):",
             ""] + timed.table()
    if hog_check:
        lines += hog_lines(data)
    if tf_python:
        lines += tf_graph_lines(tf_python, timed.lren_s, runs * epochs)
    print("\n".join(lines), flush=True)
    with (out / "speed.md").open("a") as f:
        f.write("\n" + "\n".join(lines) + "\n")


def hog_lines(data) -> list[str]:
    """20 epochs of one `lren` run at 1 and at 2 torch threads, a CPU-bound process beside them."""
    import multiprocessing

    import had

    stop = multiprocessing.Event()
    hog = multiprocessing.Process(target=_hog, args=(stop,), daemon=True)
    hog.start()
    try:
        hogged = {}
        for threads in (1, 2):
            t0 = time.perf_counter()
            had.get_detector("lren", seed=0, epochs=20, restarts=1, threads=threads, device="cpu",
                             progress=False).fit(data.X)
            hogged[threads] = time.perf_counter() - t0
    finally:
        stop.set()
        hog.join()
    return ["With one CPU-bound process beside the fit (20 epochs):", "",
            "| torch threads | wall s | ratio to 1 thread |", "|---|---|---|",
            f"| 1 | {hogged[1]:.1f} | 1.00 |", f"| 2 | {hogged[2]:.1f} | {hogged[2] / hogged[1]:.2f} |", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", default="sandiego_plane")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    timed = breakdown(args.scene, args.seed)
    print(f"{args.scene}, seed {args.seed}, {timed.restarts} restarts x {timed.epochs} epochs, load average "
          f"{timed.load:.1f} at the start; fit + score / bare autoencoder: {timed.lren_s / timed.bare_s:.2f} wall, "
          f"{timed.lren_cpu_s / timed.bare_cpu_s:.2f} CPU\n")
    print("\n".join(timed.table()))


if __name__ == "__main__":
    main()
