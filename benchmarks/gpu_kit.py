"""The device checks, prepared for a session that is lent a GPU machine (the `device` tool): one budgeted command.

It ran once on an H200 (4 December 2026, the first session lent one): figures in
``benchmarks/results/gpu/`` and docs/results.md (*GPU checks*); there BS3LNet took about 395 s of a 510 s budget
(the 100-epoch fits of the last five scenes did not fit and were skipped, then ran in a second call: about 260 s
more), so everything here needs about 770 s of checks, more than one call's 600 s: give it two calls
(``--checks env bs3lnet --reserve 0 --budget 560``, then ``--checks parity geohgan``) when the session has the
time. The device machine has Python 3.12 with torch (CUDA), numpy, scipy, pluggy, safetensors, click, tqdm, h5py, matplotlib and onnxruntime (CPU build), and nothing can be fetched there;
what is missing travels in ``.gpukit/`` (ignored by git, at most 64 MiB with the working tree).

Here, once per session, before the device call (needs the network for the dependency wheels)::

    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/gpu_kit.py prepare

There, one call of the device tool's ``run`` with ``carry: [".gpukit"]`` and ``timeout_s: 600``::

    PYTHONUNBUFFERED=1 python3 benchmarks/gpu_kit.py run --budget 480

``run`` installs the wheels into /tmp/site, then runs the checks in this order until `--budget` seconds of wall
time are spent (a check that would start after it is skipped and said), appending one CSV row per result to
``$OUT/gpu_checks.csv`` as it goes, so a call cut short still returns what finished:

1. ``env``: torch, CUDA device, the registered had plugins, onnxruntime's providers;
2. ``large``: ``benchmarks/bench_large.py --steps rx-score,rx-parts`` on the machine's CPUs (RX ``threads`` = its cores,
   at most 8; about a minute): whether RX fit + score comes within 2x one read of a 1 GiB ENVI line with more
   than the development machine's two cores (issue 15; docs/scale.md);
3. ``bs3lnet``: every hyperspectral scene (development scenes first), seed 0, at 1 and 10 epochs with RX beside
   each, then 100 epochs on each scene whose time at 10 epochs says it fits in the budget less ``--reserve``
   (100 steps of 100 patches per epoch on a 100x100 scene; the default is 1 epoch, the reference's 1000 epochs
   are 18 CPU hours here), AUROC, wall seconds and steps per second per fit; one CUDA-fitted model scored on the
   CPU too (max relative difference);
4. ``parity``: the autoencoder and LREN fitted on CUDA and on the CPU from the same seed (scores' rank
   correlation and AUROC of each; training on a GPU is not bit-equal to the CPU), and scoring one CUDA-fitted
   model on both devices (max relative difference);
5. ``geohgan``: the one-class headline (64x64 tiles, 512x512x10 synthetic raster, seeds 0-2) at the reference's
   100 + 100 epochs on CUDA (734 CPU s per seed here), then 300 + 300.

ONNX on CUDA is not checked here: ``onnxruntime-gpu`` is larger than what one call can carry (and must not
share an environment with the CPU ``onnxruntime`` already there); ``benchmarks/gpu_onnx.py`` carries it in parts
over four calls and checks it. TensorRT's own libraries (several hundred MB more) are not carried by either.
A session's 15 device minutes do not hold both: the next one lent a machine should run ``gpu_onnx.py prepare``
and the calls it prints (the first of them runs this kit's ``env`` and ``large`` checks with the kit of
gpu_onnx, then the ONNX check follows; it has never run: its calls must follow each other within the machine's
30 s idle window), then what is left of this kit (``--checks parity`` is the cheapest; ``geohgan`` and
``bs3lnet`` ran on 4 December 2026). Two sessions lent device time (4 and 5 December 2026) were answered "no new
device machine is lent at present" on their first call. Record what comes back in
docs/results.md with this command; ``gpu_checks.csv`` has every figure.

``run --no-install --device cpu --smoke`` runs the same driver here, on tiny budgets (the test of the driver).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / ".gpukit"
#: the distributions the checks import, built here as wheels
PROJECTS = [".", "sdk", "plugins/hsi", "plugins/synthetic", "plugins/raster", "plugins/autoencoder",
            "plugins/lren", "plugins/bs3lnet", "plugins/geohgan"]
#: what the device lacks (KINDS.md's package list), pinned to the versions installed here
MISSING = ["pydantic", "pydantic-core", "annotated-types", "typing-inspection", "typing-extensions",
           "spectral"]
#: of those, the ones published only as a source distribution (spectral 0.25): built here into pure-Python wheels
SOURCE_ONLY = {"spectral"}
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]
#: development scenes first (their order is the order of the long fits), then the headline scenes
SCENES = ["hydice-ii", "muufl-crop", "abu-airport-1", "abu-airport-3", "abu-beach-1", "abu-beach-3", "abu-urban-1",
          "abu-urban-4", "hydice", "sandiego_plane", "abu-beach-4", "abu-urban-2"]
LIMIT = 60 * 2**20


# ---- here ------------------------------------------------------------------------------------------------
def keep_out_of_git(folder: str) -> None:
    """`folder` (under the repository root) in .git/info/exclude, so that it travels only when carried."""
    exclude = ROOT / ".git" / "info" / "exclude"
    if (ROOT / ".git").is_dir() and f"/{folder}/" not in (exclude.read_text().split() if exclude.exists() else []):
        exclude.parent.mkdir(exist_ok=True)
        with exclude.open("a") as fh:
            fh.write(f"/{folder}/\n")


def pip_download(dest: Path, *requirements: str) -> None:
    """Binary wheels of `requirements` for the device's Python 3.12 on x86-64 Linux, without their dependencies."""
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "--python-version", "3.12", "--implementation", "cp",
                    *[a for p in PLATFORMS for a in ("--platform", p)], "-d", str(dest), *requirements], check=True)


