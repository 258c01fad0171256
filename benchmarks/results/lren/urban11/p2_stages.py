"""Probe 2-4: network stage vs LRR stage vs dictionary, one restart (restarts=1) per (scene, seed). Dev scenes only."""
import sys, time, json, numpy as np, torch
import had
from had.metrics import auroc
from had.rx import RX
from had_lren import lrr as L
torch.set_num_threads(1)
SCENES = sys.argv[1].split(",") ; SEEDS = [int(s) for s in sys.argv[2].split(",")]
DEV = ("abu-airport-1", "abu-airport-3", "abu-beach-1", "abu-beach-3", "abu-urban-1", "abu-urban-4", "hydice-ii", "muufl-crop")
assert all(s in DEV for s in SCENES)

def maha(Z):
    return L.whitening(Z)[2]

def pca_white(X, k):
    Xc = X - X.mean(0); w, V = np.linalg.eigh(np.cov(Xc.T)); V = V[:, ::-1][:, :k]
    P = Xc @ V; return (P - P.mean(0)) / P.std(0)

def lrr_scores(S, atoms, closed=True, lam=0.01):
    if closed:
        res = L.lrr(S.T, S[atoms].T, lam, max_iter=15, rho=1.44, svt_method="gram", dtype=np.float32)
        rule = L.out_of_sample_rule(S[atoms].T, res.X, lam)
        return L.out_of_sample_scores(S, rule), rule.rank
    res = L.lrr(S.T, S[atoms].T, lam, max_iter=400, rho=1.2, svt_method="gram")
    return L.column_scores(res.E), None

def lsq_resid(S, atoms):
    B = S[atoms].T; coef, *_ = np.linalg.lstsq(B, S.T, rcond=None); return np.linalg.norm(S.T - B @ coef, axis=0)

out = []
for scene in SCENES:
    data = had.load_dataset(scene); H, W, Bn = data.X.shape
    y = np.asarray(data.y).reshape(-1).astype(bool)
    Xr = data.X.reshape(-1, Bn).astype(np.float64)
    px = Xr.astype(np.float32)
    base = {"rx_raw": auroc(y, RX().fit(Xr).decision_scores_)}
    for k in (5, 10, 20, 32, 64):
        base[f"rx_pca{k}"] = auroc(y, np.sum(pca_white(Xr, k) ** 2, 1))
    print(scene, {k: round(v, 4) for k, v in base.items()}, flush=True)
    for seed in SEEDS:
        t0 = time.perf_counter()
        det = had.get_detector("lren", seed=seed, restarts=1, device="cpu", progress=False, log_every=0)
        det.fit(data.X)
        z, g = det.embed(px); z64 = z.astype(np.float64)
        r = dict(scene=scene, seed=seed, fit_s=round(time.perf_counter() - t0, 1))
        r["lren_member"] = auroc(y, det.decision_scores_)
        r["rx_latent"] = auroc(y, maha(z64))
        m = det.model_.eval()
        with torch.no_grad():
            xp = m.preprocessing(torch.from_numpy(px)); xh = m.network.decode(torch.from_numpy(z))
            res = (xp - xh).numpy().astype(np.float64)
        r["recon_err"] = auroc(y, np.linalg.norm(res, axis=1))
        r["rx_recon_resid"] = auroc(y, maha(res))
        r["rx_latent+resid"] = auroc(y, maha(np.hstack([z64, res])))
        # the LRR stage in the default whitened latent space with the fitted atoms
        mean, Wm, dist = L.whitening(z64); S = (z64 - mean) @ Wm; atoms = det.atoms_
        r["lrr_white_closed"], r["rank"] = lrr_scores(S, atoms)
        r["lrr_white_closed"] = auroc(y, r["lrr_white_closed"])
        r["lrr_white_admm400"] = auroc(y, lrr_scores(S, atoms, closed=False)[0])
        r["lsq_resid_white"] = auroc(y, lsq_resid(S, atoms))
        # the LRR stage on raw PCA-32 whitened spectra, same atom pixels
        P = pca_white(Xr, 32)
        sc, _ = lrr_scores(P, atoms); r["lrr_rawpca32_sameatoms"] = auroc(y, sc)
        # bigger dictionary: 50 random allowed (non-excluded) pixels
        allowed = np.flatnonzero(dist <= np.quantile(dist, 0.95))
        rng = np.random.default_rng(seed)
        for n_at in (10, 50, 200):
            at = rng.choice(allowed, n_at, replace=False)
            r[f"lrr_white_rand{n_at}"] = auroc(y, lrr_scores(S, at)[0])
        # dictionary diagnostics
        d_pct = np.argsort(np.argsort(dist))[atoms] / len(dist)
        cl = np.bincount(g.argmax(1), minlength=g.shape[1])
        r["n_atoms"] = len(atoms); r["n_unique_atoms"] = len(set(atoms.tolist()))
        r["anom_atoms"] = int(y[atoms].sum())
        r["atom_dist_pct"] = [round(float(v), 3) for v in d_pct]
        r["cluster_sizes"] = cl.tolist()
        r["gamma_max_median"] = float(np.median(g.max(1)))
        w = np.linalg.eigvalsh(np.cov(z64.T))[::-1]
        r["latent_pr"] = float(w.sum() ** 2 / (w ** 2).sum()); r["latent_eig_ratio"] = float(w[-1] / w[0])
        # where does the anomaly signal sit in latent PCs: AUROC of maha on top-k latent PCs
        Zc = z64 - z64.mean(0); wv, V = np.linalg.eigh(np.cov(Zc.T)); V = V[:, ::-1]; wv = wv[::-1]
        for k in (4, 8, 16):
            Pk = Zc @ V[:, :k] / np.sqrt(wv[:k]); r[f"rx_latent_top{k}"] = auroc(y, (Pk ** 2).sum(1))
            Pb = Zc @ V[:, k:] / np.sqrt(np.maximum(wv[k:], 1e-12)); r[f"rx_latent_after{k}"] = auroc(y, (Pb ** 2).sum(1))
        # anomaly share of the atoms' members
        r["anom_in_each_cluster"] = [int(y[g.argmax(1) == k].sum()) for k in range(g.shape[1])]
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}), flush=True)
        out.append(r)
        np.savez(f"/tmp/lren_urban11/cache_{scene}_s{seed}.npz", z=z, g=g, atoms=atoms, member=det.decision_scores_, res=res.astype(np.float32))
