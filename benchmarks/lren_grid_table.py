"""The LREN table of docs/results.md and the plugin README from the two `had bench` grids: the current `lren`
(``grid2/``, second design round), the round-1 default and `lren-reference` and RX (``grid/``), side by side.

    .venv/bin/python benchmarks/lren_grid_table.py
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent / "results" / "lren"
HEADLINE = ("sandiego_plane", "hydice", "abu-beach-4", "abu-urban-2")
DEV = ("abu-airport-1", "abu-airport-3", "abu-beach-1", "abu-beach-3", "abu-urban-1", "abu-urban-4", "hydice-ii",
       "muufl-crop")
#: BS3LNet's current default, 12-scene mean (issue 12's target)
BS3LNET = 0.9306


def read(path: Path) -> dict[tuple[str, str], list[float]]:
    cells: dict[tuple[str, str], list[float]] = defaultdict(list)
    with path.open() as f:
        for r in csv.DictReader(f):
            if not r.get("error"):
                cells[(r["detector"], r["dataset"])].append(float(r["auroc"]))
    return cells


def cell(values: list[float]) -> str:
    if not values:
        return "(not run)"
    std = np.std(values, ddof=1) if len(values) > 1 else 0.0
    return f"{np.mean(values):.4f} ± {std:.4f} ({len(values)})"


def main() -> None:
    old, new = read(HERE / "grid" / "results.csv"), read(HERE / "grid2" / "results.csv")
    lines = ["| scene | role | `lren` (round 2: 3 x 25 epochs) | round-1 `lren` (200 epochs) | `lren-reference` | RX "
             "| `lren` - RX |", "|---|---|---|---|---|---|---|"]
    means = defaultdict(list)
    for scene in HEADLINE + DEV:
        now, rx = new.get(("lren", scene), []), old[("rx", scene)]
        diff = f"{np.mean(now) - np.mean(rx):+.4f}" if now else ""
        role = "headline" if scene in HEADLINE else "development"
        lines.append(f"| {scene} | {role} | {cell(now)} | {cell(old[('lren', scene)])} | "
                     f"{cell(old[('lren-reference', scene)])} | {np.mean(rx):.4f} | {diff} |")
        for name, values in (("new", now), ("old", old[("lren", scene)]), ("ref", old[("lren-reference", scene)]),
                             ("rx", rx)):
            if values:
                means[name].append(np.mean(values))
    n = {k: len(v) for k, v in means.items()}
    lines.append(f"| **mean of the scene means** | | {np.mean(means['new']):.4f} ({n['new']} scenes) | "
                 f"{np.mean(means['old']):.4f} ({n['old']}) | {np.mean(means['ref']):.4f} ({n['ref']}) | "
                 f"{np.mean(means['rx']):.4f} ({n['rx']}) | |")
    print("\n".join(lines))
    print(f"\nBS3LNet's default: {BS3LNET}")


if __name__ == "__main__":
    main()
