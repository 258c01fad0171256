"""BS3LNet on every hyperspectral scene: AUROC against training epochs, with the CPU time of each, beside RX (and LREN).

One training run per (scene, seed) goes to the largest epoch count of the grid; at every grid point the
full-image pass is scored (BatchNorm in eval mode; this does not touch the training state or the random
streams, so the point equals a separate run with ``epochs`` set to it). CPU seconds are
``time.process_time`` of the training up to that point (all threads, the checkpoint scoring excluded).

Usage::

    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_bs3lnet.py --grid 0.1 0.25 --seeds 0 1 2
    .venv/bin/python benchmarks/bench_bs3lnet.py --report-only     # tables and figure from the CSV so far
    .venv/bin/python benchmarks/bench_bs3lnet.py --memory-probe    # peak RSS of a fit on sandiego_plane

Rows are appended to ``curve.csv`` as they are measured (an interrupted run keeps what it finished); the
report writes ``summary.csv``, ``results.md`` and ``auroc_vs_epochs.png`` into benchmarks/results/bs3lnet/.
The default epochs (``had_bs3lnet.detector.DEFAULT_EPOCHS``) follow the rule printed in the report: the
smallest grid point whose AUROC, averaged over all scenes and seeds, is within 0.005 of the best grid point's
average. No scene's labels choose anything on their own.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from csvlog import append_row, read_rows  # noqa: E402  (the run log shared by the benchmarks)

SCENES = ["sandiego_plane", "hydice", "hydice-ii", "abu-airport-1", "abu-airport-3", "abu-beach-1",
          "abu-beach-3", "abu-beach-4", "abu-urban-1", "abu-urban-2", "abu-urban-4", "muufl-crop"]
OUT = Path(__file__).resolve().parent / "results" / "bs3lnet"
FIELDS = ["scene", "shape", "seed", "detector", "epochs", "steps", "auroc", "cpu_s", "wall_s"]
TOLERANCE = 0.005


def _append(path: Path, row: dict) -> None:
    append_row(path, FIELDS, row)
    print(" ".join(f"{k}={row[k]}" for k in FIELDS), flush=True)


def _done(path: Path) -> set[tuple]:
    return {(r["scene"], r["seed"], r["detector"], r["epochs"]) for r in read_rows(path)}


def run(scenes, seeds, grid, out: Path, lren_seeds=(0,), baselines_only: bool = False) -> None:
    import had
    from had import metrics
    from had.errors import UnknownNameError

    path = out / "curve.csv"
    done = _done(path)
    try:
        had.get_detector("lren")
        have_lren = True
    except UnknownNameError:
        have_lren = False
        print("note: no detector 'lren' is registered; LREN is skipped", flush=True)
    grid = sorted(grid)
    for seed in seeds:
        for scene in scenes:
            data = had.load_dataset(scene)
            X, y = np.asarray(data.X, np.float32), data.y.reshape(-1)
            shape = "x".join(map(str, X.shape))
            baselines = [("rx", {})] + ([("lren", {"seed": seed})] if have_lren and seed in lren_seeds else [])
            for name, kw in baselines:
                if name == "rx" and seed != seeds[0]:
                    continue  # deterministic
                if (scene, str(seed), name, "") in done:
                    continue
                cpu, wall = time.process_time(), time.perf_counter()
                scores = had.get_detector(name, **kw).fit(X).decision_scores_
                _append(path, dict(scene=scene, shape=shape, seed=seed, detector=name, epochs="", steps="",
                                   auroc=round(metrics.auroc(y, scores), 6),
                                   cpu_s=round(time.process_time() - cpu, 2),
                                   wall_s=round(time.perf_counter() - wall, 2)))
            if baselines_only:
                continue
            todo = [g for g in grid if (scene, str(seed), "bs3lnet", repr(g)) not in done]
            if todo:
                _curve(scene, shape, X, y, seed, grid, path, done)


def _curve(scene, shape, X, y, seed, grid, path, done) -> None:
    import had
    from had import metrics

    det = had.get_detector("bs3lnet", epochs=max(grid), seed=seed, progress=False, device="cpu")
    per_epoch = int(np.ceil(X.shape[0] * X.shape[1] / det.config.batch_size))
    marks: dict[int, list[float]] = {}
    for g in grid:  # several grid points can fall on one step of a small scene
        marks.setdefault(max(1, round(g * per_epoch)), []).append(g)
    clock = {"cpu": time.process_time(), "wall": time.perf_counter(), "eval_cpu": 0.0, "eval_wall": 0.0}

    def checkpoint(detector, progress):
        step = progress.step
        if progress.event != "step" or step not in marks:
            return
        cpu0, wall0 = time.process_time(), time.perf_counter()
        auroc = metrics.auroc(y, detector._score(X).reshape(-1))
        cpu1, wall1 = time.process_time(), time.perf_counter()
        for g in marks[step]:
            if (scene, str(seed), "bs3lnet", repr(g)) not in done:
                _append(path, dict(scene=scene, shape=shape, seed=seed, detector="bs3lnet", epochs=repr(g),
                                   steps=step, auroc=round(auroc, 6),
                                   cpu_s=round(cpu0 - clock["cpu"] - clock["eval_cpu"], 2),
                                   wall_s=round(wall0 - clock["wall"] - clock["eval_wall"], 2)))
        clock["eval_cpu"] += cpu1 - cpu0
        clock["eval_wall"] += wall1 - wall0

    det.training_callback = checkpoint
    det.fit(X)


# ---- report ------------------------------------------------------------------------------------------
def _read(path: Path) -> list[dict]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def choose_default(per_grid: dict[float, float]) -> float:
    """The smallest grid point whose cross-scene mean AUROC is within TOLERANCE of the best one's."""
    best = max(per_grid.values())
    return min(g for g, v in per_grid.items() if v >= best - TOLERANCE)


