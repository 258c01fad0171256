"""Registers LREN with had; the class is named by string, so listing plugins imports neither torch nor the model."""

from had import hookimpl


@hookimpl
def register_detectors(register):
    register("lren", "had_lren.detector:LREN",
             summary="LREN (AAAI 2021), stabilised: AE + GMM energy embedding, low-rank representation; transductive")
    register("lren-reference", "had_lren.detector:LRENReference",
             summary="LREN as published (the faithful port, reference settings): for reproducing the paper")
