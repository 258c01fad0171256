"""LREN fifth to ninth design rounds: the development table of the candidates and the rule's choice.

Candidates (choice_log.md, "Fifth round"): the training T0 (the default) or T1 (``lean_mixture=True``), each a
saved study of ``benchmarks/lren_restarts_study.py`` (48 runs: 8 development scenes x seeds 0-5, codes at epoch 10),
crossed with the LRR solver's budget ``(lrr_rho, lrr_max_iter)``. Two steps:

``scores``: the closed-form scores of every saved run under every budget, with the plugin's own code
(``LREN.low_rank_stage``, ``lrr.out_of_sample_rule`` / ``out_of_sample_scores``), cached as one npz per run under
``<study>/budget_rho<rho>_it<max_iter>/`` with the ADMM's iteration count and CPU seconds. Labels are not read.

``table``: per setting, the AUROC of the k = 6 ensemble on each development scene (each run's scores standardised
by its median / IQR and averaged, as ``had_sdk.restarts`` does), global RX beside it, the summary
``round5/dev_table.md`` and the rule's verdict.

    HAD_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lren_round5_eval.py scores \\
        --study /tmp/lren6_study/f32 --study /tmp/lren7_study/lean
    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/lren_round5_eval.py table \\
        --source T0:/tmp/lren6_study/f32 --source T1:/tmp/lren7_study/lean

Sixth round (``--round 6``): the same two steps for the dictionary's atom exclusion x LRR lambda on T1's codes at
the fifth round's solver budget (:data:`ROUND6`), folders ``<study>/r6_excl<a>_lam<lambda>/``, table
``round6/dev_table.md``::

    ... lren_round5_eval.py scores --round 6 --study /tmp/lren7_study/lean
    ... lren_round5_eval.py table --round 6 --source T1:/tmp/lren7_study/lean

Seventh round (``--round 7``): the latent width, one study per width trained with ``--set latent=<L>``, each
scored at the default's solver budget, table ``round7/dev_table.md``::

    ... lren_round5_eval.py scores --round 7 --study /tmp/lren8_study/latent16 --study /tmp/lren8_study/latent24 ...
    ... lren_round5_eval.py table --round 7 --source latent16:/tmp/lren8_study/latent16 --source latent24:...

Eighth round (``--round 8``): the number of mixture components, one study per count trained with
``--set clusters=<K>`` (the seventh round's latent-32 study is the 7-component one), table
``round8/dev_table.md``::

    ... lren_round5_eval.py scores --round 8 --study /tmp/lren9_study/clusters4 --study /tmp/lren9_study/clusters5 ...
    ... lren_round5_eval.py table --round 8 --source clusters7:/tmp/lren8_study/latent32 \\
        --source clusters4:/tmp/lren9_study/clusters4 ...

Ninth round (``--round 9``): the LRR ADMM's precision (``lrr_float32``) on the eighth round's 5-component codes,
table ``round9/dev_table.md``::

    ... lren_round5_eval.py scores --round 9 --study /tmp/lren9_study/clusters5
    ... lren_round5_eval.py table --round 9 --source clusters5:/tmp/lren9_study/clusters5
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

import numpy as np

from lren_dev import DEV, dev_labels_and_rx
from lren_restarts_eval import standardise
from lren_round4_eval import MEAN_MARGIN, RX_LIMIT, WORST_GAP, closed_form_of, runs_in

RESULTS = Path(__file__).resolve().parent / "results" / "lren"
EPOCH = 10
#: the LRR solver budgets of the round, (lrr_rho, lrr_max_iter); the first is the default's
BUDGETS = ((1.2, 40), (1.2, 30), (1.2, 20), (1.44, 20), (1.44, 15))
BASELINE = "T0/rho1.2/it40"
#: the sixth round (choice_log.md): the dictionary's atom exclusion x LRR lambda, on T1 codes at the fifth round's
#: budget; the first is the default's
ROUND6 = tuple((a, lam) for a in (0.05, 0.02, 0.10, 0.20) for lam in (0.01, 0.03, 0.1))
ROUND6_BASELINE = "T1/excl0.05/lam0.01"


def budget_folder(study: Path, rho: float, max_iter: int) -> Path:
    return study / f"budget_rho{rho:g}_it{max_iter}"


def round6_folder(study: Path, exclusion: float, lam: float) -> Path:
    return study / f"r6_excl{exclusion:g}_lam{lam:g}"


def round9_folder(study: Path) -> Path:
    return study / "r9_lrr_float32"


def settings(round_: int):
    """(name suffix, folder function arguments, detector config) of every candidate of the round."""
    if round_ == 9:  # the ADMM's precision at the default's solver budget (float64: the eighth round's scores)
        budget = {"lrr_rho": 1.44, "lrr_max_iter": 15}
        return [("lrr-float64", (budget_folder, 1.44, 15), budget),
                ("lrr-float32", (round9_folder,), {**budget, "lrr_float32": True})]
    if round_ in (7, 8):  # one candidate per study (the study's training is the candidate), the default's solver
        return [("b1.44-15", (budget_folder, 1.44, 15), {"lrr_rho": 1.44, "lrr_max_iter": 15})]
    if round_ == 5:
        return [(f"rho{rho:g}/it{it}", (budget_folder, rho, it), {"lrr_rho": rho, "lrr_max_iter": it})
                for rho, it in BUDGETS]
    return [(f"excl{a:g}/lam{lam:g}", (round6_folder, a, lam), {"atom_exclusion": a, "lrr_lambda": lam})
            for a, lam in ROUND6]


def scores(args: argparse.Namespace) -> None:
    import had

    for study in args.study:
        for scene in DEV:
            for seed, path in runs_in(study, scene).items():
                run = np.load(path)
                if "failed" in run or f"e{EPOCH}_z" not in run:
                    continue
                for _, (folder, *key), config in settings(args.round):  # one run's candidates one after another
                    target = folder(study, *key) / f"{scene}__seed{seed}.npz"
                    if target.is_file():
                        continue
                    target.parent.mkdir(exist_ok=True)
                    det = had.get_detector("lren", **config)
                    closed, result, cpu = closed_form_of(det, run[f"e{EPOCH}_z"], run[f"e{EPOCH}_gamma"])
                    np.savez(target, scores=closed, n_iter=result.n_iter, lrr_cpu_s=cpu)
            print(f"{study} {scene}", flush=True)


def table(args: argparse.Namespace) -> None:
    from had.metrics import auroc

    rows, rx, cost = [], {}, {}
    for scene in DEV:
        y, rx[scene] = dev_labels_and_rx(scene)
        for spec in args.source:
            training, study = spec.split(":", 1)
            for suffix, (folder, *key), _ in settings(args.round):
                name = f"{training}/{suffix}"
                saved = [folder(Path(study), *key) / f"{scene}__seed{seed}.npz" for seed in range(6)]
                if not all(p.is_file() for p in saved):
                    continue  # a run failed or was not computed: the setting misses this scene
                runs = [np.load(p) for p in saved]
                value = auroc(y, np.mean([standardise(r["scores"], "iqr") for r in runs], axis=0))
                rows.append(dict(setting=name, scene=scene, auroc=float(value), rx=rx[scene]))
                spent = cost.setdefault(name, [0.0, 0])
                spent[0] += sum(float(r["lrr_cpu_s"]) for r in runs)
                spent[1] += sum(int(r["n_iter"]) for r in runs)
        print(f"{scene}: RX {rx[scene]:.4f}", flush=True)
    out = args.out or RESULTS / f"round{args.round}"
    out.mkdir(parents=True, exist_ok=True)
    with (out / "dev_table_rows.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows)
    text = {5: lambda: summary(rows, rx, cost), 6: lambda: summary6(rows, rx), 7: lambda: summary7(rows, rx),
            8: lambda: summary8(rows, rx), 9: lambda: summary9(rows, rx)}
    (out / "dev_table.md").write_text(text[args.round]())
    print((out / "dev_table.md").read_text())


def setting_stats(rows: list[dict], rx: dict[str, float]) -> dict[str, dict]:
    """setting -> its scene AUROCs (``means``), their mean, the worst scene's gap to RX, whether every development
    scene is there and how many are more than RX_LIMIT below RX."""
    per: dict[str, dict[str, float]] = {}
    for r in rows:
        per.setdefault(r["setting"], {})[r["scene"]] = r["auroc"]
    stats = {}
    for name, means in per.items():
        gaps = {s: means[s] - rx[s] for s in means}
        worst = min(gaps, key=gaps.get)
        stats[name] = dict(complete=len(means) == len(DEV), mean=float(np.mean(list(means.values()))), means=means,
                           worst=worst, gap=gaps[worst], below=sum(g < -RX_LIMIT for g in gaps.values()))
    return stats


def summary(rows: list[dict], rx: dict[str, float], cost: dict[str, list]) -> str:
    """The round's development table and the rule's verdict (choice_log.md, fifth round)."""
    stats = setting_stats(rows, rx)
    for name, st in stats.items():
        st.update(max_iter=int(name.split("/it")[1]), lean=name.startswith("T1"))
    base = stats[BASELINE]
    floor = base["mean"] - MEAN_MARGIN
    for st in stats.values():
        st["eligible"] = st["complete"] and st["mean"] >= floor and st["gap"] >= WORST_GAP and st["below"] == 0
    order = lambda n: (stats[n]["max_iter"], not stats[n]["lean"], -stats[n]["mean"])  # noqa: E731  (rule 2)
    lines = ["| setting | eligible | mean AUROC | - baseline | worst scene vs RX | scenes < RX - 0.02 | "
             "ADMM CPU s (48 runs) | " + " | ".join(DEV) + " |", "|---|---|---|---|---|---|---|" + "---|" * len(DEV)]
    for name in sorted(stats, key=lambda n: (not stats[n]["eligible"], *order(n))):
        st = stats[name]
        lines.append(f"| {name} | {'yes' if st['eligible'] else 'no'} | {st['mean']:.4f} | "
                     f"{st['mean'] - base['mean']:+.4f} | {st['worst']} {st['gap']:+.4f} | {st['below']} | "
                     f"{cost[name][0]:.2f} | " + " | ".join(f"{st['means'].get(s, float('nan')):.4f}" for s in DEV)
                     + " |")
    lines.append("| RX (raw cube) | | " + f"{np.mean(list(rx.values())):.4f} | | | | | "
                 + " | ".join(f"{rx[s]:.4f}" for s in DEV) + " |")
    lines += ["", f"Baseline `{BASELINE}`: mean {base['mean']:.4f}, worst {base['worst']} {base['gap']:+.4f}. "
              f"Eligible: all 8 scenes, mean >= {floor:.4f}, worst scene vs RX >= {WORST_GAP}, no scene below RX - "
              f"{RX_LIMIT}. ADMM CPU seconds are label-free and not part of the rule (rule 2 orders by construction)."]
    eligible = sorted((n for n in stats if stats[n]["eligible"]), key=order)
    if not eligible:
        return "\n".join(lines + ["No eligible setting: the default stays."]) + "\n"
    winner = eligible[0]
    verdict = "the default stays" if winner == BASELINE else "it replaces the default"
    lines.append(f"By the rule (fewest ADMM iterations, then T1, then the higher mean): `{winner}` (mean "
                 f"{stats[winner]['mean']:.4f}); {verdict}.")
    return "\n".join(lines) + "\n"


def eligibility_table(stats: dict[str, dict], base: dict, rx: dict[str, float], key) -> list[str]:
    """The rows of the sixth and seventh rounds' tables: each setting (ordered by `key`), eligible or not, its
    mean against the baseline `base`, its worst scene against RX, its scenes; RX last."""
    lines = ["| setting | eligible | mean AUROC | - baseline | worst scene vs RX | " + " | ".join(DEV) + " |",
             "|---|---|---|---|---|" + "---|" * len(DEV)]
    for name in sorted(stats, key=key):
        st = stats[name]
        lines.append(f"| {name} | {'yes' if st['eligible'] else 'no'} | {st['mean']:.4f} | "
                     f"{st['mean'] - base['mean']:+.4f} | {st['worst']} {st['gap']:+.4f} | "
                     + " | ".join(f"{st['means'].get(s, float('nan')):.4f}" for s in DEV) + " |")
    lines.append("| RX (raw cube) | | " + f"{np.mean(list(rx.values())):.4f} | | | " + " | ".join(f"{rx[s]:.4f}" for s in DEV)
                 + " |")
    return lines


def summary6(rows: list[dict], rx: dict[str, float]) -> str:
    """The sixth round's table and verdict (choice_log.md): the worst development scene's gap to RX, maximised."""
    stats = setting_stats(rows, rx)
    base = stats[ROUND6_BASELINE]
    floor = base["mean"] - ROUND6_MEAN_MARGIN
    for st in stats.values():
        st["eligible"] = st["complete"] and st["mean"] >= floor and st["below"] == 0
    lines = eligibility_table(stats, base, rx, key=lambda n: (not stats[n]["eligible"], -stats[n]["gap"],
                                                              -stats[n]["mean"]))
    lines += ["", f"Baseline `{ROUND6_BASELINE}`: mean {base['mean']:.4f}, worst {base['worst']} {base['gap']:+.4f}. "
              f"Eligible: all 8 scenes, mean >= {floor:.4f}, no scene below RX - {RX_LIMIT}."]
    eligible = [n for n in stats if stats[n]["eligible"]]
    best = max(stats[n]["gap"] for n in eligible)
    tied = [n for n in eligible if stats[n]["gap"] >= best - ROUND6_TIE]
    winner = max(tied, key=lambda n: stats[n]["mean"])
    changes = winner != ROUND6_BASELINE and stats[winner]["gap"] >= base["gap"] + ROUND6_GAIN
    lines.append(f"Largest worst-scene gap among eligible settings {best:+.4f}; within {ROUND6_TIE} of it: "
                 + ", ".join(f"`{n}`" for n in tied) + f". By the rule: `{winner}` (worst {stats[winner]['gap']:+.4f}, "
                 f"mean {stats[winner]['mean']:.4f}); " + ("it replaces the default." if changes else
                 f"not {ROUND6_GAIN} above the baseline's worst gap: the default stays."))
    return "\n".join(lines) + "\n"


#: the sixth round's rule (choice_log.md)
ROUND6_MEAN_MARGIN, ROUND6_TIE, ROUND6_GAIN = 0.001, 0.001, 0.003
#: the seventh round's rule (choice_log.md): the baseline, the worst-gap margin, the tie band, the gain needed
ROUND7_BASELINE, ROUND7_GAP_MARGIN, ROUND7_TIE, ROUND7_GAIN = "latent16/b1.44-15", 0.001, 0.001, 0.001


def summary7(rows: list[dict], rx: dict[str, float]) -> str:
    """The seventh round's table and verdict (choice_log.md): the latent width, by the development mean."""
    return one_knob_summary(rows, rx, "latent", ROUND7_BASELINE, ROUND7_GAP_MARGIN, ROUND7_TIE, ROUND7_GAIN,
                            cheaper_tie_replaces=False)