def kit_wheels(projects: list[str], dest: Path) -> None:
    """Wheels of the repository's `projects` and of what the device lacks (:data:`MISSING`, pinned to here)."""
    from importlib.metadata import version

    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dest),
                    *[str(ROOT / p) for p in projects]], check=True)
    pip_download(dest, *[f"{name}=={version(name)}" for name in MISSING if name not in SOURCE_ONLY])
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dest),
                    *[f"{name}=={version(name)}" for name in MISSING if name in SOURCE_ONLY]], check=True)


def copy_scenes(names: list[str], dest: Path) -> None:
    """The hyperspectral scenes' files from HAD_DATA_DIR into `dest` (a data folder's ``hsi/``)."""
    import had_hsi.scenes as scenes

    source = Path(os.environ.get("HAD_DATA_DIR", ROOT.parent / "shared" / "data")) / "hsi"
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        filename = Path(scenes.SCENES[name].file.relpath).name
        shutil.copy2(source / filename, dest / filename)


def prepare(args) -> int:
    """Fill .gpukit/ with wheels and scenes, and keep it out of git."""
    keep_out_of_git(".gpukit")
    shutil.rmtree(KIT, ignore_errors=True)
    wheels = KIT / "wheels"
    kit_wheels(PROJECTS, wheels)
    copy_scenes(SCENES, KIT / "data" / "hsi")
    size = sum(p.stat().st_size for p in KIT.rglob("*") if p.is_file())
    print(f"{KIT}: {size / 2**20:.1f} MiB ({len(list(wheels.iterdir()))} wheels, {len(SCENES)} scenes)")
    if size > LIMIT:
        print(f"too large to carry (limit {LIMIT / 2**20:.0f} MiB with the working tree)", file=sys.stderr)
        return 1
    return 0


