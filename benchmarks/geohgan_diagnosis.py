"""Why Geo-Hgan scores below chance on the one-class 64x64 protocol (issue 17, item 8): label-free tile scores
and the fitted model's score terms, read against the synthetic raster's labels (diagnosis only: nothing here
chooses a default).

Two parts, on the split of ``bench_geohgan.py --protocol one-class`` (fit: background tiles of the raster's top
half; scored: the tiles of its bottom half):

* **tiles** (no model): simple per-tile scores of the scored tiles, each a "score" in the sense of higher =
  more anomalous, with its AUROC: the tile's mean level, its maximum, its gradient energy (is the anomaly
  smoother than the background?), the MSE to the mean training tile (what an under-trained reconstruction
  that outputs an average tile would score), the MSE of a PCA reconstruction fitted on the training tiles, the
  MSE to the nearest training tile; the same in log-concentration space; and, among the scored background tiles,
  the Spearman correlation of each score with the tile's mean level (does the score follow the regional level?);
* **model** (``--model DIR``, an artifact saved by ``bench_geohgan.py --save-model``): the three deployed-score
  ingredients on the scored tiles, ``img_distance``, the feature term ``kappa * MSE(f(G(E(x))), f(x))`` (=
  ``anomaly_score - img_distance``) and ``z_distance``, their means (which term dominates ``anomaly_score``),
  AUROC, and Spearman correlation with the tile's mean level; and the same correlation for the mean level of the
  reconstruction ``G(E(x))`` (does the generator reproduce a tile's level?).

    D="HAD_DATA_DIR=/work/shared/data nice -n 15 .venv/bin/python benchmarks/geohgan_diagnosis.py"
    $D --seeds 0 1 2                                       # tiles part -> results/geohgan/diagnosis_tiles.md
    $D --seeds 0 --fit 5             # fit as the benchmark does, then the model part -> diagnosis_model_seed0_e5.md
    $D --seeds 0 --model DIR         # the model part of a saved artifact -> diagnosis_model_<DIR name>.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

import had
from had.atomic import write_bytes
from had.metrics import auroc
from had.tables import markdown

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_geohgan import OUT, load, protocol_parts  # noqa: E402  (the benchmark's data and split)

DATASET = "synthetic-geochem-64"


def split(seed: int):
    """(fitted tiles, scored tiles, scored labels) of the one-class protocol, float64."""
    from had_raster import TileGrid

    ds = load(DATASET, seed)
    X, y = ds.X.astype(np.float64), np.asarray(ds.y)
    fit_idx, test_idx = protocol_parts(y, TileGrid.from_meta(ds.meta), "one-class")
    return X[fit_idx], X[test_idx], y[test_idx]


def band_minmax(fit: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band min-max fitted on `fit` (the detector's own preprocessing), applied to both."""
    lo, hi = fit.min(axis=(0, 2, 3), keepdims=True), fit.max(axis=(0, 2, 3), keepdims=True)
    span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
    return (fit - lo) / span, (test - lo) / span


def tile_scores(fit: np.ndarray, test: np.ndarray, n_components: int = 10) -> dict[str, np.ndarray]:
    """Label-free per-tile scores of `test` (higher = more anomalous), given the training tiles `fit`."""
    from sklearn.decomposition import PCA

    F, T = fit.reshape(len(fit), -1), test.reshape(len(test), -1)
    pca = PCA(n_components, random_state=0).fit(F)
    nearest = np.array([((F - t) ** 2).mean(axis=1).min() for t in T])
    grad = (np.diff(test, axis=2) ** 2).mean(axis=(1, 2, 3)) + (np.diff(test, axis=3) ** 2).mean(axis=(1, 2, 3))
    return {"tile mean level": test.mean(axis=(1, 2, 3)), "tile maximum": test.max(axis=(1, 2, 3)),
            "gradient energy": grad, "MSE to the mean training tile": ((T - F.mean(axis=0)) ** 2).mean(axis=1),
            f"PCA-{n_components} reconstruction MSE": ((pca.inverse_transform(pca.transform(T)) - T) ** 2).mean(axis=1),
            "MSE to the nearest training tile": nearest}


def rows_for(scores: dict[str, np.ndarray], y: np.ndarray, level: np.ndarray, **extra) -> list[list]:
    """Per score: AUROC, mean on background / anomalous tiles, Spearman with the level on background tiles."""
    bg = y == 0
    out = []
    for name, s in scores.items():
        rho = spearmanr(s[bg], level[bg]).statistic
        out.append([*extra.values(), name, f"{auroc(y, s):.3f}", f"{s[bg].mean():.4g}", f"{s[~bg].mean():.4g}",
                    f"{rho:+.2f}"])
    return out