#: the eighth round's rule (choice_log.md): the baseline (the seventh round's default, 7 components), the worst-gap
#: margin, the tie band, the gain needed; a tie with fewer components also replaces it (the speed target is missed)
ROUND8_BASELINE, ROUND8_GAP_MARGIN, ROUND8_TIE, ROUND8_GAIN = "clusters7/b1.44-15", 0.001, 0.001, 0.001


def summary8(rows: list[dict], rx: dict[str, float]) -> str:
    """The eighth round's table and verdict (choice_log.md): the number of mixture components, by the development
    mean; ties go to fewer components, and a tie with fewer than the baseline's replaces it."""
    return one_knob_summary(rows, rx, "clusters", ROUND8_BASELINE, ROUND8_GAP_MARGIN, ROUND8_TIE, ROUND8_GAIN,
                            cheaper_tie_replaces=True)


#: the ninth round's rule (choice_log.md): float32 iterates replace float64 when eligible (complete, no scene below
#: RX - RX_LIMIT, worst gap no worse than float64's - 0.001) and the development mean is within this of float64's
ROUND9_BASELINE, ROUND9_GAP_MARGIN, ROUND9_TIE = "clusters5/lrr-float64", 0.001, 0.0005


def summary9(rows: list[dict], rx: dict[str, float]) -> str:
    """The ninth round's table and verdict (choice_log.md): the LRR ADMM's precision, a speed choice."""
    stats = setting_stats(rows, rx)
    base, cand = stats[ROUND9_BASELINE], stats["clusters5/lrr-float32"]
    for st in stats.values():
        st["eligible"] = st["complete"] and st["below"] == 0 and st["gap"] >= base["gap"] - ROUND9_GAP_MARGIN
    lines = eligibility_table(stats, base, rx, key=lambda n: (not stats[n]["eligible"], -stats[n]["mean"]))
    changes = cand["eligible"] and cand["mean"] >= base["mean"] - ROUND9_TIE
    lines += ["", f"Baseline `{ROUND9_BASELINE}`: mean {base['mean']:.4f}, worst {base['worst']} {base['gap']:+.4f}. "
              f"float32: mean {cand['mean']:.4f} ({cand['mean'] - base['mean']:+.4f}), worst {cand['worst']} "
              f"{cand['gap']:+.4f}, eligible: {'yes' if cand['eligible'] else 'no'}. By the rule (eligible and a mean "
              f"at least the baseline's - {ROUND9_TIE}): "
              + ("float32 iterates replace float64." if changes else "the default stays (float64).")]
    return "\n".join(lines) + "\n"