# ---- there -----------------------------------------------------------------------------------------------
def install_wheels(wheels: Path, site: str) -> None:
    """Every wheel in `wheels` into the folder `site` (offline, no dependencies: the kit carries them)."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                    "--no-cache-dir", "--upgrade", "--target", site, *map(str, sorted(wheels.iterdir()))], check=True)


def install() -> None:
    """The kit's wheels into /tmp/site, then this script again with it on the path and the kit's data."""
    site = "/tmp/site"
    install_wheels(KIT / "wheels", site)
    env = dict(os.environ, PYTHONPATH=site, HAD_DATA_DIR=str(KIT / "data"))
    os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:], "--no-install"], env)


class Budget:
    def __init__(self, seconds: float):
        self.end = time.perf_counter() + seconds

    def left(self) -> float:
        return self.end - time.perf_counter()


class Rows:
    """`name` (a CSV file) under `out`, one row per result, written as it comes (and echoed)."""

    FIELDS = ["check", "item", "seed", "setting", "device", "value", "unit", "wall_s", "note"]

    def __init__(self, out: Path, name: str = "gpu_checks.csv"):
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / name
        with self.path.open("w", newline="") as fh:
            csv.writer(fh).writerow(self.FIELDS)

    def add(self, **row) -> None:
        with self.path.open("a", newline="") as fh:
            csv.DictWriter(fh, self.FIELDS).writerow({k: row.get(k, "") for k in self.FIELDS})
        print(" ".join(f"{k}={row[k]}" for k in self.FIELDS if row.get(k, "") != ""), flush=True)


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def check_env(rows: Rows, device: str, smoke: bool) -> None:
    import torch

    from had import plugins

    name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA"
    rows.add(check="env", item="torch", value=torch.__version__, note=f"{name}; python {sys.version.split()[0]}")
    detectors = sorted(plugins.registry()["detector"])
    rows.add(check="env", item="detectors", value=len(detectors), note=" ".join(detectors))
    try:
        import onnxruntime

        rows.add(check="env", item="onnxruntime", value=onnxruntime.__version__,
                 note=" ".join(onnxruntime.get_available_providers()))
    except ImportError as exc:
        rows.add(check="env", item="onnxruntime", note=f"not importable: {exc}")


def check_parity(rows: Rows, device: str, smoke: bool) -> None:
    import numpy as np
    from scipy.stats import spearmanr

    import had
    from had.metrics import auroc

    data = had.load_dataset("sandiego_plane")
    y = np.asarray(data.y).reshape(-1)
    settings = {"autoencoder": {"epochs": 2 if smoke else 30, "restarts": 1}, "lren": {"epochs": 1, "restarts": 1} if smoke else {}}
    for name, extra in settings.items():
        fits = {}
        for where in dict.fromkeys([device, "cpu"]):
            det, wall = timed(lambda: had.get_detector(name, {**extra, "device": where, "seed": 0}).fit(data.X))
            fits[where] = det
            rows.add(check="parity", item=f"{name} fit", seed=0, setting=str(extra), device=where,
                     value=round(auroc(y, det.decision_scores_), 4), unit="auroc", wall_s=round(wall, 2))
        here, cpu = fits[device].decision_scores_, fits["cpu"].decision_scores_
        rows.add(check="parity", item=f"{name} {device} vs cpu fit", seed=0, device=device,
                 value=round(float(spearmanr(here, cpu).statistic), 4), unit="spearman")
        on_cpu = fits[device].to("cpu").decision_function(data.X).reshape(-1)
        rows.add(check="parity", item=f"{name} {device}-fitted, scored on cpu", seed=0, device=device,
                 value=f"{float(np.max(np.abs(on_cpu - here) / np.maximum(np.abs(here), 1e-12))):.2e}",
                 unit="max rel diff")


def check_geohgan(rows: Rows, device: str, smoke: bool, budget: Budget) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_geohgan

    for epochs in ([1] if smoke else [100, 300]):
        for seed in ((0,) if smoke else (0, 1, 2)):
            if budget.left() < (5 if smoke else 30):
                rows.add(check="geohgan", item="skipped", setting=f"{epochs}+{epochs}", note="budget spent")
                return
            found, wall = timed(lambda: bench_geohgan.run_one(
                "synthetic-geochem-64", seed, epochs, None, baselines=epochs == ([1] if smoke else [100])[0],
                protocol="one-class", autoencoder=False, device=device))
            for row in found:
                if row["detector"] != "geohgan" or row["deployed"]:
                    rows.add(check="geohgan", item=f"{row['detector']} {row['score']}", seed=seed,
                             setting=row["epochs"] or "", device=device if row["detector"] == "geohgan" else "cpu",
                             value=round(row["auroc"], 4), unit="auroc", wall_s=round(row["wall_s"], 2),
                             note=f"{row['n_train']} fitted, {row['n_tiles']} scored tiles")


def check_large(rows: Rows, device: str, smoke: bool) -> None:
    """benchmarks/bench_large.py's RX steps on the device machine's CPUs (16 cores, against the 2 of the
    development machine, where RX fit + score stays above 2x one read: its arithmetic, not its reading, is the
    bound; docs/scale.md): the 1 GiB ENVI BIL line, RX with ``threads`` = the machine's cores (at most 8)."""
    threads = max(1, min(8, os.cpu_count() or 1))
    size = ["--lines", "64", "--samples", "64", "--bands", "8"] if smoke else []
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_large.py"), "--steps", "rx-score,rx-parts",
                           "--threads", str(threads), *size], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"bench_large exited {done.returncode}: {done.stderr[-300:]}")
    for line in done.stdout.splitlines():
        label, _, result = line.strip().partition(": ")
        if result.startswith("{"):
            step = json.loads(result)
            rows.add(check="large", item=label, setting=f"threads {threads}", device="cpu",
                     value=round(step["wall_s"], 6), unit="wall s",
                     note=f"cpu {step['cpu_s']:.1f} s, peak rss {step['peak_rss_mb']:.0f} MB")
        elif line.startswith(("target", "file:", "machine:", "floor")):
            rows.add(check="large", item=line.split(",")[0].split(":")[0], setting=f"threads {threads}",
                     device="cpu", note=line.strip())