def report(out: Path) -> None:
    rows = _read(out / "curve.csv")
    bs = [r for r in rows if r["detector"] == "bs3lnet"]
    grid = sorted({float(r["epochs"]) for r in bs})
    scenes = [s for s in SCENES if any(r["scene"] == s for r in rows)]
    base = {(r["scene"], r["detector"]): [] for r in rows if r["detector"] != "bs3lnet"}
    for r in rows:
        if r["detector"] != "bs3lnet":
            base[(r["scene"], r["detector"])].append(float(r["auroc"]))
    summary, lines = [], []
    header = ["scene", "shape", "RX"] + (["LREN"] if any(d == "lren" for _, d in base) else []) + \
             [f"BS3LNet {g:g} ep" for g in grid] + [f"CPU s @ {g:g} ep" for g in grid]
    complete = [s for s in scenes if all(any(r["scene"] == s and float(r["epochs"]) == g for r in bs) for g in grid)]
    for scene in scenes:
        shape = next(r["shape"] for r in rows if r["scene"] == scene)
        cells = [scene, shape]
        for det in ["rx"] + (["lren"] if "LREN" in header else []):
            vals = base.get((scene, det), [])
            cells.append(_fmt(sorted(set(vals)) if det == "rx" else vals))  # RX: deterministic, one value
        cpu_cells = []
        for g in grid:
            pts = [r for r in bs if r["scene"] == scene and float(r["epochs"]) == g]
            auc = [float(r["auroc"]) for r in pts]
            cpu = [float(r["cpu_s"]) for r in pts]
            cells.append(_fmt(auc))
            cpu_cells.append(f"{np.mean(cpu):.0f}" if cpu else "-")
            if pts:
                summary.append({"scene": scene, "shape": shape, "epochs": g, "steps": pts[0]["steps"], "n_seeds": len(pts),
                                "auroc_mean": round(float(np.mean(auc)), 6), "auroc_std": round(float(np.std(auc)), 6),
                                "cpu_s_mean": round(float(np.mean(cpu)), 1),
                                "wall_s_mean": round(float(np.mean([float(r['wall_s']) for r in pts])), 1)})
        lines.append(cells + cpu_cells)
    per_grid = {g: float(np.mean([float(r["auroc"]) for r in bs if float(r["epochs"]) == g and r["scene"] in complete]))
                for g in grid} if complete else {}
    def scene_mean(det):
        vals = [float(np.mean(base[(s, det)])) for s in complete if (s, det) in base]
        return f"{np.mean(vals):.4f} ({len(vals)} scenes)" if vals else "-"

    mean_row = ["mean over scenes with every grid point", f"{len(complete)} scenes", scene_mean("rx")]
    if "LREN" in header:
        mean_row.append(scene_mean("lren"))
    mean_row += [f"{per_grid[g]:.4f}" if per_grid else "-" for g in grid] + [""] * len(grid)
    seeds = sorted({r["seed"] for r in bs})
    chosen = choose_default(per_grid) if per_grid else None
    md = ["# BS3LNet: AUROC against training epochs (CPU)", "",
          f"Seeds {', '.join(seeds)}; AUROC mean ± std over seeds; CPU s = process CPU time of training up to that "
          "point (all threads), mean over seeds, one torch thread. RX is deterministic (one run); LREN (another "
          "plugin, its default config) runs with seed 0 where listed. Written by benchmarks/bench_bs3lnet.py.",
          "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(map(str, c)) + " |" for c in lines + [mean_row]]
    if chosen is not None and len(complete) < len(SCENES):
        md += ["", f"(Default-epochs rule not applied here: {len(complete)} of {len(SCENES)} scenes.)"]
    elif chosen is not None:
        md += ["", f"Default-epochs rule: the smallest grid point whose mean AUROC over the {len(complete)} complete "
               f"scenes (all seeds) is within {TOLERANCE} of the best grid point's mean -> **{chosen:g} epochs**."]
    peak = out / "memory.json"
    if peak.exists():
        md += ["", "Peak memory: " + peak.read_text().strip()]
    (out / "results.md").write_text("\n".join(md) + "\n")
    with (out / "summary.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(summary[0]) if summary else ["scene"])
        writer.writeheader()
        writer.writerows(summary)
    _plot(out, summary, base, scenes, per_grid)
    print("\n".join(md))


def _fmt(vals) -> str:
    if not vals:
        return "-"
    return f"{np.mean(vals):.4f}" if len(vals) == 1 else f"{np.mean(vals):.4f} ± {np.std(vals):.4f}"


def _plot(out: Path, summary: list[dict], base: dict, scenes: list[str], per_grid: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, scene in enumerate(scenes):
        pts = [s for s in summary if s["scene"] == scene]
        if not pts:
            continue
        colour = plt.cm.tab20(i % 20)
        e = [p["epochs"] for p in pts]
        axes[0].errorbar(e, [p["auroc_mean"] for p in pts], yerr=[p["auroc_std"] for p in pts], marker="o",
                         color=colour, label=scene, capsize=2)
        if (scene, "rx") in base:
            axes[0].axhline(np.mean(base[(scene, "rx")]), color=colour, ls=":", lw=0.8)
        axes[1].plot(e, [p["cpu_s_mean"] for p in pts], marker="o", color=colour, label=scene)
    if per_grid:
        axes[0].plot(list(per_grid), list(per_grid.values()), color="black", lw=2.5, marker="s",
                     label="mean over scenes")
    axes[0].set(xscale="log", xlabel="epochs", ylabel="AUROC (dotted: RX)", title="BS3LNet AUROC vs epochs")
    axes[1].set(xscale="log", yscale="log", xlabel="epochs", ylabel="training CPU seconds", title="CPU cost")
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "auroc_vs_epochs.png", dpi=110)
    plt.close(fig)


# ---- memory --------------------------------------------------------------------------------------------
_PROBE = """
import resource, time, numpy as np, torch, had, json
X = np.asarray(had.load_dataset('sandiego_plane').X, np.float32)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
det = had.get_detector('bs3lnet', epochs=0.05, progress=False, device='cpu').fit(X)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ref = 3 * X.shape[0] * X.shape[1] * 19 * 19 * X.shape[2] * 8
print(json.dumps({'scene': 'sandiego_plane 100x100x189', 'steps': det.history_['steps'],
                  'peak_rss_mb': round(peak / 1024, 1), 'rss_before_fit_mb': round(before / 1024, 1),
                  'sampler_stored_mb': round(det.history_['sampler_bytes'] / 2**20, 2),
                  'reference_patch_arrays_gb': round(ref / 1e9, 1)}))
"""


def memory_probe(out: Path) -> None:
    """Peak RSS (ru_maxrss) of a fresh process that loads sandiego_plane and fits 5 steps (the peak is per batch)."""
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=os.environ)
    if result.returncode:
        raise SystemExit(result.stderr)
    line = result.stdout.strip().splitlines()[-1]
    (out / "memory.json").write_text(line + "\n")
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", nargs="+", default=SCENES)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--grid", nargs="+", type=float, default=[0.1, 0.25, 0.5])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1: on a shared, loaded machine more threads spin and run slower)")
    parser.add_argument("--lren-seeds", nargs="*", type=int, default=[0],
                        help="seeds LREN (its default config, 1000 epochs) runs with, when registered")
    parser.add_argument("--baselines-only", action="store_true", help="RX and LREN only")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--memory-probe", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.memory_probe:
        memory_probe(args.out)
        return
    if not args.report_only:
        import torch

        torch.set_num_threads(args.threads)
        started = time.process_time()
        run(args.scenes, args.seeds, args.grid, args.out, args.lren_seeds, args.baselines_only)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"benchmark_cpu_s": round(time.process_time() - started, 1), "peak_rss_mb": round(rss, 1)}))
    report(args.out)


if __name__ == "__main__":
    main()
