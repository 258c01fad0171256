"""LREN fourth design round (speed): the development table of the candidates and their speed ratios.

Candidates (choice_log.md, "Fourth round: speed"): epochs per run x restarts at latent 16, a looser LRR stopping
rule (``lrr_tol``, ``lrr_max_iter``) and the float32 mixture energy (``gmm_float64=False``). Three steps:

``scores``: the LRR closed-form scores (what ``decision_scores_`` is) of the saved latent codes of
``benchmarks/lren_restarts_study.py`` runs under every stopping rule, recomputed with the plugin's own code
(``LREN.low_rank_stage``, ``lrr.out_of_sample_rule`` / ``out_of_sample_scores``), cached as one npz per run and
rule under ``<study>/stop<tol>_<max_iter>/`` with the ADMM's iteration count and CPU seconds. Labels are not read.

``speed``: the speed ratio of every candidate (``lren_speed.breakdown``: fit + score of sandiego_plane over the
bare autoencoder for the same epochs and batches, one torch thread, CPU seconds, median of ``--repeats`` pairs in
one process), appended to ``round4/speed_runs.csv`` (each run's pairs and stages: ``round4/speed_runs.md``). No
label is read.

``table``: for every source (a study folder, its dtype, checkpoint epochs) and stopping rule and k = 4..6, the
AUROC of every combination of k of the saved seeds 0-5 (each run's scores standardised by its own median / IQR
and averaged, as ``had_sdk.restarts`` does), the summary table ``round4/dev_table.md`` with the speed ratios, and
the rule's verdict.

    HAD_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lren_round4_eval.py scores \\
        --study /tmp/lren5_study/latent16 --epochs 10 15 20 25
    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/lren_round4_eval.py speed --candidate \\
        epochs=10,restarts=6 --candidate epochs=10,restarts=6,lrr_tol=1e-6
    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/lren_round4_eval.py table \\
        --source f64:/tmp/lren5_study/latent16:10,15,20,25 --source f32:/tmp/lren6_study/f32:10
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from lren_dev import DEV, dev_labels_and_rx
from lren_restarts_eval import standardise

OUT = Path(__file__).resolve().parent / "results" / "lren" / "round4"
#: the round-3 default, the baseline of this round (6 restarts x 10 epochs, LRR to 1e-8 or 500 iterations, float64)
BASELINE = "e10/tol1e-08/it500/f64/k6"
#: LRR stopping rules of the round: (lrr_tol, lrr_max_iter); the first is the default's
STOPS = ((1e-8, 500), (1e-6, 500), (1e-4, 500), (1e-8, 40))
#: the eligibility rule (choice_log.md, fourth round)
MEAN_MARGIN, WORST_GAP, RX_LIMIT = 0.002, -0.0165, 0.02
#: a candidate must be this much faster than the baseline (ratio of ratios) to replace it; ratios this close tie
FASTER, RATIO_TIE = 0.90, 0.05


def runs_in(study: Path, scene: str) -> dict[int, Path]:
    return {int(f.stem.split("seed")[1]): f for f in sorted(study.glob(f"{scene}__seed*.npz"))}


def stop_name(tol: float, max_iter: int) -> str:
    return f"tol{tol:g}/it{max_iter}"


def stop_folder(study: Path, tol: float, max_iter: int) -> Path:
    return study / f"stop{tol:g}_{max_iter}"


def closed_form_of(det, z: np.ndarray, gamma: np.ndarray):
    """(closed-form scores float32, the LRR result, the low-rank stage's CPU seconds) of saved codes `z` and
    memberships `gamma` under `det`'s settings, with the plugin's own code."""
    from had_lren import lrr as L

    c0 = time.process_time()
    with L.single_threaded_blas():
        S, result = det.low_rank_stage(z, gamma)
        cpu = time.process_time() - c0
        rule = L.out_of_sample_rule(S[det.atoms_].T, result.X, det.config.lrr_lambda)
        return L.out_of_sample_scores(S, rule).astype(np.float32), result, cpu


def stop_scores(args: argparse.Namespace) -> None:
    import had
    import had_lren  # noqa: F401

    for e in args.epochs:  # epoch-major: the first epochs given are done for every rule first
        for tol, max_iter in STOPS:
            folder = stop_folder(args.study, tol, max_iter)
            folder.mkdir(exist_ok=True)
            for scene in DEV:
                for seed, path in runs_in(args.study, scene).items():
                    target = folder / f"{scene}__seed{seed}__e{e}.npz"
                    if target.is_file():
                        continue
                    run = np.load(path)
                    if "failed" in run or f"e{e}_z" not in run:
                        continue
                    det = had.get_detector("lren", lrr_tol=tol, lrr_max_iter=max_iter)
                    scores, result, cpu = closed_form_of(det, run[f"e{e}_z"], run[f"e{e}_gamma"])
                    np.savez(target, scores=scores, n_iter=result.n_iter, converged=result.converged, lrr_cpu_s=cpu)
                print(f"{stop_name(tol, max_iter)} epoch {e}: {scene}", flush=True)


def candidate_config(spec: str) -> dict:
    from settings_arg import parse_sets

    return parse_sets(spec.split(","))


def candidate_name(config: dict) -> str:
    return (f"e{config.get('epochs', 10)}/{stop_name(config.get('lrr_tol', 1e-8), config.get('lrr_max_iter', 500))}/"
            f"{'f64' if config.get('gmm_float64', True) else 'f32'}/k{config.get('restarts', 6)}")


def speed(args: argparse.Namespace) -> None:
    from lren_speed import breakdown

    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / "speed_runs.csv"
    fields = ["candidate", "config", "time_utc", "repeats", "ratio_cpu", "ratio_wall", "pairs_cpu", "lren_cpu_s",
              "bare_cpu_s", "lrr_cpu_s", "load"]
    new = not target.is_file()
    for spec in args.candidate:
        config = candidate_config(spec)
        measured = breakdown(args.scene, args.seed, args.repeats, config)
        pair = measured.median_pair()
        lrr_cpu = sum(v[2] for k, v in pair.stages.items() if k.strip() == "LRR ADMM")
        row = dict(candidate=candidate_name(config), config=spec, time_utc=time.strftime("%H:%M:%S", time.gmtime()),
                   repeats=args.repeats, ratio_cpu=f"{measured.ratio(cpu=True):.3f}",
                   ratio_wall=f"{measured.ratio():.3f}",
                   pairs_cpu=" ".join(f"{p.lren_cpu_s / p.bare_cpu_s:.3f}" for p in measured.pairs),
                   lren_cpu_s=f"{pair.lren_cpu_s:.2f}", bare_cpu_s=f"{pair.bare_cpu_s:.2f}",
                   lrr_cpu_s=f"{lrr_cpu:.2f}", load=f"{pair.load:.1f}")
        (OUT / "speed_runs.md").open("a").write(
            f"## {row['candidate']} ({spec}), {row['time_utc']} UTC\n\n" + "\n".join(measured.summary() + measured.table())
            + "\n")
        with target.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            if new:
                writer.writeheader()
                new = False
            writer.writerow(row)
        print(row, flush=True)


def read_speed() -> dict[str, float]:
    """candidate -> its measured CPU ratio (the last measurement of it in speed_runs.csv)."""
    path = OUT / "speed_runs.csv"
    if not path.is_file():
        return {}
    with path.open() as f:
        return {r["candidate"]: float(r["ratio_cpu"]) for r in csv.DictReader(f)}


def run_scores(study: Path, scene: str, epoch: int, tol: float, max_iter: int) -> dict[int, np.ndarray] | None:
    """seed -> closed-form scores of that run; None if any of the study's runs failed (the setting fails)."""
    out = {}
    for seed, path in runs_in(study, scene).items():
        cached = stop_folder(study, tol, max_iter) / f"{scene}__seed{seed}__e{epoch}.npz"
        if not cached.is_file():
            return None
        out[seed] = np.load(cached)["scores"]
    return out


def table(args: argparse.Namespace) -> None:
    from had.metrics import auroc

    rows: list[dict] = []
    rx: dict[str, float] = {}
    failed: set[str] = set()
    for scene in DEV:
        y, rx[scene] = dev_labels_and_rx(scene)
        for spec in args.source:
            dtype, study, epochs = spec.split(":")
            for e in map(int, epochs.split(",")):
                for tol, max_iter in STOPS:
                    scores = run_scores(Path(study), scene, e, tol, max_iter)
                    if scores is None or len(scores) < 6:  # a setting is evaluated on all 6 seeds or fails
                        for k in range(4, 7):
                            failed.add(f"e{e}/{stop_name(tol, max_iter)}/{dtype}/k{k}")
                        continue
                    z = {s: standardise(v, "iqr") for s, v in scores.items()}
                    for k in range(4, 7):
                        for combo in itertools.combinations(sorted(z), k):
                            value = auroc(y, np.mean([z[s] for s in combo], axis=0))
                            rows.append(dict(setting=f"e{e}/{stop_name(tol, max_iter)}/{dtype}/k{k}", scene=scene,
                                             members=" ".join(map(str, combo)), auroc=float(value), rx=rx[scene]))
        print(f"{scene}: RX {rx[scene]:.4f}", flush=True)
    scenes_of: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        scenes_of[r["setting"]].add(r["scene"])
    failed |= {name for name, scenes in scenes_of.items() if len(scenes) < len(DEV)}  # not computed on every scene
    rows = [r for r in rows if r["setting"] not in failed]
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "dev_table_rows.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in r.items()})
    (args.out / "dev_table.md").write_text(summary(rows, rx, read_speed(), failed))
    print((args.out / "dev_table.md").read_text())


def summary(rows: list[dict], rx: dict[str, float], ratios: dict[str, float], failed: set[str]) -> str:
    """The round's development table, fastest eligible first, and the rule's verdict (choice_log.md)."""
    per: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        per[r["setting"]][r["scene"]].append(r["auroc"])
    stats = {}
    for name, scenes in per.items():
        means = {s: float(np.mean(v)) for s, v in scenes.items()}
        gaps = {s: means[s] - rx[s] for s in means}
        worst = min(gaps, key=gaps.get)
        stats[name] = dict(mean=float(np.mean([v for vs in scenes.values() for v in vs])), means=means,
                           worst=worst, gap=gaps[worst], below=sum(g < -RX_LIMIT for g in gaps.values()),
                           ratio=ratios.get(name.replace("/k4", "/k6").replace("/k5", "/k6")))
    base = stats[BASELINE]
    floor = base["mean"] - MEAN_MARGIN
    for name, st in stats.items():
        st["eligible"] = st["mean"] >= floor and st["gap"] >= WORST_GAP and st["below"] == 0
    key = lambda n: (stats[n]["ratio"] if stats[n]["ratio"] is not None else np.inf, -stats[n]["mean"])  # noqa: E731
    lines = ["| setting | eligible | speed ratio (CPU) | mean AUROC | - baseline | worst scene vs RX | "
             "scenes < RX - 0.02 | " + " | ".join(DEV) + " |", "|---|---|---|---|---|---|---|" + "---|" * len(DEV)]
    for name in sorted(stats, key=lambda n: (not stats[n]["eligible"], *key(n))):
        st = stats[name]
        ratio = f"{st['ratio']:.2f}" if st["ratio"] is not None else "not measured"
        lines.append(f"| {name} | {'yes' if st['eligible'] else 'no'} | {ratio} | {st['mean']:.4f} | "
                     f"{st['mean'] - base['mean']:+.4f} | {st['worst']} {st['gap']:+.4f} | {st['below']} | "
                     + " | ".join(f"{st['means'][s]:.4f}" for s in DEV) + " |")
    lines += [f"| {name} | no (a run failed, or not computed on every scene) | | | | | | " + " | " * (len(DEV) - 1) + " |"
              for name in sorted(failed - set(stats))]
    lines.append("| RX (raw cube) | | | " + f"{np.mean(list(rx.values())):.4f} | | | | "
                 + " | ".join(f"{rx[s]:.4f}" for s in DEV) + " |")
    eligible = [n for n in stats if stats[n]["eligible"] and stats[n]["ratio"] is not None]
    lines += ["", f"Baseline (round-3 default) `{BASELINE}`: mean {base['mean']:.4f}, worst {base['worst']} "
              f"{base['gap']:+.4f}, speed ratio {base['ratio']}. Eligible: mean >= {floor:.4f}, worst scene vs RX "
              f">= {WORST_GAP}, no scene below RX - {RX_LIMIT}."]
    if not eligible:
        return "\n".join(lines + ["No eligible candidate with a measured ratio: the default stays."]) + "\n"
    fastest = min(stats[n]["ratio"] for n in eligible)
    tied = [n for n in eligible if stats[n]["ratio"] <= fastest + RATIO_TIE]
    winner = sorted(tied, key=lambda n: (-stats[n]["mean"], stats[n]["ratio"]))[0]
    changes = winner != BASELINE and stats[winner]["ratio"] <= FASTER * base["ratio"]
    lines.append(f"Fastest eligible ratio {fastest:.2f}; within {RATIO_TIE} of it: "
                 + ", ".join(f"`{n}`" for n in tied) + f". By the rule: `{winner}` (ratio {stats[winner]['ratio']:.2f}, "
                 f"mean {stats[winner]['mean']:.4f}) "
                 + ("replaces the default." if changes else "is not 10 % faster than the baseline: the default stays."))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("scores", help="closed-form scores of saved codes under every LRR stopping rule (cached)")
    p.add_argument("--study", type=Path, required=True)
    p.add_argument("--epochs", nargs="+", type=int, required=True)
    p = sub.add_parser("speed", help="speed ratios of candidates (no labels)")
    p.add_argument("--candidate", action="append", required=True, metavar="FIELD=VALUE,...")
    p.add_argument("--scene", default="sandiego_plane")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3)
    p = sub.add_parser("table", help="the development table and the rule's verdict")
    p.add_argument("--source", action="append", required=True, metavar="DTYPE:STUDY:EPOCHS",
                   help="e.g. f64:/tmp/lren5_study/latent16:10,15,20,25")
    p.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    {"scores": stop_scores, "speed": speed, "table": table}[args.command](args)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
