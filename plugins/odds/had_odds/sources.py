"""Tabular data sources: the known ODDS/ADBench tables (:class:`ODDSTable`) and any user file (:class:`TableFile`).

Both return a :class:`had.Dataset` whose ``X`` is float64 rows ``(n, d)`` and ``y`` int64 0/1 labels ``(n,)``.
"""

from __future__ import annotations

from pathlib import Path

from had import DataSource, DataSourceConfig, Dataset
from had.datadir import locate, sha256_of
from had.matfile import read_arrays
from pydantic import Field, field_validator

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
    default_protocol = "adbench"
    summary = "a known ODDS/ADBench outlier detection table (file under HAD_DATA_DIR, sha256-verified)"

    def load(self) -> Dataset:
        table = TABLES[self.config.table]
        path = locate(table.file)
        arrays = read_arrays(path, [table.x_key, table.y_key], sha256=table.file.sha256)
        X = as_rows(arrays[table.x_key], str(path))
        y = as_labels(arrays[table.y_key], X.shape[0], str(path))
        meta = {**table.file.provenance(), "description": table.description,
                "default_protocol": self.default_protocol}
        return Dataset(table.name, X, y, meta=meta)


class TableFileConfig(DataSourceConfig):
    path: str = Field(..., description="a .mat (MATLAB 5 or v7.3) or .npz file holding the rows")
    x_key: str = Field("X", description="key of the (n, d) rows")
    y_key: str | None = Field("y", description="key of the 0/1 labels, (n,) or (n, 1); None: no labels")


class TableFile(DataSource):
    """Any table of rows ``(n, d)`` with optional 0/1 labels from your own `.mat` or `.npz` file."""

    name = "table-file"
    Config = TableFileConfig
    kind = "tabular"
    default_protocol = "adbench"
    summary = "rows (n, d) and optional 0/1 labels from your own .mat/.npz file"

    def load(self) -> Dataset:
        path = Path(self.config.path).expanduser()
        keys = [self.config.x_key] + ([self.config.y_key] if self.config.y_key else [])
        arrays = read_arrays(path, keys)
        X = as_rows(arrays[self.config.x_key], str(path))
        y = as_labels(arrays[self.config.y_key], X.shape[0], str(path)) if self.config.y_key else None
        meta = {
            "citation": "",
            "url": None,
            "path": str(path),
            "sha256": sha256_of(path),
            "default_protocol": self.default_protocol,
        }
        return Dataset(path.stem, X, y, meta=meta)