def one_knob_summary(rows: list[dict], rx: dict[str, float], knob: str, baseline: str, gap_margin: float,
                     tie: float, gain: float, cheaper_tie_replaces: bool) -> str:
    """A round over one setting's values (studies named ``<knob><value>``; the seventh and eighth rounds' rule):
    eligible when complete, no scene below RX - RX_LIMIT and a worst gap no worse than `baseline`'s - `gap_margin`;
    the best development mean wins, means within `tie` of it tie and go to the smaller value; it replaces the
    baseline when its mean is more than `gain` above the baseline's or, with `cheaper_tie_replaces`, when it is a
    smaller value within `tie` of the baseline's mean."""
    stats = setting_stats(rows, rx)
    value = lambda n: int(n.split("/")[0].removeprefix(knob))  # noqa: E731
    base = stats[baseline]
    for st in stats.values():
        st["eligible"] = st["complete"] and st["below"] == 0 and st["gap"] >= base["gap"] - gap_margin
    lines = eligibility_table(stats, base, rx, key=lambda n: (not stats[n]["eligible"], -stats[n]["mean"]))
    lines += ["", f"Baseline `{baseline}`: mean {base['mean']:.4f}, worst {base['worst']} {base['gap']:+.4f}. "
              f"Eligible: all 8 scenes, no scene below RX - {RX_LIMIT}, worst gap >= the baseline's - "
              f"{gap_margin}."]
    eligible = [n for n in stats if stats[n]["eligible"]]
    best = max(stats[n]["mean"] for n in eligible)
    tied = [n for n in eligible if stats[n]["mean"] >= best - tie]
    winner = min(tied, key=value)
    better = stats[winner]["mean"] > base["mean"] + gain
    cheaper_tie = (cheaper_tie_replaces and value(winner) < value(baseline)
                   and stats[winner]["mean"] >= base["mean"] - tie)
    changes = winner != baseline and (better or cheaper_tie)
    lines.append(f"Best eligible mean {best:.4f}; within {tie} of it: " + ", ".join(f"`{n}`" for n in tied)
                 + f". By the rule: `{winner}` (mean {stats[winner]['mean']:.4f}, worst {stats[winner]['gap']:+.4f}); "
                 + ("it replaces the default." if changes else "the default stays."))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("scores", help="closed-form scores of saved codes under every candidate (cached)")
    p.add_argument("--study", type=Path, action="append", required=True)
    p.add_argument("--round", type=int, choices=(5, 6, 7, 8, 9), default=5)
    p = sub.add_parser("table", help="the development table and the rule's verdict")
    p.add_argument("--source", action="append", required=True, metavar="TRAINING:STUDY",
                   help="e.g. T0:/tmp/lren6_study/f32")
    p.add_argument("--round", type=int, choices=(5, 6, 7, 8, 9), default=5)
    p.add_argument("--out", type=Path, default=None, help="default: results/lren/round<N>")
    args = parser.parse_args()
    {"scores": scores, "table": table}[args.command](args)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
