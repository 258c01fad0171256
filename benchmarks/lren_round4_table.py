"""The LREN table of docs/results.md and the plugin README after the fourth (speed) round: `lren` round 4
(``final4/``, the issue's done-when command), round 3 (``final/``), `lren-reference` and RX (``final4/``, kept from
``final/``) side by side, and issue 12's quality targets checked on the round-4 figures.

    .venv/bin/python benchmarks/lren_round4_table.py
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from lren_grid_table import BS3LNET, DEV, HEADLINE, HERE, cell, read
from lren_round3_table import HEADLINE_AUROC, HEADLINE_STD, RX_LIMIT


def main() -> None:
    four, three = read(HERE / "final4" / "results.csv"), read(HERE / "final" / "results.csv")
    lines = ["| scene | role | `lren` (round 4: 6 x 10 epochs, latent 16, ADMM <= 40 iterations, float32 mixture) | "
             "round 3 (500 iterations, float64) | `lren-reference` | RX | round 4 - RX |",
             "|---|---|---|---|---|---|---|"]
    means: dict[str, list[float]] = defaultdict(list)
    missed: list[str] = []
    for scene in HEADLINE + DEV:
        now, rx = four.get(("lren", scene), []), four[("rx", scene)]
        gap = np.mean(now) - np.mean(rx) if now else None
        role = "headline" if scene in HEADLINE else "development"
        lines.append(f"| {scene} | {role} | {cell(now)} | {cell(three[('lren', scene)])} | "
                     f"{cell(four[('lren-reference', scene)])} | {np.mean(rx):.4f} | "
                     + (f"{gap:+.4f} |" if now else " |"))
        for name, values in (("4", now), ("3", three[("lren", scene)]), ("ref", four[("lren-reference", scene)]),
                             ("rx", rx)):
            if values:
                means[name].append(np.mean(values))
        if now and scene in HEADLINE and (np.mean(now) < HEADLINE_AUROC or np.std(now, ddof=1) > HEADLINE_STD):
            missed.append(f"{scene}: {np.mean(now):.4f} ± {np.std(now, ddof=1):.4f} (headline target)")
        if gap is not None and gap < -RX_LIMIT:
            missed.append(f"{scene}: {gap:+.4f} against RX")
    n = {k: len(v) for k, v in means.items()}
    lines.append(f"| **mean of the scene means** | | {np.mean(means['4']):.4f} ({n['4']} scenes) | "
                 f"{np.mean(means['3']):.4f} ({n['3']}) | {np.mean(means['ref']):.4f} ({n['ref']}) | "
                 f"{np.mean(means['rx']):.4f} ({n['rx']}) | |")
    print("\n".join(lines))
    mean4, rx_mean = np.mean(means["4"]), np.mean(means["rx"])
    print(f"\n12-scene mean {mean4:.4f} against RX {rx_mean:.4f} and BS3LNet {BS3LNET}: "
          + ("met" if mean4 > max(rx_mean, BS3LNET) and n["4"] == 12 else "not met"))
    print("missed: " + ("; ".join(missed) if missed else "none"))


if __name__ == "__main__":
    main()
