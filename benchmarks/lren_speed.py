"""The cost of a default `lren` fit: the ratio to its bare autoencoder, where the rest goes, threads, TensorFlow.

Used by ``bench_lren.py --speed`` (one run, appended to ``results/lren/speed.md``) and runnable alone for the
stage breakdown only::

    HAD_DATA_DIR=/work/shared/data nice -n 10 .venv/bin/python benchmarks/lren_speed.py [--scene S] [--repeats 3]

* :func:`bare_autoencoder_seconds`: LREN's autoencoder alone (MSE, Adam, the same fixed batches and fast layers)
  for the epochs a default fit trains, restarts included: the part no LREN can avoid;
* :func:`breakdown`: alternating pairs in one process, each a default fit + ``decision_function`` with wall and
  CPU timers around each stage (the functions are wrapped in place for that run and restored), then the bare
  autoencoder, one torch thread; torch's one-off imports (the first optimiser imports its compiler stack) are
  paid before anything is timed, since the bare autoencoder would pay them too;
* :func:`speed`: the pairs and their median ratio, the stages, 1 against 2 threads beside a CPU hog, LREN's own
  TensorFlow graph.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from settings_arg import parse_sets


def load(name: str):
    import had

    return had.load_dataset(name)


def bare_autoencoder_seconds(X: np.ndarray, epochs: int, batch_size: int, seed: int = 0, threads: int = 1,
                             hidden: int = 400, latent: int = 9) -> float:
    """Wall seconds to train LREN's autoencoder alone (B -> hidden -> latent -> hidden -> B, MSE, Adam 1e-4; the
    timed fit's widths) for the same
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
    net = LRENNet(pixels.shape[1], hidden=hidden, latent=latent)
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
    """One default fit + ``decision_function`` and the bare autoencoder timed just after it (:func:`breakdown`)."""

    fit_s: float
    score_s: float
    bare_s: float
    #: [wall seconds, calls, CPU seconds] per :data:`STAGES` label
    stages: dict[str, list[float]]
    #: CPU seconds of this process (time.process_time) for fit + score and for the bare autoencoder
    lren_cpu_s: float
    bare_cpu_s: float
    load: float

    @property
    def lren_s(self) -> float:
        return self.fit_s + self.score_s


