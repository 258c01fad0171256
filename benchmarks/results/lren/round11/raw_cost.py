"""What the raw branch costs a default `lren` fit + scoring, side by side in one process: alternating fits of the
default (raw_weight 0.25) and of raw_weight=0 on one scene, CPU seconds (one torch thread), and their ratio.

    HAD_DATA_DIR=/work/shared/data OMP_NUM_THREADS=1 .venv/bin/python benchmarks/results/lren/round11/raw_cost.py \\
        [--scene sandiego_plane] [--pairs 4]
"""
import argparse
import time

import numpy as np
import torch

import had

parser = argparse.ArgumentParser()
parser.add_argument("--scene", default="sandiego_plane")
parser.add_argument("--pairs", type=int, default=4)
args = parser.parse_args()
torch.set_num_threads(1)
X = had.load_dataset(args.scene).X
had.get_detector("lren", seed=0, progress=False, epochs=1, restarts=1).fit(X)  # one-off imports, not timed
rows = []
for pair in range(args.pairs):
    row = {}
    for name, w in (("default", 0.25), ("raw_weight=0", 0.0)) if pair % 2 == 0 else (("raw_weight=0", 0.0),
                                                                                      ("default", 0.25)):
        c = time.process_time()
        det = had.get_detector("lren", seed=0, progress=False, raw_weight=w).fit(X)
        det.decision_function(X)
        row[name] = time.process_time() - c
    rows.append(row)
    print(f"pair {pair + 1}: default {row['default']:.2f} CPU s, raw_weight=0 {row['raw_weight=0']:.2f} CPU s, "
          f"ratio {row['default'] / row['raw_weight=0']:.3f}", flush=True)
ratios = [r["default"] / r["raw_weight=0"] for r in rows]
print(f"{args.scene}: median ratio {np.median(ratios):.3f} (range {min(ratios):.3f}-{max(ratios):.3f}) over "
      f"{len(rows)} pairs; median extra CPU s {np.median([r['default'] - r['raw_weight=0'] for r in rows]):.2f}")
