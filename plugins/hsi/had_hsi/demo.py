"""`had demo` / `make demo`, the hsi plugin's command: RX on the synthetic scene (when had-plugin-synthetic is
installed), and on the four LREN scenes when their files are in HAD_DATA_DIR, checked against published AUROCs."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from had import bench, plugins
from had.datadir import available

from .scenes import SCENES

REAL_SCENES = ("sandiego_plane", "hydice", "abu-beach-4", "abu-urban-2")
#: global RX AUROC on the raw scenes (float64, no normalisation): ../shared/data/MANIFEST.md
EXPECTED_RX = {"sandiego_plane": 0.9403, "hydice": 0.9763, "abu-beach-4": 0.9887, "abu-urban-2": 0.9952}


def _available(name: str) -> bool:
    return name in plugins.registry()["datasource"] and available(SCENES[name].file)


def run_demo(out: Path, echo: Callable[[str], None] = print) -> bench.BenchResult:
    datasets = ["synthetic-scene"] if "synthetic-scene" in plugins.names("datasource") else []
    real = [name for name in REAL_SCENES if _available(name)]
    if not real:
        echo("note: the real scenes are not in HAD_DATA_DIR; running on the synthetic scene only")
    datasets += real
    if not datasets:
        echo("nothing to run: pip install had-plugin-synthetic, or put the scenes in HAD_DATA_DIR (`had data fetch hsi`)")
        return bench.BenchResult([], [])
    # a folder of an earlier demo (with or without the real scenes) is written again; one holding another grid's
    # cells is refused (bench.run)
    table = out / bench.CSV_NAME
    earlier = ({(row["detector"], row["dataset"], row["seed"]) for row in bench.read_results(table)}
               if bench.is_bench_table(table) else set())
    demo_cells = {("rx", name, 0) for name in ("synthetic-scene", *REAL_SCENES)}
    result = bench.run(["rx"], datasets, [0], out=out, echo=echo, overwrite=earlier <= demo_cells)
    echo("")
    echo(result.table())
    for row in result.rows:
        if row["dataset"] in EXPECTED_RX:
            expected = EXPECTED_RX[row["dataset"]]
            ok = abs(row["auroc"] - expected) <= 0.001
            echo(f"RX on {row['dataset']}: AUROC {row['auroc']:.4f} (published {expected:.4f}) "
                 f"{'ok' if ok else 'DIFFERS'}")
    for path in result.files:
        echo(f"wrote {path}")
    return result
