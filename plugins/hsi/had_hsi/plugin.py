"""Entry point of the `had` plugin: registers every known scene, ``hsi-file`` and ``envi-file`` by "module:Class"
string, and claims ENVI paths (``.hdr``, or a data file with its header beside it) for ``envi-file`` and
``.mat``/``.npz`` cubes for ``hsi-file``.

Light on purpose: it imports only the scene table, never the loaders (scipy) or the data.
"""

from __future__ import annotations

from pathlib import Path

from had import hookimpl
from had.cli_args import named_path

from .scenes import SCENES

PLUGIN_API = 1  # the had plugin API this plugin is written for (had.plugin_api)

_SCENE_TARGET = "had_hsi.sources:HSIScene"


@hookimpl
def register_datasources(register):
    for scene in SCENES.values():
        h, w, b = scene.shape
        summary = f"{scene.description}: {h}x{w}x{b}, {scene.n_anomalies} anomaly pixels"
        register(scene.name, _SCENE_TARGET, summary=summary, scene=scene.name)
    register("hsi-file", "had_hsi.sources:HSIFile",
             summary="a hyperspectral cube (H, W, B) and optional (H, W) map from your own .mat/.npz file")
    register("envi-file", "had_hsi.sources:ENVIFile",
             summary="an ENVI scene (.hdr with .img/.dat/.raw; BSQ, BIL, BIP), memory-mapped, wavelengths and map info kept")


@hookimpl
def register_commands(cli):
    """``had demo``: RX on the synthetic scene and, when HAD_DATA_DIR holds them, the four LREN scenes."""
    import click

    @cli.command("demo")
    @click.option("-o", "--output", type=click.Path(), callback=named_path,
                  help="folder for the maps and tables  [default: demo-out]")
    @click.option("--out", "out_alias", type=click.Path(), callback=named_path, hidden=True)  # the earlier name, still accepted
    def demo_cmd(output, out_alias):
        """RX on the synthetic scene and, when HAD_DATA_DIR holds them, the four LREN scenes."""
        from .demo import run_demo

        result = run_demo(Path(output or out_alias or "demo-out"), echo=click.echo)
        if any(row.get("error") for row in result.rows):  # a scene that could not be measured: said, exit 1
            raise SystemExit(1)


@hookimpl
def source_for_path(path, settings):
    """``envi-file`` for an ENVI path (:func:`had_hsi.envi.is_envi_path`); ``hsi-file`` for a
    ``.mat``/``.npz`` file holding the cube key (``data``, or the user's ``data_key``), or, without a
    ``data_key``, one 3-D array under any name (:func:`had.matfile.only_array`)."""
    from .envi import is_envi_path

    if is_envi_path(path):
        return "envi-file"
    from had.matfile import holds_key, only_array

    if holds_key(path, settings.get("data_key", "data")):
        return "hsi-file"
    only = None if "data_key" in settings else only_array(path)
    return "hsi-file" if only is not None and only[1] == 3 else None
