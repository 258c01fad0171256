"""Probe 5: label-free alternative scorings at the ENSEMBLE level (6 restarts, median/IQR standardised, averaged),
on the same fitted members as the default lren. Dev scenes only."""
import sys, time, json, numpy as np, torch
import had
from had.metrics import auroc
from had.rx import RX
from had_lren import lrr as L
torch.set_num_threads(1)
DEV = ("abu-airport-1", "abu-airport-3", "abu-beach-1", "abu-beach-3", "abu-urban-1", "abu-urban-4", "hydice-ii", "muufl-crop")
SCENES = sys.argv[1].split(","); SEEDS = [int(s) for s in sys.argv[2].split(",")]
assert all(s in DEV for s in SCENES)
def std(s):
    q1, med, q3 = np.percentile(s, [25, 50, 75]); return (s - med) / max(q3 - q1, 1e-12)
def pca_white(X, k):
    Xc = X - X.mean(0); w, V = np.linalg.eigh(np.cov(Xc.T)); P = Xc @ V[:, ::-1][:, :k]; return P / P.std(0)
def lrr_cf(S, atoms, lam=0.01):
    res = L.lrr(S.T, S[atoms].T, lam, max_iter=15, rho=1.44, svt_method="gram", dtype=np.float32)
    return L.out_of_sample_scores(S, L.out_of_sample_rule(S[atoms].T, res.X, lam))
for scene in SCENES:
    data = had.load_dataset(scene); H, W, Bn = data.X.shape
    y = np.asarray(data.y).reshape(-1).astype(bool)
    Xr = data.X.reshape(-1, Bn).astype(np.float64); px = Xr.astype(np.float32)
    rxraw = RX().fit(Xr).decision_scores_; P32 = pca_white(Xr, 32)
    for seed in SEEDS:
        t0 = time.perf_counter()
        det = had.get_detector("lren", seed=seed, device="cpu", progress=False, log_every=0); det.fit(data.X)
        V = {k: [] for k in ("lrr_default", "rx_latent", "recon", "rx_lat+resid", "lrr_rand10", "lrr_excl20",
                             "lrr_rawpca32")}
        n_anom_atoms, anom_atoms20 = [], []
        for mi, m in enumerate(det.restart_members_):
            z, g = m.embed(px); z = z.astype(np.float64)
            with torch.no_grad():
                mod = m.model_.eval(); res = (mod.preprocessing(torch.from_numpy(px)) - mod.network.decode(torch.from_numpy(z.astype(np.float32)))).numpy().astype(np.float64)
            mean, Wm, dist = L.whitening(z); S = (z - mean) @ Wm
            V["lrr_default"].append(m.decision_scores_)
            V["rx_latent"].append(dist)
            V["recon"].append(np.linalg.norm(res, axis=1))
            V["rx_lat+resid"].append(L.whitening(np.hstack([z, res]))[2])
            allowed = np.flatnonzero(dist <= np.quantile(dist, 0.95))
            V["lrr_rand10"].append(lrr_cf(S, np.random.default_rng(1000 * seed + mi).choice(allowed, 10, replace=False)))
            a20 = L.select_atoms(g, dist <= np.quantile(dist, 0.80)); V["lrr_excl20"].append(lrr_cf(S, a20))
            V["lrr_rawpca32"].append(lrr_cf(P32, m.atoms_))
            n_anom_atoms.append(int(y[m.atoms_].sum())); anom_atoms20.append(int(y[a20].sum()))
        r = {"scene": scene, "seed": seed, "rx_raw": auroc(y, rxraw), "ens_check": auroc(y, det.decision_scores_)}
        E = {k: np.mean([std(s) for s in v], 0) for k, v in V.items()}
        for k, e in E.items():
            r[k] = auroc(y, e)
        r["rx_latent+recon"] = auroc(y, (E["rx_latent"] + E["recon"]) / 2)
        r["lrr+recon"] = auroc(y, (E["lrr_default"] + E["recon"]) / 2)
        r["members_lrr"] = [round(auroc(y, s), 4) for s in V["lrr_default"]]
        r["members_rxlat"] = [round(auroc(y, s), 4) for s in V["rx_latent"]]
        r["anom_atoms_per_member"] = n_anom_atoms; r["anom_atoms_excl20"] = anom_atoms20
        r["s"] = round(time.perf_counter() - t0, 1)
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}), flush=True)
        np.savez(f"/tmp/lren_urban11/ens_{scene}_s{seed}.npz", **{k: v.astype(np.float32) for k, v in E.items()})