def tiles_part(seeds: list[int]) -> str:
    body = []
    for seed in seeds:
        fit, test, y = split(seed)
        for space, (f, t) in (("concentration", band_minmax(fit, test)),
                              ("log-concentration", band_minmax(np.log(fit), np.log(test)))):
            level = t.mean(axis=(1, 2, 3))
            body += rows_for(tile_scores(f, t), y, level, seed=seed, space=space)
    head = ["seed", "space (per-band min-max on the fitted tiles)", "tile score", "AUROC", "mean, background",
            "mean, anomalous", "Spearman with tile level (background)"]
    return markdown(head, body)


def fitted_model(seed: int, epochs: int):
    """geohgan fitted as ``bench_geohgan.py --protocol one-class --epochs EPOCHS`` fits it, with its CPU s."""
    import time

    fit, _, _ = split(seed)
    det = had.get_detector("geohgan", epochs=epochs, encoder_epochs=epochs, seed=seed, device="cpu", progress=False)
    cpu = time.process_time()
    det.fit(fit.astype(np.float32))
    return det, time.process_time() - cpu


def model_part(det, name: str, seed: int) -> str:
    import torch

    _, test, y = split(seed)
    s = det.score_all(test.astype(np.float32))
    kappa = det.config.kappa
    terms = {"img_distance": s["img_distance"], f"feature term (kappa={kappa:g})": s["anomaly_score"] - s["img_distance"],
             "anomaly_score": s["anomaly_score"], "z_distance": s["z_distance"]}
    with torch.no_grad():
        x = det.preprocessing_(torch.from_numpy(test.astype(np.float32)))
        net = det.network_.eval()
        recon = net.generator(net.encoder(x)).double().numpy()
    xs = x.double().numpy()
    level = xs.mean(axis=(1, 2, 3))
    terms["reconstruction mean level"] = recon.mean(axis=(1, 2, 3))
    body = rows_for(terms, y, level)
    share = float(np.mean(terms[f"feature term (kappa={kappa:g})"] / s["anomaly_score"]))
    rho_rec = spearmanr(recon.mean(axis=(1, 2, 3)), level).statistic
    selection = getattr(det, "score_selection_", None)  # not kept in a saved artifact
    chosen = det.score_type_ + (f"; quartile dispersions {selection['dispersion']}" if selection else "")
    lines = [f"Model `{name}` (deployed: {chosen}), "
             f"seed {seed}, {len(y)} scored tiles ({int(y.sum())} anomalous).", "",
             markdown(["term", "AUROC", "mean, background", "mean, anomalous", "Spearman with tile level (background)"],
                      body), "",
             f"Feature term's share of anomaly_score (mean over tiles): {share:.3f}. Spearman of the reconstruction's "
             f"mean level with the tile's (all scored tiles): {rho_rec:+.2f}; scaled tile level {level.mean():.3f} "
             f"(range {level.min():.3f}-{level.max():.3f}), reconstruction level {recon.mean():.3f} "
             f"(range {recon.mean(axis=(1, 2, 3)).min():.3f}-{recon.mean(axis=(1, 2, 3)).max():.3f})."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--model", type=Path, default=None, help="a geohgan artifact (bench_geohgan.py --save-model)")
    parser.add_argument("--fit", type=int, default=None, metavar="EPOCHS",
                        help="fit geohgan here (step-1 and step-2 epochs, the benchmark's settings) instead of --model")
    args = parser.parse_args()
    if args.fit is not None:
        import torch

        torch.set_num_threads(1)
        det, cpu = fitted_model(args.seeds[0], args.fit)
        name = f"seed{args.seeds[0]}_e{args.fit}"
        text = "\n".join(["# Geo-Hgan one-class 64x64: the fitted model's score terms (diagnosis)", "",
                          f"Fitted here, {args.fit} + {args.fit} epochs, {cpu:.0f} CPU s.", "",
                          model_part(det, name, args.seeds[0]), ""])
        write_bytes(OUT / f"diagnosis_model_{name}.md", text)
    elif args.model is None:
        text = "\n".join(["# Geo-Hgan one-class 64x64: label-free tile scores (diagnosis)", "",
                          "Written by `benchmarks/geohgan_diagnosis.py`; labels read only for AUROC.", "",
                          tiles_part(args.seeds), ""])
        write_bytes(OUT / "diagnosis_tiles.md", text)
    else:
        text = "\n".join(["# Geo-Hgan one-class 64x64: the fitted model's score terms (diagnosis)", "",
                          model_part(had.load(args.model), args.model.name, args.seeds[0]), ""])
        write_bytes(OUT / f"diagnosis_model_{args.model.name}.md", text)
    print(text)


if __name__ == "__main__":
    main()
