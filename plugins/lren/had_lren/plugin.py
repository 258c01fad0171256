"""Registers LREN with had; the class is named by string, so listing plugins imports neither torch nor the model."""

from had import hookimpl

PLUGIN_API = 1  # the had plugin API this plugin is written for (had.plugin_api)


@hookimpl
def register_detectors(register):
    register("lren", "had_lren.detector:LREN",
             summary="LREN (AAAI 2021): AE + GMM energy embedding, low-rank representation, l2,1 error; transductive")
