"""The LREN table of docs/results.md and the plugin README after the third design round: `lren` round 3
(``grid3/``), round 2 (``grid2/``), `lren-reference` and RX (``grid/``) side by side, and issue 12's quality
targets checked on the round-3 figures (:func:`compare`, which the fourth round's table reuses).

    .venv/bin/python benchmarks/lren_round3_table.py
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from lren_grid_table import BS3LNET, DEV, HEADLINE, HERE, cell, read

#: issue 12: headline scenes at least this mean AUROC, with at most this seed standard deviation
HEADLINE_AUROC, HEADLINE_STD = 0.99, 0.01
#: no scene more than this below global RX
RX_LIMIT = 0.02


def compare(new: dict, old: dict, base: dict, new_label: str, old_label: str, round_name: str) -> None:
    """Print the table (`lren` rows of `new` and `old`, `lren-reference` and RX rows of `base`) and the targets
    checked on `new`."""
    lines = [f"| scene | role | `lren` ({new_label}) | {old_label} | `lren-reference` | RX | {round_name} - RX |",
             "|---|---|---|---|---|---|---|"]
    means: dict[str, list[float]] = defaultdict(list)
    missed: list[str] = []
    for scene in HEADLINE + DEV:
        now, rx = new.get(("lren", scene), []), base[("rx", scene)]
        gap = np.mean(now) - np.mean(rx) if now else None
        role = "headline" if scene in HEADLINE else "development"
        lines.append(f"| {scene} | {role} | {cell(now)} | {cell(old[('lren', scene)])} | "
                     f"{cell(base[('lren-reference', scene)])} | {np.mean(rx):.4f} | "
                     + (f"{gap:+.4f} |" if now else " |"))
        for name, values in (("new", now), ("old", old[("lren", scene)]), ("ref", base[("lren-reference", scene)]),
                             ("rx", rx)):
            if values:
                means[name].append(np.mean(values))
        if now and scene in HEADLINE and (np.mean(now) < HEADLINE_AUROC or np.std(now, ddof=1) > HEADLINE_STD):
            missed.append(f"{scene}: {np.mean(now):.4f} ± {np.std(now, ddof=1):.4f} (headline target)")
        if gap is not None and gap < -RX_LIMIT:
            missed.append(f"{scene}: {gap:+.4f} against RX")
    n = {k: len(v) for k, v in means.items()}
    lines.append(f"| **mean of the scene means** | | {np.mean(means['new']):.4f} ({n['new']} scenes) | "
                 f"{np.mean(means['old']):.4f} ({n['old']}) | {np.mean(means['ref']):.4f} ({n['ref']}) | "
                 f"{np.mean(means['rx']):.4f} ({n['rx']}) | |")
    print("\n".join(lines))
    mean_new, rx_mean = np.mean(means["new"]), np.mean(means["rx"])
    print(f"\n12-scene mean {mean_new:.4f} against RX {rx_mean:.4f} and BS3LNet {BS3LNET}: "
          + ("met" if mean_new > max(rx_mean, BS3LNET) and n["new"] == 12 else "not met"))
    print("missed: " + ("; ".join(missed) if missed else "none"))


def main() -> None:
    old, two, three = (read(HERE / name / "results.csv") for name in ("grid", "grid2", "grid3"))
    compare(three, two, old, "round 3: 6 x 10 epochs, latent 16", "round 2 (3 x 25, latent 9)", "round 3")


if __name__ == "__main__":
    main()
