"""Entry point of the `had` plugin: registers ``synthetic-scene`` and ``synthetic-table`` by "module:Class" string."""

from __future__ import annotations

from had import hookimpl

PLUGIN_API = 1  # the had plugin API this plugin is written for (had.plugin_api)


@hookimpl
def register_datasources(register):
    register("synthetic-scene", "had_synthetic.scene:SyntheticHSIScene",
             summary="seeded synthetic hyperspectral scene (64x64x50, 12 sub-pixel targets); no file needed")
    register("synthetic-table", "had_synthetic.table:SyntheticTabular",
             summary="seeded synthetic table (1000x10, 5% planted outliers); no file needed")
