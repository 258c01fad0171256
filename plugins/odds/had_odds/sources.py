"""Tabular data sources: the known ODDS/ADBench tables (:class:`ODDSTable`) and any user file (:class:`TableFile`).

Both return a :class:`had.Dataset` whose ``X`` is float64 rows ``(n, d)`` and ``y`` int64 0/1 labels ``(n,)``.
"""

from __future__ import annotations

from pathlib import Path

from had import DataSource, DataSourceConfig, Dataset
from had.arrayfiles import read_known, read_user
from had.datadir import regular_file, sha256_of
from had.matfile import list_keys, only_array
from pydantic import Field, field_validator

from .csvtable import DEFAULT_Y_KEY, SUFFIXES, read_csv_table
from .rows import as_labels, as_rows
from .tables import TABLES


class ODDSTableConfig(DataSourceConfig):
    table: str = Field(..., description=f"a known table: {', '.join(TABLES)}")

    @field_validator("table")
    @classmethod
    def _known_table(cls, value: str) -> str:
        if value not in TABLES:
            raise ValueError(f"unknown table {value!r}; known tables: {', '.join(TABLES)}")
        return value


class ODDSTable(DataSource):
    """A known outlier detection table, read from ``$HAD_DATA_DIR`` and verified against its sha256."""

    name = "odds-table"
    Config = ODDSTableConfig
    kind = "tabular"
    named_by = ("table",)  # its registered table is the dataset: a setting cannot swap it
    default_protocol = "adbench"

    def known_files(self):
        """The table's file (`had data fetch` downloads it)."""
        return [TABLES[self.config.table].file]

    def load(self) -> Dataset:
        table = TABLES[self.config.table]
        arrays, where, meta = read_known(table.file, [table.x_key, table.y_key], table.description)
        X = as_rows(arrays[table.x_key], where)
        return Dataset(table.name, X, as_labels(arrays[table.y_key], X.shape[0], where), meta=meta)


class TableFileConfig(DataSourceConfig):
    path: str = Field(..., description="a .mat (MATLAB 5 or v7.3) or .npz file holding the rows, or a .csv/.tsv "
                                       "table (one row per sample)")
    x_key: str = Field("X", description="key of the (n, d) rows (.mat/.npz; a CSV's features are its columns "
                                        "but the label column)")
    y_key: str | None = Field("y", description="key of the 0/1 labels, (n,) or (n, 1), or the CSV header's label "
                                               "column; None: no labels (as for a file holding the rows alone)")


class TableFile(DataSource):
    """Any table of rows ``(n, d)`` with optional 0/1 labels from your own `.mat`, `.npz` or `.csv` file
    (:mod:`had_odds.csvtable` says how a CSV is read)."""

    name = "table-file"
    Config = TableFileConfig
    kind = "tabular"
    default_protocol = "adbench"

    def load(self) -> Dataset:
        cfg = self.config
        if Path(cfg.path).suffix.lower() in SUFFIXES:
            return self._load_csv(regular_file(cfg.path, "table file"))  # regular_file expands ~
        keys, y_key, x_key = set(list_keys(cfg.path)), cfg.y_key, cfg.x_key
        if x_key not in keys and len(keys) == 1 and "x_key" not in cfg.model_fields_set:
            only = only_array(cfg.path)
            x_key = only[0] if only is not None and only[1] == 2 else x_key  # one 2-D array, any name
        if y_key == DEFAULT_Y_KEY and keys == {x_key}:
            y_key = None  # a file holding the rows alone is a table without labels; with other arrays, say which
        arrays, path, meta = read_user(cfg.path, [x_key, y_key])
        X = as_rows(arrays[x_key], str(path))
        y = as_labels(arrays[y_key], X.shape[0], str(path)) if y_key else None
        return Dataset(path.stem, X, y, meta=meta)

    def _load_csv(self, path: Path) -> Dataset:
        values, labels, names = read_csv_table(path, self.config.y_key)
        X = as_rows(values, str(path))
        y = None if labels is None else as_labels(labels, X.shape[0], str(path))
        meta = {"citation": "", "url": None, "path": str(path), "sha256": sha256_of(path), "feature_names": names}
        return Dataset(path.stem, X, y, meta=meta)
