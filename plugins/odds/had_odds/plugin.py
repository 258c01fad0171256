"""Entry point of the `had` plugin: registers every known table and ``table-file`` by "module:Class" string.

Light on purpose: it imports only the table list, never the loaders (scipy) or the data.
"""

from __future__ import annotations

from had import hookimpl

from .tables import TABLES

PLUGIN_API = 1  # the had plugin API this plugin is written for (had.plugin_api)


@hookimpl
def register_datasources(register):
    for table in TABLES.values():
        summary = f"{table.description}: {table.n_samples}x{table.n_features}, {table.n_outliers} outliers"
        register(table.name, "had_odds.sources:ODDSTable", summary=summary, table=table.name)
    register("table-file", "had_odds.sources:TableFile",
             summary="rows (n, d) and optional 0/1 labels from your own .mat/.npz file")
