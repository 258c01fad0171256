"""The LREN table of docs/results.md and the plugin README after the speed rounds: `lren` of the round asked
(``final11/`` for the eleventh, ``final10/`` for the ninth, ``final9/`` for the eighth's design with the mixture node, ``final8/`` for the eighth, ``final7/`` for the seventh, ``final5/`` for the fifth, ``final4/`` for the fourth: the issue's done-when
command), the round before it (``final7/``, ``final5/``, ``final4/``, ``final/``), `lren-reference` and RX (kept from
``final/``) side by side, and issue 12's quality targets checked on the round's figures.

    .venv/bin/python benchmarks/lren_round4_table.py            # the eleventh round (now): the raw branch
    .venv/bin/python benchmarks/lren_round4_table.py --round 10 # the ninth round: the ADMM in float32
    .venv/bin/python benchmarks/lren_round4_table.py --round 9  # the eighth round's design with the mixture node
    .venv/bin/python benchmarks/lren_round4_table.py --round 8  # the eighth round
    .venv/bin/python benchmarks/lren_round4_table.py --round 7  # the seventh round's table
    .venv/bin/python benchmarks/lren_round4_table.py --round 5  # the fifth round's table
    .venv/bin/python benchmarks/lren_round4_table.py --round 4  # the fourth round's table
"""

from __future__ import annotations

import argparse

from lren_grid_table import HERE, read
from lren_round3_table import compare

#: round -> (its grid folder, the folder of the round before, its label, the label of the round before)
ROUNDS = {
    4: ("final4", "final", "round 4: 6 x 10 epochs, latent 16, ADMM <= 40 iterations, float32 mixture",
        "round 3 (500 iterations, float64)"),
    5: ("final5", "final4", "round 5: 6 x 10 epochs, latent 16, ADMM <= 15 iterations at rho 1.44, lean mixture",
        "round 4 (ADMM <= 40 iterations at rho 1.2)"),
    7: ("final7", "final5", "round 7: 6 x 10 epochs, latent 32, ADMM <= 15 iterations at rho 1.44, lean mixture",
        "round 5 (latent 16)"),
    8: ("final8", "final7", "round 8: round 7 with 5 mixture components", "round 7 (7 components)"),
    9: ("final9", "final8", "round 8's design, the mixture terms as one autograd node (speed)",
        "round 8 (autograd through the mixture terms)"),
    10: ("final10", "final9", "round 9: round 8 with the node and the LRR ADMM in float32",
         "round 8 with the node (ADMM in float64)"),
    11: ("final11", "final10", "round 11: round 9 with the raw spectra's LRR at w = 0.25", "round 9"),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--round", type=int, choices=sorted(ROUNDS), default=11)
    args = parser.parse_args()
    folder, before, label, before_label = ROUNDS[args.round]
    new, old = read(HERE / folder / "results.csv"), read(HERE / before / "results.csv")
    compare(new, old, new, label, before_label, {9: "node", 10: "round 9", 11: "round 11"}.get(args.round, f"round {args.round}"))


if __name__ == "__main__":
    main()
