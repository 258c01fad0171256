"""Label-free fusions of the saved ensemble-level scorings (p3 output), seed 0, dev scenes."""
import sys, numpy as np, had
SEED = int(sys.argv[1])
from had.metrics import auroc
rows = {}
for scene in ("abu-airport-1", "abu-airport-3", "abu-beach-1", "abu-beach-3", "abu-urban-1", "abu-urban-4", "hydice-ii", "muufl-crop"):
    y = np.asarray(had.load_dataset(scene).y).reshape(-1).astype(bool)
    E = np.load(f"/tmp/lren_urban11/ens_{scene}_s{SEED}.npz")
    r = {k: auroc(y, E[k]) for k in ("lrr_default", "lrr_rawpca32", "rx_lat+resid")}
    for w in (0.25, 0.5):
        r[f"lrr+{w}rawpca"] = auroc(y, (1 - w) * E["lrr_default"] + w * E["lrr_rawpca32"])
    rows[scene] = r
keys = list(next(iter(rows.values())))
print("scene".ljust(14), " ".join(k[:14].rjust(14) for k in keys))
for s, r in rows.items(): print(s.ljust(14), " ".join(f"{r[k]:14.4f}" for k in keys))
print("mean".ljust(14), " ".join(f"{np.mean([r[k] for r in rows.values()]):14.4f}" for k in keys))
