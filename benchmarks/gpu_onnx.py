"""ONNX on the GPU: exported detectors scored by onnxruntime-gpu's CUDA provider on a lent device machine.

docs/deployment.md asks the first GPU run to check ``OnnxScorer``'s providers and its parity with the eager
scores. The device machine has torch on CUDA 13 but only the CPU ``onnxruntime``, and nothing can be fetched
there; ``onnxruntime-gpu`` 1.31.1 (built for CUDA 13, like that torch) is a 256 MB wheel, while one call of the
device tool carries 64 MiB. So ``prepare`` repacks the wheel's package (xz) into parts that travel in
consecutive calls while the machine stays warm (it is given back after 30 s idle), each call moving its part
to /tmp/ort-parts there; the first call also leaves the kit (the exported models) there and the last runs the check.

Here (needs the network once, for the wheel; fits the models on the CPU, a few minutes)::

    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/gpu_onnx.py prepare

It prints the device calls to make, back to back (:func:`device_calls`). The first carries the last (smallest)
part and the kit, moves the part to /tmp/ort-parts, copies the kit to /tmp/ort-kit, installs the kit's wheels
and runs gpu_kit's ``env`` and ``large`` checks (issue 15's measurement, about a minute: it comes back first,
whatever happens to the later calls); each call after it carries one more part (``mkdir -p /tmp/ort-parts && mv
.gpuonnx/part-K /tmp/ort-parts/`` with ``carry: [".gpuonnx/part-K"]``; a part and the kit together are more than
one call carries), and the last of them then runs ``PYTHONUNBUFFERED=1 python3 benchmarks/gpu_onnx.py run --kit
/tmp/ort-kit``.

``run`` checks the parts' sha256, unpacks them into /tmp/ortsite, installs the kit's wheels into /tmp/site,
restarts itself with both on the path (before the device's CPU onnxruntime) and torch's CUDA libraries on
``LD_LIBRARY_PATH``, then for each exported model (RX, LREN, the autoencoder and BS3LNet, fitted here on
sandiego_plane):

1. ``OnnxScorer`` with the default providers (TensorRT, CUDA, CPU: the TensorRT libraries are not on the device,
   so this also checks the fallback ``providers`` reports), then CUDA alone and CPU alone: the providers kept,
   IO binding, and each one's max relative difference and AUROC against the eager scores saved at fit time;
2. throughput on a larger cube (the scene's pixels resampled, 1024 x 1024 pixels; 512 x 512 for BS3LNet):
   rows per second of onnxruntime CUDA, onnxruntime CPU, torch eager on CUDA and torch eager on the CPU, in one
   run, the median of three calls after one warm-up call each.

One CSV row per result goes to ``$OUT/gpu_onnx.csv`` (gpu_kit's columns) as it comes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_kit import (LIMIT, Budget, Rows, copy_scenes, install_wheels, keep_out_of_git, kit_wheels,  # noqa: E402
                     pip_download, timed)

ROOT = Path(__file__).resolve().parents[1]
HOLD = ROOT / ".gpuonnx"
KIT = HOLD / "kit"
WHEEL = "onnxruntime-gpu==1.31.1"
PART_BYTES = 56 * 2**20
PARTS_THERE = Path("/tmp/ort-parts")
#: where the first call leaves a copy of the kit, for the last call (which carries only its part)
KIT_THERE = Path("/tmp/ort-kit")
ORT_SITE, KIT_SITE = Path("/tmp/ortsite"), Path("/tmp/site")
SCENE = "sandiego_plane"
MODELS = ("rx", "lren", "autoencoder", "bs3lnet")
PROJECTS = [".", "sdk", "plugins/hsi", "plugins/autoencoder", "plugins/lren", "plugins/bs3lnet"]
#: within the repacked package: what scoring does not need (quantisation, transformer tools)
DROPPED = ("onnxruntime/transformers", "onnxruntime/tools", "onnxruntime/quantization", "onnxruntime/datasets")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---- here ------------------------------------------------------------------------------------------------
def prepare(args) -> int:
    keep_out_of_git(".gpuonnx")
    shutil.rmtree(HOLD, ignore_errors=True)
    HOLD.mkdir()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if not list(work.glob("onnxruntime_gpu-*.whl")):
        pip_download(work, WHEEL)
    packed = work / "ort.tar.xz"
    if not packed.exists():
        unpacked = work / "unpacked"
        shutil.rmtree(unpacked, ignore_errors=True)
        subprocess.run(["unzip", "-q", str(next(work.glob("onnxruntime_gpu-*.whl"))), "-d", str(unpacked)], check=True)
        for name in DROPPED:
            shutil.rmtree(unpacked / name, ignore_errors=True)
        tmp = packed.with_suffix(".part")
        with tmp.open("wb") as out:
            tar = subprocess.Popen(["tar", "-cf", "-", "-C", str(unpacked), "."], stdout=subprocess.PIPE)
            subprocess.run(["xz", "-9", "-T2"], stdin=tar.stdout, stdout=out, check=True)
            tar.wait()
        tmp.rename(packed)
    parts = []
    with packed.open("rb") as fh:
        for k, block in enumerate(iter(lambda: fh.read(PART_BYTES), b""), 1):
            part = HOLD / f"part-{k}"
            part.write_bytes(block)
            parts.append({"name": part.name, "sha256": sha256(part), "bytes": len(block)})
    # the kit: had and the plugins the models need, pydantic's wheels, the scene, the fitted models
    kit_wheels(PROJECTS, KIT / "wheels")
    copy_scenes([SCENE], KIT / "data" / "hsi")
    had = [str(Path(sys.executable).parent / "had")]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for name in MODELS:
        subprocess.run([*had, "fit", name, SCENE, "-o", str(KIT / "models" / name), "--export"],
                       check=True, env=env)
    (KIT / "parts.json").write_text(json.dumps(parts, indent=1))
    size = parts[-1]["bytes"] + sum(p.stat().st_size for p in KIT.rglob("*") if p.is_file())
    print(f"{HOLD}: {len(parts)} parts of at most {PART_BYTES / 2**20:.0f} MiB; the first call carries "
          f"{size / 2**20:.1f} MiB")
    if size > LIMIT:
        print(f"the first call is too large to carry (limit {LIMIT / 2**20:.0f} MiB with the working tree)",
              file=sys.stderr)
        return 1
    for line in device_calls([part["name"] for part in parts]):
        print(line)
    return 0


def device_calls(names: list[str]) -> list[str]:
    """The device calls that carry the parts `names` (the last the smallest) and run the checks, in order: a part
    with the kit is more than one call carries, so the first call leaves a copy of the kit in /tmp/ort-kit."""
    move = f"mkdir -p {PARTS_THERE} && mv .gpuonnx/{{}} {PARTS_THERE}/"
    lines = ["device calls, back to back (the machine goes back after 30 s idle):",
             f'  carry [".gpuonnx/{names[-1]}", ".gpuonnx/kit"], timeout_s 400: {move.format(names[-1])} && '
             f"cp -r .gpuonnx/kit {KIT_THERE} && python3 -m pip install -q --no-index --no-deps --no-compile "
             f"--no-cache-dir --upgrade --target {KIT_SITE} {KIT_THERE}/wheels/*.whl && PYTHONPATH={KIT_SITE} "
             "PYTHONUNBUFFERED=1 python3 benchmarks/gpu_kit.py run --no-install --checks env large --budget 300"]
    run = f"PYTHONUNBUFFERED=1 python3 benchmarks/gpu_onnx.py run --kit {KIT_THERE}"
    for k, name in enumerate(names[:-1]):
        then = run if k == len(names) - 2 else f"ls -l {PARTS_THERE}"
        lines.append(f'  carry [".gpuonnx/{name}"]: {move.format(name)} && {then}')
    if len(names) == 1:
        lines.append(f"  no carry: {run}")
    return lines


# ---- there -----------------------------------------------------------------------------------------------
def unpack(kit: Path = KIT, places: tuple[Path, ...] = (PARTS_THERE, HOLD), site: Path = ORT_SITE) -> None:
    """The parts (moved to /tmp/ort-parts by the earlier calls, the last one in .gpuonnx/) checked against
    ``parts.json`` and unpacked into `site`."""
    listed = json.loads((kit / "parts.json").read_text())
    paths = []
    for part in listed:
        path = next((p for p in (place / part["name"] for place in places) if p.exists()), None)
        if path is None:
            raise SystemExit(f"{part['name']} is missing: the machine was given back between the calls "
                             "(a fresh one lost the earlier parts); make the calls again from the first")
        if sha256(path) != part["sha256"]:
            raise SystemExit(f"{path}: sha256 differs from parts.json; carry it again")
        paths.append(path)
    site.mkdir(parents=True, exist_ok=True)
    reader, writer = os.pipe()
    feeder = os.fork()
    if feeder == 0:  # child: the parts, concatenated, into the pipe
        os.close(reader)
        with os.fdopen(writer, "wb") as out:
            for path in paths:
                with path.open("rb") as fh:
                    shutil.copyfileobj(fh, out, 2**20)
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as stream, tarfile.open(fileobj=stream, mode="r|xz") as tar:
        tar.extractall(site, filter="data")
    os.waitpid(feeder, 0)


def cuda_library_dirs() -> list[str]:
    """Folders of the CUDA libraries torch's pip packages bring (libcudart, libcublas, libcudnn, ...)."""
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.origin:
        return []
    site = Path(spec.origin).parents[1]
    return sorted({str(p.parent) for p in (site / "nvidia").rglob("lib*.so*")})


