"""Geo-Hgan on multichannel rasters cut into tiles, beside RX and the dense autoencoder, with CPU time.

Two protocols (``--protocol``):

* ``one-class`` (the reference's, the headline; issue 17 item 8): 64x64 tiles, trained one-class on
  background tiles, scored on held-out tiles. The reference's training folder holds only the normal class
  (``train_LSLM.py``: ``training_label = 0``; ``loadTifImage.DatasetFolder``), i.e. the tiles without a known
  anomaly; its test folder holds both classes. Here the raster is cut in two halves by rows: the tiles lying
  wholly in the top half form the training part, and of those only the background ones (no mask pixel: the
  reference's class 0) are fitted; the tiles lying wholly in the bottom half are scored, labels used for AUROC
  only; the row of tiles straddling the middle is left out, so no pixel is both fitted and scored.
* ``transductive`` (the second row): 16x16 tiles every 8 pixels, fit on every tile without labels (anomalies
  included), score the same tiles.

Datasets (tile labels: a tile is anomalous if any of its pixels is in the mask):

* ``synthetic-geochem-64`` (had-plugin-raster) at the source's defaults, 512x512x10, 8 planted anomalies of
  radius 4, 8 or 16 pixels, 64x64 tiles every 32 pixels (the reference's tile size); the one-class headline;
* ``synthetic-geochem``, 128x128x10, anomalies of radius 2, 4 or 8, 16x16 tiles every 8 pixels (225 tiles);
  the raster seed equals the run seed, so each seed is a new raster;
* ``hsi-raster`` scenes (sandiego_plane, abu-beach-4), 16x16 tiles every 8 pixels (144 tiles), every 4th band.

Each detector scales on its training tiles only (geohgan: per-band min-max inside its graph). Detectors:

* ``geohgan``: all three scores are reported (img_distance, anomaly_score, z_distance) and the deployed one
  (``score_type="auto"``: chosen on the training tiles by the smallest quartile dispersion, no labels);
* ``rx-tilemean``: global RX on each tile's per-band mean ``(N, C)``;
* ``rx-pixelmax``: global RX fitted on the pixels of the training tiles, applied to every pixel; the tile score
  is the maximum of its pixels' RX scores (the tile label is "any pixel", so the maximum is the matching aggregate);
* ``autoencoder`` (if registered): the dense autoencoder on flattened tiles ``(N, C*h*w)``.

Epochs are reduced for CPU (stated in the report): geohgan ``--epochs`` step-1 and step-2 epochs each
(default 5; the reference trains 100 + 100), autoencoder 30. ``cpu_s`` is ``time.process_time`` of fit
(all threads), ``wall_s`` its wall time.

Usage::

    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_geohgan.py --protocol one-class \
        --datasets synthetic-geochem-64 --epochs 20 --seeds 0
    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_geohgan.py --seeds 0 1 2
    .venv/bin/python benchmarks/bench_geohgan.py --report-only
    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_geohgan.py --seeds 0 --out /tmp/geohgan

Rows are appended to ``runs.csv`` as measured (a row whose key is already there is not written again); the
report writes ``results.md``, ``summary.csv`` and ``heatmap_<dataset>.png`` (the run's first seed, ``_seed<k>``
added unless it is 0; one-class: the scored tiles only) into ``--out DIR``, by default the committed
benchmarks/results/geohgan/. To reproduce a figure without appending to the committed ``runs.csv``, give a
folder of your own (``--out /tmp/geohgan``); the report then covers that folder's rows only.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

import had
from had.atomic import write_bytes
from had.metrics import auprc, auroc
from had.tables import markdown, summarise, to_csv

OUT = Path(__file__).resolve().parent / "results" / "geohgan"
FIELDS = ["dataset", "protocol", "seed", "detector", "score", "deployed", "auroc", "auprc", "cpu_s", "wall_s",
          "n_train", "n_tiles", "n_anomalous", "epochs"]
PROTOCOLS = ("one-class", "transductive")
DATASETS = {
    "synthetic-geochem-64": ("synthetic-geochem", {"tile_size": 64, "stride": 32}),
    "synthetic-geochem": ("synthetic-geochem", {"height": 128, "width": 128, "channels": 10, "tile_size": 16,
                                                "stride": 8, "sizes": [2.0, 4.0, 8.0], "correlation_length": 12.0}),
    "sandiego_plane-tiles": ("hsi-raster", {"scene": "sandiego_plane", "tile_size": 16, "stride": 8, "band_step": 4}),
    "abu-beach-4-tiles": ("hsi-raster", {"scene": "abu-beach-4", "tile_size": 16, "stride": 8, "band_step": 4}),
}


def load(name: str, seed: int):
    source, cfg = DATASETS[name]
    if source == "synthetic-geochem":
        cfg = {**cfg, "seed": seed}
    return had.load_dataset(source, cfg)


def protocol_parts(y: np.ndarray, grid, protocol: str) -> tuple[np.ndarray, np.ndarray]:
    """(fitted tiles, scored tiles) as index arrays.

    transductive: every tile both. one-class: fitted = background tiles (label 0, the reference's
    ``training_label = 0``) lying wholly in the top half of the raster's rows; scored = every tile lying wholly
    in the bottom half (their labels are read only by the metrics). Tiles straddling the middle are unused.
    """
    every = np.arange(len(grid))
    if protocol == "transductive":
        return every, every
    half = grid.shape[0] // 2
    rows = grid.coords[:, 0]
    top = every[rows + grid.size[0] <= half]
    scored = every[rows >= half]
    fitted = top[y[top] == 0]
    if fitted.size == 0 or scored.size == 0 or np.unique(y[scored]).size < 2:
        raise had.InvalidInputError(f"one-class split leaves {fitted.size} background training tiles and "
                                    f"{scored.size} test tiles ({int(y[scored].sum())} anomalous); use another seed")
    return fitted, scored


def raster_from_tiles(X: np.ndarray, grid) -> np.ndarray:
    """The (H, W, C) raster the tiles were cut from (the grid covers every pixel)."""
    h, w = grid.size
    out = np.zeros((*grid.shape, X.shape[1]))
    for (r, c), tile in zip(grid.coords, X):
        out[r:r + h, c:c + w] = tile.transpose(1, 2, 0)
    return out


def covered(grid, index: np.ndarray) -> np.ndarray:
    """(H, W) bool: the pixels of the tiles `index`."""
    h, w = grid.size
    mask = np.zeros(grid.shape, dtype=bool)
    for r, c in grid.coords[index]:
        mask[r:r + h, c:c + w] = True
    return mask


def timed(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    value = fn()
    return value, time.process_time() - c0, time.perf_counter() - w0


def run_one(name: str, seed: int, epochs: int, maps: dict | None, baselines: bool = True,
            protocol: str = "transductive", autoencoder: bool = True, save_to: Path | None = None,
            geohgan: bool = True, device: str = "cpu") -> list[dict]:
    from had_raster import TileGrid, heatmap

    ds = load(name, seed)
    grid = TileGrid.from_meta(ds.meta)
    X, y = ds.X, np.asarray(ds.y)
    fit_idx, test_idx = protocol_parts(y, grid, protocol)
    Xf, Xt, yt = X[fit_idx], X[test_idx], y[test_idx]
    test_grid = TileGrid(grid.coords[test_idx], grid.size, grid.shape)
    base = {"dataset": name, "protocol": protocol, "seed": seed, "n_train": int(fit_idx.size),
            "n_tiles": int(test_idx.size), "n_anomalous": int(yt.sum())}
    rows = []

    def add(detector, score_name, scores, cpu, wall, deployed=True, ep=""):
        rows.append({**base, "detector": detector, "score": score_name, "deployed": deployed,
                     "auroc": auroc(yt, scores), "auprc": auprc(yt, scores), "cpu_s": cpu, "wall_s": wall,
                     "epochs": ep})
        if maps is not None and deployed:
            maps[detector] = heatmap(scores, test_grid)

    if maps is not None:
        maps["_mask"] = np.asarray(ds.meta["pixel_mask"])
    if geohgan:
        det = had.get_detector("geohgan", epochs=epochs, encoder_epochs=epochs, seed=seed, device=device,
                               progress=False)
        _, cpu, wall = timed(lambda: det.fit(Xf))
        if save_to is not None:  # the fitted model, for diagnosis (safetensors artifact)
            had.save(det, save_to / f"{name}_{protocol}_seed{seed}_e{epochs}")
        for key, scores in det.score_all(Xt).items():
            add("geohgan", key, scores, cpu, wall, deployed=key == det.score_type_, ep=f"{epochs}+{epochs}")
    if not baselines:
        return rows
    means = X.mean(axis=(2, 3)).astype(np.float64)
    scores, cpu, wall = timed(lambda: had.get_detector("rx").fit(means[fit_idx]).decision_function(means[test_idx]))
    add("rx-tilemean", "rx", scores, cpu, wall)
    raster = raster_from_tiles(X.astype(np.float64), grid)
    fitted_pixels = raster[covered(grid, fit_idx)] if protocol == "one-class" else raster

    def rx_pixel():
        pixel = had.get_detector("rx").fit(fitted_pixels).decision_function(raster)
        h, w = grid.size
        return np.array([pixel[r:r + h, c:c + w].max() for r, c in test_grid.coords])

    scores, cpu, wall = timed(rx_pixel)
    add("rx-pixelmax", "rx", scores, cpu, wall)
    try:
        ae = had.get_detector("autoencoder", epochs=30, restarts=1, seed=seed, device=device, progress=False) if autoencoder else None
    except had.UnknownNameError:
        ae = None
    if ae is not None:
        flat = X.reshape(X.shape[0], -1)
        scores, cpu, wall = timed(lambda: ae.fit(flat[fit_idx]).decision_function(flat[test_idx]))
        add("autoencoder", "mse", scores, cpu, wall, ep="30")
    return rows


def run_key(row: dict) -> tuple:
    """What one row measured: a row with the same key already in runs.csv is not written again."""
    return tuple(str(row[k]) for k in ("dataset", "protocol", "seed", "detector", "score", "epochs"))


def append(rows: list[dict], out: Path = OUT) -> None:
    done = {run_key(r) for r in read_runs(out)}  # read_runs: [] before the first run
    rows = [r for r in rows if run_key(r) not in done]
    path = out / "runs.csv"
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items() if k in FIELDS})


def read_runs(out: Path = OUT) -> list[dict]:
    path = out / "runs.csv"
    if not path.exists():
        return []
    rows = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            for k in ("auroc", "auprc", "cpu_s", "wall_s"):
                row[k] = float(row[k])
            rows.append(row)
    return rows


def report(out: Path = OUT) -> str:
    rows = read_runs(out)
    if not rows:
        return "no runs yet"
    # every geohgan score over all seeds, plus the deployed score (which one may differ per seed)
    deployed = [{**r, "score": "deployed (auto)"} for r in rows
                if r["detector"] == "geohgan" and r["deployed"] == "True"]
    order = list(DATASETS)
    rows = sorted(rows + deployed, key=lambda r: (PROTOCOLS.index(r["protocol"]),
                                                  order.index(r["dataset"]) if r["dataset"] in order else 99,
                                                  r["detector"] != "geohgan", r["epochs"]))
    keys = ["protocol", "dataset", "detector", "epochs", "score"]
    body = summarise(rows, keys, ["auroc", "auprc", "cpu_s"])
    table = markdown(keys + ["n", "AUROC", "AUPRC", "fit CPU s"], body)
    summary = [dict(zip(keys + ["n", "auroc", "auprc", "cpu_s"], r)) for r in body]
    write_bytes(out / "summary.csv", to_csv(summary, list(summary[0])))
    epochs = sorted({r["epochs"] for r in rows if r["detector"] == "geohgan"})
    sizes = sorted({(r["protocol"], r["dataset"], r["n_train"], r["n_tiles"], r["n_anomalous"]) for r in rows
                    if r["detector"] == "geohgan" and r["seed"] == min(x["seed"] for x in rows)})
    text = "\n".join([
        "# Geo-Hgan on tiled rasters", "",
        "Protocols: `one-class` (the reference's: 64x64 tiles, fit on the background tiles of the raster's top "
        "half, score the tiles of its bottom half) and `transductive` (fit on every tile, anomalies included, "
        "score the same tiles); see the docstring of `benchmarks/bench_geohgan.py`. "
        f"geohgan epochs (step 1 + step 2): {', '.join(epochs)} (reference 100 + 100; reduced for CPU); "
        "autoencoder 30 epochs on flattened tiles. Seeds: "
        f"{', '.join(sorted({r['seed'] for r in rows}))}. "
        "geohgan deploys the score chosen on the training tiles by the smallest quartile dispersion (no labels); "
        "`deployed (auto)` collects, per seed, the score geohgan deployed. Fit CPU s: `time.process_time` of fit "
        "(all threads) on a shared 2-core machine under load (wall time was 2-4x larger).", "",
        "Tiles, first seed (protocol, dataset: fitted / scored / anomalous among the scored): "
        + "; ".join(f"{p} {d}: {a} / {b} / {c}" for p, d, a, b, c in sizes) + ".", "",
        table, ""])
    write_bytes(out / "results.md", text)
    return text


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=None,
                        help="default: synthetic-geochem-64 (one-class), the three 16x16 sets (transductive)")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="transductive")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--geohgan-only", action="store_true", help="skip the baselines (an epochs study)")
    parser.add_argument("--save-model", type=Path, default=None, metavar="DIR",
                        help="save each fitted geohgan as an artifact under DIR (for diagnosis)")
    parser.add_argument("--baselines-only", action="store_true",
                        help="skip geohgan (RX and the autoencoder; rows already in runs.csv are not written again)")
    parser.add_argument("--no-autoencoder", action="store_true", help="skip the autoencoder baseline (RX still runs)")
    parser.add_argument("--out", type=Path, default=OUT, metavar="DIR",
                        help="folder of runs.csv, results.md, summary.csv and the heatmaps (default: the committed "
                             "benchmarks/results/geohgan, whose runs.csv the rows are appended to; give your own "
                             "folder to reproduce a figure without touching it)")
    args = parser.parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    datasets = args.datasets or ([n for n in DATASETS if n != "synthetic-geochem-64"]
                                 if args.protocol == "transductive" else ["synthetic-geochem-64"])
    if not args.report_only:
        import torch
        from had_raster.plots import heatmap_png

        torch.set_num_threads(args.threads)
        for name in datasets:
            for seed in args.seeds:
                maps = {} if seed == args.seeds[0] and not args.baselines_only else None
                try:
                    rows = run_one(name, seed, args.epochs, maps, baselines=not args.geohgan_only,
                                   protocol=args.protocol, autoencoder=not args.no_autoencoder,
                                   save_to=args.save_model, geohgan=not args.baselines_only)
                except had.DataFileError as exc:
                    print(f"skip {name}: {exc}")
                    break
                append(rows, out)
                for r in rows:
                    print(f"{args.protocol} {name} seed {seed} {r['detector']:12s} {r['score']:14s} "
                          f"AUROC {r['auroc']:.4f} cpu {r['cpu_s']:.1f}s wall {r['wall_s']:.1f}s", flush=True)
                if maps:
                    mask = maps.pop("_mask")
                    stem = f"heatmap_{name}" + ("_one-class" if args.protocol == "one-class" else "")
                    stem += f"_geohgan_e{args.epochs}" if args.geohgan_only else ""
                    stem += f"_seed{seed}" if seed != 0 else ""  # a later first seed does not overwrite seed 0's map
                    heatmap_png(out / f"{stem}.png", maps, mask=mask,
                                title=f"{name}, {args.protocol}, seed {seed}, geohgan {args.epochs}+{args.epochs}")
    print(report(out))


if __name__ == "__main__":
    main()
