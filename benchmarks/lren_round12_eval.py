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

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lren_round10_eval import cell, start_cache, study_main, write_dev_table  # noqa: E402
from lren_round11_eval import fused, raw_scores, raw_space, rule_lines  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "lren"
K_GRID = (16, 32, 64)
BASE_K, W = 32, 0.25
#: the rule (round12/rule.md): round 11's (lren_round11_eval.rule_lines), a looser validity check
VALID_TOL = 2e-4


def codes_scores(member, pixels: np.ndarray) -> np.ndarray:
    """A member's codes-branch scores of the fitted pixels, through its network (float32)."""
    import torch

    z, _ = member.embed(pixels)
    with torch.no_grad():
        return member.network_.codes_score(torch.from_numpy(z)).numpy().astype(np.float64)


def fit_all(cache: Path, scenes: list[str], seeds: list[int]) -> None:
    from had import load_dataset

    for scene in scenes:
        start_cache(cache, scene)
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
    n = len(scenes) * len(seeds)
    lines = ["# LREN round 12: development table (rule: rule.md)", "", f"    {command}", "",
             f"Scenes {', '.join(scenes)}; seeds {seeds}; w = {W}. Validity: "
             f"{'passed' if not invalid else 'FAILED'} (k = {BASE_K} within {VALID_TOL:g} of each fit's own AUROC on "
             f"{n - len(invalid)} of {n}).", ""]
    lines += rule_lines(au, rx, scenes, seeds, K_GRID, BASE_K, "k", invalid)
    write_dev_table(out, lines)


def main() -> None:
    study_main(__doc__, Path("/tmp/lren12_cache"), RESULTS / "round12", fit_all, table, "lren_round12_eval.py")


if __name__ == "__main__":
    main()
