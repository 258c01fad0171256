"""BS3LNet's input scaling against the data's units: the seventh section of its choice log (issue 17, item 6).

The reference feeds raw values (``scale="none"``), so the same scene in other units (reflectance in [0, 1],
reflectance x 10^4, radiance, digital numbers) trains a different network. The development scenes already differ
(ABU in the hundreds to thousands, hydice-ii 0-705, muufl-crop below 1). Each development scene is fitted (seed 0,
the default 1 epoch) in three unit conventions (labels unchanged):

* ``native``: as stored;
* ``unit``: multiplied so that its median ``|x|`` is 0.1 (reflectance-like);
* ``dn``: multiplied so that its median ``|x|`` is 1000 (reflectance x 10^4 or digital-number-like);

under ``scale="none"`` (the reference, the default so far); the candidates ``minmax`` and ``standard`` (scene-wide
scalars) are fitted in the native convention only: their input is the same in every unit convention up to
rounding, so the native fit stands for all three (``plugins/bs3lnet/tests/test_detector.py`` checks that a fit on
``1000 x`` a scene gives that scene's scores). One CSV row per fit, as it finishes, under
``results/bs3lnet/units/`` (``rows.<part>.csv``; cells already there are skipped, so a killed run resumes).
``table`` writes ``dev_table.md`` with the rule's verdict (choice_log.md, section 7). Headline scenes are refused
unless ``--headline`` (after the choice is committed).

    HAD_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/bs3lnet_units.py run \\
        --part 0/2 &   # and --part 1/2 beside it (two cores)
    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bs3lnet_units.py table
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from lren_dev import DEV, dev_labels_and_rx
from lren_grid_table import HEADLINE

OUT = Path(__file__).resolve().parent / "results" / "bs3lnet" / "units"
CONVENTIONS = {"native": None, "unit": 0.1, "dn": 1000.0}
SCALES = ["none", "minmax", "standard"]
FIELDS = ["scene", "convention", "factor", "scale", "seed", "epochs", "auroc", "fit_s"]
#: the rule (choice_log.md, section 7): the tie band on the units-robust mean, how far below `none`'s native
#: development mean a candidate may be and stay eligible, and the order that breaks ties (the reference first)
TIE, NATIVE_MARGIN, PREFERENCE = 0.002, 0.005, ("none", "minmax", "standard")


def factor_of(X: np.ndarray, convention: str) -> float:
    target = CONVENTIONS[convention]
    if target is None:
        return 1.0
    return target / float(np.median(np.abs(X)))


def cells(scenes: list[str], seeds: list[int]) -> list[tuple[str, str, str, int]]:
    """Every (scene, convention, scale, seed) to fit: each candidate in the native convention first (so a run cut
    short has every candidate in the reference's units), then ``none`` in the other two conventions (the scaled
    candidates are unit-free: their native fit stands for every convention)."""
    native = [(scene, "native", scale, seed) for scene in scenes for scale in SCALES for seed in seeds]
    return native + [(scene, convention, "none", seed) for convention in list(CONVENTIONS)[1:] for scene in scenes
                     for seed in seeds]


def done_rows() -> list[dict]:
    rows = []
    for path in sorted(OUT.glob("rows.*.csv")):
        with path.open() as fh:
            rows += list(csv.DictReader(fh))
    return rows


def run(args: argparse.Namespace) -> None:
    import torch

    import had
    from had.metrics import auroc

    scenes = args.scenes or list(DEV)
    if not args.headline and set(scenes) & set(HEADLINE):
        raise SystemExit("headline scenes are run only after the choice is committed: pass --headline then")
    torch.set_num_threads(1)
    index, parts = (int(v) for v in args.part.split("/"))
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"rows.{args.tag}{index}.csv"
    have = {(r["scene"], r["convention"], r["scale"], int(r["seed"])) for r in done_rows()}
    todo = [c for k, c in enumerate(cells(scenes, args.seeds)) if k % parts == index and c not in have]
    if not path.exists():
        with path.open("w", newline="") as fh:
            csv.writer(fh).writerow(FIELDS)
    loaded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for scene, convention, scale, seed in todo:
        if scene not in loaded:
            data = had.load_dataset(scene)
            loaded[scene] = (np.asarray(data.X, dtype=np.float64), np.asarray(data.y).reshape(-1))
        X, y = loaded[scene]
        factor = factor_of(X, convention)
        start = time.perf_counter()
        det = had.get_detector("bs3lnet", {"seed": seed, "epochs": args.epochs, "scale": scale, "progress": False})
        det.fit(X * factor)
        row = dict(scene=scene, convention=convention, factor=f"{factor:.6g}", scale=scale, seed=seed,
                   epochs=args.epochs, auroc=f"{auroc(y, det.decision_scores_):.6f}",
                   fit_s=f"{time.perf_counter() - start:.1f}")
        with path.open("a", newline="") as fh:
            csv.DictWriter(fh, FIELDS).writerow(row)
        print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)


def table(args: argparse.Namespace) -> None:
    rows = [r for r in done_rows() if r["scene"] in DEV and int(r["seed"]) == 0]
    value = {(r["scene"], r["convention"], r["scale"]): float(r["auroc"]) for r in rows}
    rx = {scene: dev_labels_and_rx(scene)[1] for scene in DEV}
    lines = ["| scale | convention | " + " | ".join(DEV) + " | mean |", "|---|---|" + "---|" * (len(DEV) + 1)]
    stats = {}
    for scale in SCALES:
        per = []
        for convention in CONVENTIONS:  # a unit-free scaling's native fit stands for every convention
            got = [value.get((s, convention if scale == "none" else "native", scale)) for s in DEV]
            mean = float(np.mean(got)) if None not in got else float("nan")
            per.append(got)
            lines.append(f"| {scale} | {convention} | " + " | ".join("-" if v is None else f"{v:.4f}" for v in got)
                         + f" | {mean:.4f} |")
        flat = [v for got in per for v in got]
        stats[scale] = dict(complete=None not in flat, robust=float(np.mean([v for v in flat if v is not None]))
                            if any(v is not None for v in flat) else float("nan"),
                            native=float(np.mean(per[0])) if None not in per[0] else float("nan"))
    lines.append("| RX (any units) | | " + " | ".join(f"{rx[s]:.4f}" for s in DEV)
                 + f" | {np.mean(list(rx.values())):.4f} |")
    base = stats["none"]["native"]
    lines += ["", "| scale | complete | units-robust mean (8 scenes x 3 conventions) | native mean | eligible |",
              "|---|---|---|---|---|"]
    for scale in SCALES:
        st = stats[scale]
        st["eligible"] = st["complete"] and st["native"] >= base - NATIVE_MARGIN
        lines.append(f"| {scale} | {'yes' if st['complete'] else 'no'} | {st['robust']:.4f} | {st['native']:.4f} | "
                     f"{'yes' if st['eligible'] else 'no'} |")
    eligible = [s for s in SCALES if stats[s]["eligible"]]
    if eligible:
        best = max(stats[s]["robust"] for s in eligible)
        tied = [s for s in eligible if stats[s]["robust"] >= best - TIE]
        winner = min(tied, key=PREFERENCE.index)
        lines += ["", f"Best eligible units-robust mean {best:.4f}; within {TIE} of it: "
                  + ", ".join(f"`{s}`" for s in tied) + f". By the rule: **`scale={winner}`** "
                  + ("(the default stays)." if winner == "none" else "(it replaces the default).")]
    else:
        lines += ["", "No candidate is complete and eligible: the default stays."]
    (OUT / "dev_table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="fit the cells of this part (resumable)")
    p.add_argument("--part", default="0/1", help="i/n: every n-th cell from the i-th (default 0/1: all)")
    p.add_argument("--scenes", nargs="+", default=None, help=f"default: the development scenes {DEV}")
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--headline", action="store_true", help="allow the headline scenes (after the choice)")
    p.add_argument("--tag", default="", help="a prefix of this run's rows file (e.g. headline-)")
    sub.add_parser("table", help="the development table and the rule's verdict")
    args = parser.parse_args()
    {"run": run, "table": table}[args.command](args)


if __name__ == "__main__":
    main()
