"""One short fixed-seed fit + AUROC per deep detector, the same at two commits (issue 14: the training loop moved
into the SDK's hooks; were the results unchanged?).

Each case fits one detector with seed 0 on a small real (or seeded synthetic) dataset and reports the AUROC of
its scores and the wall and CPU seconds of fit + score (on a shared machine the CPU seconds move less with
the load than the wall seconds). Only the public API that both commits share is used
(``had.get_detector``, ``had.load_dataset``, ``had.protocols.deepsad_split``, ``had_images.one_class_split``) and
only config fields both commits have; torch runs on one thread (set here: the older commit has no ``threads``
field). Run it with each commit's interpreter::

    HAD_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/loop_before_after.py
    ... benchmarks/loop_before_after.py --cases deepsad,bs3lnet      # a subset

Prints one JSON line per case (``case``, ``detector``, ``auroc``, ``seconds``, ``cpu_seconds``, or ``error``);
nothing is asserted. The table of both commits is benchmarks/results/loop_before_after.md.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import had
import had.plugins
from had.metrics import auroc

SEED = 0
CXR = {"width": 8, "rep_dim": 32, "epochs": 2}  # bench_cxr.py's CPU widths, its --quick epochs
# case -> (detector, data, config). Data: "cardio" is Deep SAD's split with 5 % pollution (fit on train, AUROC
# on test), "cardio-all" transductive, "sandiego" the scene (transductive), "geochem" seeded raster tiles
# (transductive), "pneumonia" the one-class split (fit on normal training images, AUROC on test)
CASES = {
    "autoencoder": ("autoencoder", "cardio-all", {"epochs": 10, "restarts": 1}),
    "deepsvdd": ("deepsvdd", "cardio", {"epochs": 10, "ae_epochs": 10}),
    "deepsad": ("deepsad", "cardio", {"epochs": 10, "ae_epochs": 10}),
    "deepsad-ae": ("deepsad-ae", "cardio", {"epochs": 10}),
    "hybrid-iforest": ("hybrid-iforest", "cardio", {"ae_epochs": 10}),
    "bs3lnet": ("bs3lnet", "sandiego", {"epochs": 0.1, "batch_size": 16, "channels": 8}),  # 63 steps
    "geohgan": ("geohgan", "geochem", {"epochs": 2, "encoder_epochs": 2}),
    "lren": ("lren", "sandiego", {"epochs": 20}),
    "lren-reference": ("lren-reference", "sandiego", {"epochs": 20}),
    "memdae": ("memdae", "pneumonia", CXR),
    "rlad": ("rlad", "pneumonia", {**CXR, "epochs": 1, "ans_select_rate": 0.25, "w_contrast": 0.25, "w_rec": 1.0}),
    "cxr-deepsvdd": ("cxr-deepsvdd", "pneumonia", CXR),
    "gan-gp": ("gan-gp", "pneumonia", {**CXR, "critic_width": 8, "lr_decay_epochs": 1}),
}


def data(kind: str):
    """(train X, train known labels or None, test X, test y)."""
    if kind in ("cardio", "cardio-all"):
        table = had.load_dataset("cardio")
        if kind == "cardio-all":
            return table.X, None, table.X, table.y
        from had.protocols import deepsad_split

        split = deepsad_split(table, seed=SEED, ratio_pollution=0.05)
        return split.train.X, split.train.known, split.test.X, split.test.y
    if kind == "sandiego":
        scene = had.load_dataset("sandiego_plane")
        return scene.X, None, scene.X, scene.y
    if kind == "geochem":
        tiles = had.load_dataset("synthetic-geochem", {"height": 128, "width": 128, "channels": 10, "tile_size": 16,
                                                       "stride": 8, "sizes": [2.0, 4.0, 8.0],
                                                       "correlation_length": 12.0, "seed": SEED})
        return tiles.X, None, tiles.X, tiles.y
    from had_images import one_class_split

    split = one_class_split(had.load_dataset("pneumoniamnist"))
    return split.train.X, None, split.test.X, split.test.y


def run(case: str) -> dict:
    name, kind, config = CASES[case]
    if name not in had.plugins.names("detector"):
        return {"case": case, "detector": name, "error": "not registered at this commit"}
    train_x, known, test_x, test_y = data(kind)
    det = had.get_detector(name, {**config, "seed": SEED})
    if "progress" in type(det.config).model_fields:
        det.config.progress = False
    start, cpu = time.perf_counter(), time.process_time()
    det.fit(train_x, known if det.uses_labels else None)
    scores = det.decision_scores_ if test_x is train_x else det.decision_function(test_x)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"case": case, "detector": name, "auroc": round(float(auroc(np.asarray(test_y).reshape(-1),
                                                                       np.asarray(scores).reshape(-1))), 6),
            "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for case in args.cases.split(","):
        try:
            row = run(case)
        except had.HadError as exc:
            row = {"case": case, "error": " ".join(str(exc).split())}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
