"""Is the urban loss an under-training effect? one member (restarts=1, seed 0), checkpoints of rx-latent, LRR, recon."""
import numpy as np, torch, had
from had.metrics import auroc
from had_lren import lrr as L
torch.set_num_threads(1)
for scene in ("abu-urban-1", "abu-urban-4", "abu-airport-1", "hydice-ii"):
    data = had.load_dataset(scene); y = np.asarray(data.y).reshape(-1).astype(bool)
    px = data.X.reshape(-1, data.X.shape[-1]).astype(np.float32)
    out = []
    def cb(det, p):
        if p.event != "epoch" or p.epoch not in (3, 10, 30, 100): return
        z, g = det.embed(px); z64 = z.astype(np.float64)
        det.low_rank_stage(z, g)
        m = det.model_.eval()
        with torch.no_grad():
            res = (m.preprocessing(torch.from_numpy(px)) - m.network.decode(torch.from_numpy(z))).numpy()
        out.append(f"ep{p.epoch}: lrr {auroc(y, det.lrr_scores_):.4f} rxlat {auroc(y, L.whitening(z64)[2]):.4f} "
                   f"recon {auroc(y, np.linalg.norm(res, axis=1)):.4f} mse {float((res**2).mean()):.4f}")
    det = had.get_detector("lren", seed=0, restarts=1, epochs=100, device="cpu", progress=False, log_every=0)
    det.training_callback = cb; det.fit(data.X)
    print(scene, " | ".join(out), flush=True)
