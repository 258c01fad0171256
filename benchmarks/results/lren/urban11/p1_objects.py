"""Probe 1: per-anomaly-object ranks under the cached round-10 LREN ensemble vs RX (dev scenes only)."""
import sys, numpy as np
from scipy import ndimage
import had
DEV = ("abu-airport-1", "abu-urban-1", "abu-urban-4", "hydice-ii")
C = "/tmp/lren10_cache"
def frac_bg_above(s, y):
    bg = np.sort(s[~y]); return 1 - np.searchsorted(bg, s[y], side="left") / bg.size  # per-anomaly: share of bg >= it
for scene in DEV:
    data = had.load_dataset(scene); H, W, B = data.X.shape
    y = np.asarray(data.y).reshape(-1).astype(bool)
    X = data.X.reshape(-1, B).astype(np.float64)
    rx = np.load(f"{C}/{scene}__rx.npz")["scores"]
    lab, n = ndimage.label(y.reshape(H, W), structure=np.ones((3, 3)))
    lab = lab.reshape(-1)
    # background stats
    mu = X[~y].mean(0); bgnorm = np.linalg.norm(X[~y] - mu, axis=1)
    print(f"\n== {scene} {H}x{W}x{B}, {y.sum()} anomaly px, {n} objects; RX AUROC deficit share")
    fr_rx = frac_bg_above(rx, y)
    for seed in (0, 1):
        d = np.load(f"{C}/{scene}__seed{seed}.npz"); s = d["scores"]
        fr = frac_bg_above(s, y)
        print(f" seed {seed}: AUROC lren {1-fr.mean():.4f} rx {1-fr_rx.mean():.4f}; members " +
              " ".join(f"{1-frac_bg_above(m, y).mean():.4f}" for m in d["members"]))
        if seed: continue
        print("  obj size  lrenFA  rxFA  lrenLoss rxLoss | norm(x-mu_bg)/median  nearestBgDist/median  rowcol edge")
        a_idx = np.flatnonzero(y)
        med = np.median(bgnorm)
        # nearest background pixel distance for each object's mean spectrum (subsample bg)
        rng = np.random.default_rng(0); bgs = X[~y][rng.choice((~y).sum(), min(5000, (~y).sum()), replace=False)]
        nn_med = np.median(np.min(np.linalg.norm(bgs[:500, None] - bgs[None, 500:], axis=2), axis=1))
        rows = []
        for k in range(1, n + 1):
            m = lab[a_idx] == k
            px = a_idx[m]; r, c = np.divmod(px, W)
            spec = X[px].mean(0)
            nn = np.min(np.linalg.norm(bgs - spec, axis=1))
            edge = min(r.min(), c.min(), H - 1 - r.max(), W - 1 - c.max())
            rows.append((k, m.sum(), fr[m].mean(), fr_rx[m].mean(), fr[m].sum() / y.sum(), fr_rx[m].sum() / y.sum(),
                         np.linalg.norm(spec - mu) / med, nn / nn_med, int(r.mean()), int(c.mean()), edge))
        rows.sort(key=lambda t: -(t[4] - t[5]))
        for t in rows:
            print("  %3d %4d  %.4f %.4f  %.4f %.4f | %6.2f %6.2f   (%d,%d) %d" % t)
