"""The LREN table of docs/results.md and the plugin README after the fourth (speed) round: `lren` round 4
(``final4/``, the issue's done-when command), round 3 (``final/``), `lren-reference` and RX (``final4/``, kept from
``final/``) side by side, and issue 12's quality targets checked on the round-4 figures.

    .venv/bin/python benchmarks/lren_round4_table.py
"""

from __future__ import annotations

from lren_grid_table import HERE, read
from lren_round3_table import compare


def main() -> None:
    four, three = read(HERE / "final4" / "results.csv"), read(HERE / "final" / "results.csv")
    compare(four, three, four, "round 4: 6 x 10 epochs, latent 16, ADMM <= 40 iterations, float32 mixture",
            "round 3 (500 iterations, float64)", "round 4")


if __name__ == "__main__":
    main()
