"""`had demo` / `make demo`, the hsi plugin's command: RX on the synthetic scene (when had-plugin-synthetic is
installed), and on the four LREN scenes when their files are in HAD_DATA_DIR, checked against published AUROCs."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from had import bench, plugins
from had.errors import ConfigError, HadError
from had.datadir import available, usable_data_dir

from .scenes import SCENES

REAL_SCENES = ("sandiego_plane", "hydice", "abu-beach-4", "abu-urban-2")
#: global RX AUROC on the raw scenes (float64, no normalisation): ../shared/data/MANIFEST.md
EXPECTED_RX = {"sandiego_plane": 0.9403, "hydice": 0.9763, "abu-beach-4": 0.9887, "abu-urban-2": 0.9952}


def _available(name: str) -> bool:
    return name in plugins.registry()["datasource"] and available(SCENES[name].file)


def _a_demos_settings(out: Path) -> bool:
    """Whether the grid recorded in `out` (``grid.json``) ran the demo's settings: RX and the scenes with their
    defaults, transductive. A folder without a record (a demo before records were kept) counts as one."""
    import json

    import had
    from had import bench_resume

    try:
        record = bench_resume.read_record(out)
    except HadError:
        return False
    if record is None:
        return True

    def as_json(config) -> dict:
        return json.loads(json.dumps(config.model_dump(mode="json")))

    if set(record.get("detectors", {})) != {"rx"} or record["detectors"]["rx"] != as_json(had.get_detector("rx").config):
        return False
    for label, dataset in record.get("datasets", {}).items():
        if label not in ("synthetic-scene", *REAL_SCENES) or dataset.get("protocol") != "transductive":
            return False
        try:
            defaults = as_json(had.get_datasource(label).config)
        except HadError:
            return False
        if dataset.get("config") != defaults:
            return False
    return True


def run_demo(out: Path, echo: Callable[[str], None] = print) -> bench.BenchResult:
    datasets = ["synthetic-scene"] if "synthetic-scene" in plugins.names("datasource") else []
    real = [name for name in REAL_SCENES if _available(name)]
    if not real:
        why = "the real scenes are not in HAD_DATA_DIR"
        try:
            usable_data_dir()
        except HadError as exc:  # HAD_DATA_DIR names a file: said, not taken for an empty folder
            why = str(exc)
        echo(f"note: {why}; running on the synthetic scene only")
    datasets += real
    if not datasets:
        echo("nothing to run: pip install had-plugin-synthetic, or put the scenes in HAD_DATA_DIR (`had data fetch hsi`)")
        return bench.BenchResult([], [])
    # a folder of an earlier demo (with or without the real scenes) is written again; one holding another grid
    # (other cells, or the demo's cells with other settings: a user's `had bench --out` study) is refused
    table = out / bench.CSV_NAME
    earlier = ({(row["detector"], row["dataset"], row["seed"]) for row in bench.read_results(table)}
               if bench.is_bench_table(table) else set())
    demo_cells = {("rx", name, 0) for name in ("synthetic-scene", *REAL_SCENES)}
    if earlier and not (earlier <= demo_cells and _a_demos_settings(out)):
        raise ConfigError(f"{out} holds another grid's results ({table}), not an earlier demo's: give had demo "
                          "another folder (-o DIR)")
    result = bench.run(["rx"], datasets, [0], out=out, echo=echo, overwrite=bool(earlier))
    echo("")
    echo(result.table())
    for row in result.rows:
        if row["dataset"] in EXPECTED_RX and row.get("error"):  # a damaged or unreadable scene: said by its cell
            echo(f"RX on {row['dataset']}: not measured ({row['error']})")
        elif row["dataset"] in EXPECTED_RX:
            expected = EXPECTED_RX[row["dataset"]]
            ok = abs(row["auroc"] - expected) <= 0.001
            echo(f"RX on {row['dataset']}: AUROC {row['auroc']:.4f} (published {expected:.4f}) "
                 f"{'ok' if ok else 'DIFFERS'}")
    for path in result.files:
        echo(f"wrote {path}")
    return result
