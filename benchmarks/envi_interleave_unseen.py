"""The ENVI interleave check on cubes nobody chose it on: had's own synthetic scenes (seeds 0-2) and
``had_sdk.testing.radiance_line`` lines of 20 to 100 bands, 30 to 500 lines and 40 to 600 samples, float32 and
int16, each written BSQ, BIL and BIP and declared rightly and both wrong ways. Prints how many rightly declared
files are refused (should be none) and how many misdeclared ones. Usage::

    HAD_DATA_DIR=../shared/data OMP_NUM_THREADS=1 .venv/bin/python benchmarks/envi_interleave_unseen.py
"""
import re
import tempfile
from pathlib import Path

import numpy as np

import had
from had.errors import DataFileError
from had_hsi.envi import open_envi, save_envi
from had_sdk.testing import radiance_line

cubes = []
for seed in range(3):
    d = had.load_dataset("synthetic-scene", seed=seed)
    cubes.append((f"synthetic-scene s{seed}", np.asarray(d.X, dtype=np.float32)))
for (l, s, b) in [(200, 120, 64), (64, 300, 32), (30, 600, 100), (500, 40, 20)]:
    cubes.append((f"radiance_line {l}x{s}x{b}", radiance_line(l, s, b, seed=1)[0]))
    cubes.append((f"radiance_line int16 {l}x{s}x{b}", radiance_line(l, s, b, seed=2)[0].astype(np.int16)))
right = wrong_refused = wrong_total = 0
false = []
with tempfile.TemporaryDirectory() as tmp:
    for name, cube in cubes:
        for written in ("bsq", "bil", "bip"):
            hdr = Path(tmp) / f"c_{written}.hdr"
            save_envi(hdr, cube, written)
            for declared in ("bsq", "bil", "bip"):
                text = hdr.read_text()
                hdr.write_text(re.sub(r"interleave = \w+", f"interleave = {declared}", text))
                try:
                    open_envi(hdr)
                    refused = False
                except DataFileError:
                    refused = True
                if declared == written:
                    right += 1
                    if refused: false.append((name, written))
                else:
                    wrong_total += 1
                    wrong_refused += refused
                hdr.write_text(text)
print("cubes", len(cubes), "rightly declared", right, "falsely refused", false, "misdeclared refused", wrong_refused, "of", wrong_total)
