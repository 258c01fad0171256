"""Probe 1b: the background pixels LREN ranks above anomalies (false alarms) vs RX's; cached round-10 scores, seed 0."""
import numpy as np
from scipy import ndimage
import had
C = "/tmp/lren10_cache"
for scene in ("abu-airport-1", "abu-urban-1", "abu-urban-4", "hydice-ii"):
    data = had.load_dataset(scene); H, W, B = data.X.shape
    y = np.asarray(data.y).reshape(-1).astype(bool)
    X = data.X.reshape(-1, B).astype(np.float64)
    rx = np.load(f"{C}/{scene}__rx.npz")["scores"]; s = np.load(f"{C}/{scene}__seed0.npz")["scores"]
    # pairwise loss: for each bg pixel, number of anomalies it outranks
    ya = np.sort(s[y]); yr = np.sort(rx[y])
    out_l = np.searchsorted(ya, s[~y], side="right"); out_r = np.searchsorted(yr, rx[~y], side="right")
    na = y.sum(); nb = (~y).sum()
    print(f"\n== {scene}: bg pixels outranking >=1 anomaly: lren {np.sum(out_l>0)} rx {np.sum(out_r>0)}; "
          f"pairs lost lren {out_l.sum()/(na*nb):.4f} rx {out_r.sum()/(na*nb):.4f}")
    # where are lren's offenders: spatial and spectral
    bg_idx = np.flatnonzero(~y)
    for name, out, other in (("lren", out_l, rx), ("rx", out_r, s)):
        off = bg_idx[out > 0]
        if off.size == 0: continue
        r, c = np.divmod(off, W)
        edge = np.minimum.reduce([r, c, H - 1 - r, W - 1 - c])
        dil = ndimage.binary_dilation(y.reshape(H, W), iterations=2).reshape(-1) & ~y
        ranks_other = (np.argsort(np.argsort(other[~y])) / nb)[out > 0]
        w = out[out > 0]
        print(f"  {name} offenders: n={off.size}, pair-weighted: on border(<=2px) {np.sum(w*(edge<=2))/w.sum():.2f}, "
              f"within 2px of anomaly {np.sum(w*dil[off])/w.sum():.2f}, median pct-rank under the other {np.median(ranks_other):.3f}, "
              f"|x| rel. bg median {np.median(np.linalg.norm(X[off],axis=1))/np.median(np.linalg.norm(X[~y],axis=1)):.2f}")
    # top offenders of LREN that RX ranks low
    order = np.argsort(-out_l)[:10]
    pr = np.argsort(np.argsort(rx[~y])) / nb
    print("  worst lren offenders (row,col,#anoms outranked lren/rx, rx pct rank):",
          [(int(bg_idx[i] // W), int(bg_idx[i] % W), int(out_l[i]), int(out_r[i]), round(float(pr[i]), 3)) for i in order])
    # connected clusters of lren offenders
    m = np.zeros(H * W, bool); m[bg_idx[out_l > 0]] = True
    lab, n = ndimage.label(m.reshape(H, W), structure=np.ones((3, 3)))
    sizes = np.bincount(lab.ravel())[1:]
    print(f"  lren offender blobs: {n}, largest sizes {sorted(sizes)[-8:]}")