@dataclass
class Measured:
    """``repeats`` alternating pairs (a default fit + score, then the bare autoencoder) in one process."""

    scene: str
    restarts: int
    epochs: int
    batch_size: int
    threads: int
    #: wall seconds of torch's one-off imports, done before anything was timed (:func:`warm_torch`)
    warm_s: float
    pairs: list[Timed]

    def ratio(self, cpu: bool = False) -> float:
        """The median over pairs of fit + score / bare autoencoder (wall, or this process's CPU seconds)."""
        return float(np.median([(p.lren_cpu_s / p.bare_cpu_s) if cpu else (p.lren_s / p.bare_s) for p in self.pairs]))

    def median_pair(self) -> Timed:
        """The pair whose CPU ratio is the median one."""
        order = sorted(self.pairs, key=lambda p: p.lren_cpu_s / p.bare_cpu_s)
        return order[(len(order) - 1) // 2]

    def summary(self) -> list[str]:
        """Markdown: every pair, and the median ratios; beside them the fit alone (wall), whose training scores
        are the scene's scores that `had fit` and `had bench`'s transductive runs use (the measure is fit + a
        second scoring by ``decision_function``)."""
        lines = ["| pair | load average | fit + score wall s | bare wall s | ratio (wall) | fit + score CPU s | "
                 "bare CPU s | ratio (CPU) | fit alone wall s | fit alone / bare (wall) |",
                 "|---|---|---|---|---|---|---|---|---|---|"]
        for i, p in enumerate(self.pairs, 1):
            lines.append(f"| {i} | {p.load:.1f} | {p.lren_s:.1f} | {p.bare_s:.1f} | {p.lren_s / p.bare_s:.2f} | "
                         f"{p.lren_cpu_s:.1f} | {p.bare_cpu_s:.1f} | {p.lren_cpu_s / p.bare_cpu_s:.2f} | "
                         f"{p.fit_s:.1f} | {p.fit_s / p.bare_s:.2f} |")
        fit_alone = float(np.median([p.fit_s / p.bare_s for p in self.pairs]))
        return lines + [f"| **median** | | | | **{self.ratio():.2f}** | | | **{self.ratio(cpu=True):.2f}** | | "
                        f"{fit_alone:.2f} |", ""]

    def table(self) -> list[str]:
        """Markdown: the stages of the median pair in wall and CPU seconds (CPU: this process, what an idle core
        would take), and in bare-autoencoder epochs (CPU)."""
        pair = self.median_pair()
        per_epoch = pair.bare_cpu_s / (self.restarts * self.epochs)
        lines = ["| stage | calls | wall s | CPU s | share of fit + score (CPU) | bare-autoencoder epochs (CPU) |",
                 "|---|---|---|---|---|---|"]

        def row(label, calls, wall, cpu):
            return (f"| {label} | {calls} | {wall:.2f} | {cpu:.2f} | {cpu / pair.lren_cpu_s:.1%} | "
                    f"{cpu / per_epoch:.1f} |")

        for label, _, _ in STAGES:
            wall, calls, cpu = pair.stages.get(label, (0.0, 0, 0.0))
            lines.append(row(label, calls, wall, cpu))
        outer = [pair.stages.get(label, (0.0, 0, 0.0)) for label, _, _ in STAGES if not label.startswith(" ")]
        return lines + [
            row("rest (array copies, model building, restarts bookkeeping)", "",
                pair.lren_s - sum(o[0] for o in outer), pair.lren_cpu_s - sum(o[2] for o in outer)),
            row("**fit + decision_function**", "", pair.lren_s, pair.lren_cpu_s),
            row(f"bare autoencoder, {self.restarts * self.epochs} epochs, same process just after", "", pair.bare_s,
                pair.bare_cpu_s), "",
            f"Before anything was timed, the process's first torch optimiser took {self.warm_s:.1f} s (it imports "
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


def breakdown(scene: str = "sandiego_plane", seed: int = 0, repeats: int = 3, config: dict | None = None) -> Measured:
    """`repeats` pairs in one process: a default `lren` fit + ``decision_function`` of `scene` with a timer on
    every :data:`STAGES` function, then the bare autoencoder for the same epochs (the detector's threads: one);
    torch's one-off imports are done before (:func:`warm_torch`). Pairs alternate, so that a change of the
    machine's load falls on both sides. `config`: fields set on the detector (default: none, its defaults)."""
    import had

    data = load(scene)
    warm = warm_torch()
    pairs = []
    for _ in range(repeats):
        det = had.get_detector("lren", **{"seed": seed, "device": "cpu", "progress": False, **(config or {})})
        cfg = det.config
        stages: dict[str, list[float]] = {}
        load0 = os.getloadavg()[0]
        with timed_stages(stages):
            t0, c0 = time.perf_counter(), time.process_time()
            det.fit(data.X)
            t1 = time.perf_counter()
            det.decision_function(data.X)
            t2, c2 = time.perf_counter(), time.process_time()
        runs = getattr(cfg, "restarts", 1)  # restarts train `runs` networks: the bare autoencoder as many epochs
        c3 = time.process_time()
        bare = bare_autoencoder_seconds(data.X, runs * cfg.epochs, cfg.batch_size, seed=seed, threads=cfg.threads,
                                        hidden=cfg.hidden, latent=cfg.latent)
        pairs.append(Timed(t1 - t0, t2 - t1, bare, stages, c2 - c0, time.process_time() - c3, load0))
    return Measured(scene, runs, cfg.epochs, cfg.batch_size, cfg.threads, warm, pairs)


def _hog(stop) -> None:  # a CPU-bound process beside the fit (a busy machine)
    while not stop.is_set():
        sum(i * i for i in range(10000))


def tf_graph_lines(tf_python: str, lren_s: float, lren_epochs: int, epochs: int = 1000) -> list[str]:
    """LREN's own training graph in TensorFlow (``lren_reference_check.py tf``, float32 graph mode, one thread;
    the reference trains 1000 epochs, `epochs` here) on the same scene, run from `tf_python` (an environment with
    tensorflow-cpu), beside the `lren` fit timed just before it. Training seconds are read from the script's own
    clock (import and graph building excluded); the whole subprocess's wall time is printed too."""
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
            f"| `lren` fit + decision_function ({lren_epochs} epochs, the median pair) | {lren_s:.1f} | 1.00 |",
            f"| TensorFlow graph, training only, {trained_epochs} of {epochs} epochs asked (the reference trains "
            f"1000){broke} | {train_s:.1f} | {train_s / lren_s:.2f} |",
            f"| TensorFlow subprocess, import + graph + training | {wall:.1f} | {wall / lren_s:.2f} |",
            f"| per epoch: TensorFlow {tf_epoch_ms:.0f} ms, `lren` fit+score / epochs "
            f"{1000 * lren_s / lren_epochs:.0f} ms | | {tf_epoch_ms / (1000 * lren_s / lren_epochs):.2f} |", ""]


def speed(out: Path, tf_python: str | None = None, hog_check: bool = True, repeats: int = 3,
          tf_epochs: int = 1000) -> None:
    """One run, appended to ``speed.md``: (1) `repeats` alternating pairs of the default `lren` fit + scoring of
    sandiego_plane and its bare autoencoder for the same epochs and batches, one torch thread, with the stages of
    the median pair (:func:`breakdown`); (2) with `hog_check`, 20 epochs at 1 and 2 threads with a CPU-bound
    process beside them (how the `threads` default was checked for LREN); (3) with `tf_python`, LREN's own
    TensorFlow graph for `tf_epochs` epochs (the reference trains 1000)."""
    data = load("sandiego_plane")
    measured = breakdown("sandiego_plane", repeats=repeats)
    runs, epochs, pair = measured.restarts, measured.epochs, measured.median_pair()
    what = f"{runs} restarts x {epochs} epochs" if runs > 1 else f"{epochs} epochs"
    lines = [f"## {time.strftime('%Y-%m-%d %H:%M')}: `lren` default on sandiego_plane (100x100x189), one run", "",
             f"{repeats} alternating pairs in one process: `lren` fit + decision_function (default: {what}), then "
             f"the bare autoencoder ({runs * epochs} epochs, batches of {measured.batch_size}); {measured.threads} "
             "torch thread(s) for both; load average at the start of each pair (other jobs on the 2 cores). CPU "
             "seconds are this process's (`time.process_time`).", ""] + measured.summary()
    lines += ["Where the time went in the median pair (timers around each stage):", ""] + measured.table()
    if hog_check:
        lines += hog_lines(data)
    if tf_python:
        lines += tf_graph_lines(tf_python, pair.lren_s, runs * epochs, tf_epochs)
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
    parser.add_argument("--repeats", type=int, default=1, help="alternating pairs (lren, bare autoencoder)")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="config fields of the timed `lren` (a JSON value or a string), e.g. lrr_svt=gram")
    args = parser.parse_args()
    config = parse_sets(args.set)
    measured = breakdown(args.scene, args.seed, args.repeats, config)
    print(f"{args.scene}, seed {args.seed}, {measured.restarts} restarts x {measured.epochs} epochs, "
          f"config {config or 'default'}\n")
    print("\n".join(measured.summary() + measured.table()))


if __name__ == "__main__":
    main()