def check_bs3lnet(rows: Rows, device: str, smoke: bool, budget: Budget, reserve: float) -> None:
    """Every scene at 1 and 10 epochs (RX beside it), then 100 epochs where the time measured at 10 says it fits
    in what is left of the budget less `reserve` (the seconds kept for the later checks); development scenes first."""
    import numpy as np

    import had
    from had.metrics import auroc

    scenes = ["sandiego_plane", "hydice"] if smoke else SCENES
    short, long = ([0.02, 0.05], [0.1]) if smoke else ([1, 10], [100])
    per_epoch: dict[str, float] = {}

    def fit(scene: str, data, epochs: float) -> None:
        det, wall = timed(lambda: had.get_detector(
            "bs3lnet", {"epochs": epochs, "seed": 0, "device": device, "progress": False}).fit(data.X))
        per_epoch[scene] = wall / epochs
        steps = det.history_.get("steps")
        rows.add(check="bs3lnet", item=scene, seed=0, setting=f"epochs {epochs}", device=device,
                 value=round(auroc(np.asarray(data.y).reshape(-1), det.decision_scores_), 4), unit="auroc",
                 wall_s=round(wall, 2), note=f"{steps} steps, {steps / det.history_['train_seconds']:.1f} steps/s")
        if scene == scenes[0] and epochs == short[-1] and device != "cpu":
            here = det.decision_scores_
            on_cpu = det.to("cpu").decision_function(data.X).reshape(-1)
            rows.add(check="bs3lnet", item=f"{scene} {device}-fitted, scored on cpu", seed=0,
                     setting=f"epochs {epochs}", device=device, unit="max rel diff",
                     value=f"{float(np.max(np.abs(on_cpu - here) / np.maximum(np.abs(here), 1e-12))):.2e}")

    for scene in scenes:
        data = had.load_dataset(scene)
        rx = had.get_detector("rx").fit(data.X)
        rows.add(check="bs3lnet", item=scene, setting="rx", device="cpu",
                 value=round(auroc(np.asarray(data.y).reshape(-1), rx.decision_scores_), 4), unit="auroc")
        for epochs in short:
            if budget.left() - reserve < (2 if smoke else 20):
                rows.add(check="bs3lnet", item=scene, setting=f"epochs {epochs}", note="skipped: budget spent")
                continue
            fit(scene, data, epochs)
    for epochs in long:
        for scene in scenes:
            need = per_epoch.get(scene, float("inf")) * epochs * 1.1 + 5
            if need > budget.left() - reserve:
                rows.add(check="bs3lnet", item=scene, setting=f"epochs {epochs}",
                         note=f"skipped: needs ~{need:.0f} s, {budget.left() - reserve:.0f} s left")
                continue
            fit(scene, had.load_dataset(scene), epochs)


def run(args) -> int:
    if not args.no_install:
        install()  # does not return
    rows = Rows(Path(os.environ.get("OUT") or args.out))
    budget = Budget(args.budget)
    checks = [("env", lambda: check_env(rows, args.device, args.smoke)),
              ("large", lambda: check_large(rows, args.device, args.smoke)),
              ("bs3lnet", lambda: check_bs3lnet(rows, args.device, args.smoke, budget, args.reserve)),
              ("parity", lambda: check_parity(rows, args.device, args.smoke)),
              ("geohgan", lambda: check_geohgan(rows, args.device, args.smoke, budget))]
    failed = 0
    for name, check in checks:
        if name not in args.checks:
            continue
        if budget.left() <= 0:
            rows.add(check=name, item="skipped", note="budget spent")
            continue
        try:
            _, wall = timed(check)
            print(f"== {name}: {wall:.1f}s, {budget.left():.0f}s of the budget left", flush=True)
        except Exception as exc:  # one broken check must not cost the others
            failed += 1
            rows.add(check=name, item="failed", note=f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
    return 1 if failed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare", help="here: fill .gpukit/ (wheels, scenes)")
    there = sub.add_parser("run", help="there: install the kit and run the checks within the budget")
    there.add_argument("--budget", type=float, default=480.0, help="wall seconds for the checks (default 480)")
    there.add_argument("--device", default="cuda")
    there.add_argument("--checks", nargs="+", default=["env", "large", "bs3lnet", "parity", "geohgan"])
    there.add_argument("--reserve", type=float, default=90.0,
                       help="seconds of the budget bs3lnet leaves to the checks after it (default 90)")
    there.add_argument("--out", default="gpu-out", help="where gpu_checks.csv goes when $OUT is unset")
    there.add_argument("--smoke", action="store_true", help="tiny epochs and scenes (the driver's own test)")
    there.add_argument("--no-install", action="store_true", help="use this environment as it is")
    args = parser.parse_args(argv)
    return prepare(args) if args.command == "prepare" else run(args)


if __name__ == "__main__":
    sys.exit(main())
