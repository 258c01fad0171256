"""LREN twelfth design round: the raw branch's width (``raw_components`` k), on the DEVELOPMENT scenes only.

Candidates (benchmarks/results/lren/round12/rule.md, written before this script ran): the eleventh round's
default (``raw_weight=0.25``) with k in K_GRID principal components in the raw branch. One default fit per
(scene, seed) (``lren_round10_eval.cell``) answers for every k: each member's codes scores are its codes branch
through the network, its raw scores for each k are round 11's float64 computation
(``lren_round11_eval.raw_space``, ``raw_scores``) with the member's atoms. Cached per (scene, seed) under
``--cache``; the table step checks validity (k = 32 within 2e-4 of the detector's own AUROC) and writes
``round12/dev_table.md`` with the rule's verdict. Headline scenes are refused.

    HAD_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lren_round12_eval.py \\
        --cache /tmp/lren12_cache
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lren_dev import DEV  # noqa: E402
from lren_round10_eval import cell, check_scenes  # noqa: E402
from lren_round11_eval import fused, raw_scores, raw_space  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "lren"
K_GRID = (16, 32, 64)
BASE_K, W = 32, 0.25
SEEDS = (0, 1, 2, 3, 4)
#: the rule (round12/rule.md)
MEAN_GAIN, DROP_MAX, TIE, VALID_TOL = 0.002, 0.02, 0.0005, 2e-4


def codes_scores(member, pixels: np.ndarray) -> np.ndarray:
    """A member's codes-branch scores of the fitted pixels, through its network (float32)."""
    import torch

    z, _ = member.embed(pixels)
    with torch.no_grad():
        return member.network_.codes_score(torch.from_numpy(z)).numpy().astype(np.float64)


def fit_all(cache: Path, scenes: list[str], seeds: list[int]) -> None:
    import torch

    from had import load_dataset

    torch.set_num_threads(1)
    cache.mkdir(parents=True, exist_ok=True)
    for scene in scenes:
        target = cache / f"{scene}__rx.npz"
        if not target.is_file():
            _, scores, y, fit_s = cell("rx", scene, 0)
            np.savez(target, scores=scores, y=y, fit_s=fit_s)
        X = np.asarray(load_dataset(scene).X)
        pixels = X.reshape(-1, X.shape[-1]).astype(np.float32)
        spaces = {k: raw_space(X, k) for k in K_GRID}
        for seed in seeds:
            target = cache / f"{scene}__seed{seed}.npz"
            if target.is_file():
                continue
            det, scores, y, fit_s = cell("lren", scene, seed)
            if det.config.raw_weight != W or det.config.raw_components != BASE_K:
                raise SystemExit(f"the default is not round 11's (raw_weight {det.config.raw_weight}, "
                                 f"raw_components {det.config.raw_components})")
            members = det.restart_members_
            codes = np.stack([codes_scores(m, pixels) for m in members])
            raw = {f"raw{k}": np.stack([raw_scores(S, m) for m in members]) for k, S in spaces.items()}
            np.savez(target, scores=scores, y=y, codes=codes, fit_s=fit_s,
                     pcs=np.array([spaces[k].shape[1] for k in K_GRID]), **raw)
            print(f"{scene} seed {seed}: fit {fit_s:.1f}s", flush=True)


def table(cache: Path, scenes: list[str], seeds: list[int], out: Path, command: str) -> None:
    from had.metrics import auroc

    au, rx, invalid = {}, {}, []
    for scene in scenes:
        r = np.load(cache / f"{scene}__rx.npz")
        rx[scene] = auroc(r["y"].astype(bool), r["scores"])
        for seed in seeds:
            run = np.load(cache / f"{scene}__seed{seed}.npz")
            y = run["y"].astype(bool)
            for k in K_GRID:
                au[scene, seed, k] = auroc(y, fused(run["codes"], run[f"raw{k}"], W))
            own = auroc(y, run["scores"])
            if abs(au[scene, seed, BASE_K] - own) > VALID_TOL:
                invalid.append((scene, seed, au[scene, seed, BASE_K], own))
    stats = {}
    for k in K_GRID:
        per_scene = {s: float(np.mean([au[s, n, k] for n in seeds])) for s in scenes}
        below = {(s, n) for s in scenes for n in seeds if au[s, n, k] < rx[s]}
        stats[k] = {"mean": float(np.mean(list(per_scene.values()))), "per_scene": per_scene, "below": below}
    base = stats[BASE_K]
    for k in K_GRID:
        st = stats[k]
        st["drop"] = max(base["per_scene"][s] - st["per_scene"][s] for s in scenes)
        st["new_below"] = sorted(st["below"] - base["below"])
        st["eligible"] = (k != BASE_K and st["mean"] >= base["mean"] + MEAN_GAIN and not st["new_below"]
                          and st["drop"] <= DROP_MAX)
    eligible = [k for k in K_GRID if stats[k]["eligible"]]
    if invalid:
        verdict = f"**No verdict (invalid):** k = {BASE_K} differs from the detector's own AUROC on {invalid}"
    elif not eligible:
        verdict = f"**No change:** no k other than {BASE_K} is eligible."
    else:
        best = max(stats[k]["mean"] for k in eligible)
        verdict = f"**Choice: k = {min(k for k in eligible if stats[k]['mean'] >= best - TIE)}** (eligible: {eligible})."
    n = len(scenes) * len(seeds)
    lines = ["# LREN round 12: development table (rule: rule.md)", "", f"    {command}", "",
             f"Scenes {', '.join(scenes)}; seeds {seeds}; w = {W}. Validity: "
             f"{'passed' if not invalid else 'FAILED'} (k = {BASE_K} within {VALID_TOL:g} of each fit's own AUROC on "
             f"{n - len(invalid)} of {n}).", "",
             f"| k | mean | below RX (of {n}) | new below RX | drop | eligible | " + " | ".join(scenes) + " |",
             "|" + "---|" * (6 + len(scenes))]
    for k in K_GRID:
        st = stats[k]
        lines.append(f"| {k} | {st['mean']:.4f} | {len(st['below'])} | {len(st['new_below'])} | {st['drop']:+.4f} | "
                     f"{'yes' if st['eligible'] else 'no'} | "
                     + " | ".join(f"{st['per_scene'][s]:.4f}" for s in scenes) + " |")
    lines.append("| RX | " + f"{np.mean([rx[s] for s in scenes]):.4f} | | | | | "
                 + " | ".join(f"{rx[s]:.4f}" for s in scenes) + " |")
    lines += ["", verdict, "", "Pairs below RX per k: "
              + "; ".join(f"k={k}: " + ", ".join(f"{s}/{n}" for s, n in sorted(stats[k]["below"])) for k in K_GRID)]
    out.mkdir(parents=True, exist_ok=True)
    (out / "dev_table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/lren12_cache"))
    parser.add_argument("--scenes", nargs="+", default=list(DEV))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--out", type=Path, default=RESULTS / "round12")
    parser.add_argument("--fit-only", action="store_true", help="fit and cache, no table")
    args = parser.parse_args()
    check_scenes(args.scenes)
    fit_all(args.cache, args.scenes, args.seeds)
    if not args.fit_only:
        table(args.cache, args.scenes, args.seeds, args.out,
              " ".join(["benchmarks/lren_round12_eval.py"] + sys.argv[1:]))


if __name__ == "__main__":
    main()