def install(kit: Path = KIT) -> None:
    if not (ORT_SITE / "onnxruntime").is_dir():
        _, wall = timed(lambda: unpack(kit))
        print(f"unpacked onnxruntime-gpu into {ORT_SITE} in {wall:.1f}s", flush=True)
    install_wheels(kit / "wheels", str(KIT_SITE))
    libs = ":".join(cuda_library_dirs() + [os.environ.get("LD_LIBRARY_PATH", "")]).rstrip(":")
    env = dict(os.environ, PYTHONPATH=f"{ORT_SITE}:{KIT_SITE}", HAD_DATA_DIR=str(kit / "data"), LD_LIBRARY_PATH=libs)
    os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:], "--no-install"], env)


def resampled(X, pixels: tuple[int, int], seed: int = 0):
    """A larger cube made of the scene's own pixels, drawn with replacement (realistic values for throughput)."""
    import numpy as np

    flat = np.asarray(X, dtype=np.float32).reshape(-1, X.shape[-1])
    rows = np.random.default_rng(seed).integers(0, flat.shape[0], size=pixels[0] * pixels[1])
    return flat[rows].reshape(*pixels, -1)


def check(rows: Rows, budget: Budget, smoke: bool, kit: Path = KIT) -> None:
    """Parity and throughput of every model under `kit`/models (see the module docstring)."""
    import numpy as np
    import torch  # first: its CUDA libraries are the ones onnxruntime's provider then finds loaded

    import onnxruntime

    import had
    from had.metrics import auroc
    from had.runtime import OnnxScorer

    if hasattr(onnxruntime, "preload_dlls") and torch.cuda.is_available():
        onnxruntime.preload_dlls()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    name = torch.cuda.get_device_name(0) if device == "cuda" else "no CUDA"
    rows.add(check="env", item="onnxruntime", value=onnxruntime.__version__, device=name,
             note=f"{onnxruntime.__file__}; available: {' '.join(onnxruntime.get_available_providers())}")
    rows.add(check="env", item="torch", value=torch.__version__, device=name,
             note=f"threads {torch.get_num_threads()}; cpus {os.cpu_count()}")
    data = had.load_dataset(SCENE)
    y = np.asarray(data.y).reshape(-1)
    for model in [m for m in MODELS if (kit / "models" / m).is_dir()]:
        folder = kit / "models" / model
        det = had.load(folder)
        eager = np.asarray(det.decision_scores_, dtype=np.float64).reshape(-1)
        rows.add(check="parity", item=model, setting="eager cpu (fit here)", device="cpu",
                 value=round(auroc(y, eager), 4), unit="auroc")
        for label, providers in (("default", None), ("cuda", ["CUDAExecutionProvider"]),
                                 ("cpu", ["CPUExecutionProvider"])):
            try:
                scorer, opened = timed(lambda: OnnxScorer(folder, providers=providers))
                got, wall = timed(lambda: np.asarray(scorer.score(data.X), dtype=np.float64).reshape(-1))
            except Exception as exc:  # noqa: BLE001 - a provider that fails is a finding, not the end of the check
                rows.add(check="parity", item=model, setting=f"onnx {label}", note=f"{type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:300]}")
                continue
            rel = float(np.max(np.abs(got - eager) / np.maximum(np.abs(eager), 1e-12)))
            rows.add(check="parity", item=model, setting=f"onnx {label}", device=" ".join(scorer.providers),
                     value=f"{rel:.2e}", unit="max rel diff vs eager", wall_s=round(wall, 3),
                     note=f"auroc {auroc(y, got):.4f}; io_binding {scorer.io_binding}; session {opened:.2f}s")
        if budget.left() < 30:
            rows.add(check="speed", item=model, note="skipped: budget spent")
            continue
        side = (64, 64) if smoke else ((512, 512) if model == "bs3lnet" else (1024, 1024))
        cube = resampled(data.X, side)
        n = side[0] * side[1]
        warm = cube[:16]

        def ort(providers):
            scorer = OnnxScorer(folder, providers=providers)
            scorer.score(warm)
            return lambda: scorer.score(cube)

        def eager_on(where):
            fitted = had.load(folder)
            if hasattr(fitted, "to"):
                fitted = fitted.to(where)
            elif where != "cpu":
                return None
            fitted.decision_function(warm)

            def go():
                out = fitted.decision_function(cube)
                if where == "cuda":
                    torch.cuda.synchronize()
                return out
            return go

        for label, make in (("onnxruntime cuda", lambda: ort(["CUDAExecutionProvider"])),
                            ("onnxruntime cpu", lambda: ort(["CPUExecutionProvider"])),
                            ("torch eager cuda", lambda: eager_on("cuda") if device == "cuda" else None),
                            ("torch eager cpu", lambda: eager_on("cpu"))):
            if budget.left() < 15:
                rows.add(check="speed", item=model, setting=label, note="skipped: budget spent")
                continue
            try:
                go = make()
                if go is None:
                    rows.add(check="speed", item=model, setting=label, note="not a torch detector / no CUDA")
                    continue
                wall = sorted(timed(go)[1] for _ in range(3))[1]  # the median of three
            except Exception as exc:  # noqa: BLE001
                rows.add(check="speed", item=model, setting=label,
                         note=f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
                continue
            rows.add(check="speed", item=model, setting=label, device=device, value=round(n / wall),
                     unit="rows/s", wall_s=round(wall, 3), note=f"{side[0]}x{side[1]} pixels, {cube.shape[-1]} bands")


def run(args) -> int:
    if not args.no_install:
        install(Path(args.kit))  # does not return
    rows = Rows(Path(os.environ.get("OUT") or args.out), "gpu_onnx.csv")
    try:
        check(rows, Budget(args.budget), args.smoke, Path(args.kit))
    except Exception as exc:  # noqa: BLE001 - the rows so far come back whatever happens
        rows.add(check="onnx", item="failed", note=f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    here = sub.add_parser("prepare", help="here: the wheel's parts, the kit (wheels, scene, exported models)")
    here.add_argument("--work", default="/tmp/had-ortgpu", help="where the wheel is downloaded and repacked")
    there = sub.add_parser("run", help="there: unpack, install, check")
    there.add_argument("--budget", type=float, default=300.0, help="wall seconds for the checks (default 300)")
    there.add_argument("--out", default="gpu-out", help="where gpu_onnx.csv goes when $OUT is unset")
    there.add_argument("--smoke", action="store_true", help="small cubes (the driver's own test)")
    there.add_argument("--kit", default=str(KIT), help="the models (and parts.json) to check (default .gpuonnx/kit)")
    there.add_argument("--no-install", action="store_true", help="use this environment as it is")
    args = parser.parse_args(argv)
    return prepare(args) if args.command == "prepare" else run(args)


if __name__ == "__main__":
    sys.exit(main())
