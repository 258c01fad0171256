"""Entry point of the `had` plugin: registers every known table and ``table-file`` by "module:Class" string,
and claims ``.csv``/``.tsv`` tables and ``.mat``/``.npz`` files holding rows (``X``, or the user's ``x_key``) for ``table-file``.

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
             summary="rows (n, d) and optional 0/1 labels from your own .mat/.npz/.csv file")


@hookimpl
def source_for_path(path, settings):
    """``table-file`` for a ``.csv``/``.tsv`` table, or a ``.mat``/``.npz`` file holding the rows key (``X``, or the
    user's ``x_key``), or, without an ``x_key``, one 2-D array under any name (:func:`had.matfile.only_array`)."""
    from pathlib import Path

    from had.matfile import holds_key, only_array

    if Path(path).suffix.lower() in (".csv", ".tsv"):
        return "table-file"
    if holds_key(path, settings.get("x_key", "X")):
        return "table-file"
    only = None if "x_key" in settings else only_array(path)
    return "table-file" if only is not None and only[1] == 2 else None
