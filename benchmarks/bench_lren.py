"""LREN (Jiang et al., AAAI 2021) reproduced: AUROC and AUC(Pf, tau) over seeds, RX and the paper beside,
the exported ONNX graph against eager scoring, and the cost of a fit.

Part 1, scenes (transductive: fit on the scene, score the same scene, labels only for the metrics): for every
scene and seed, ``had.get_detector("lren", seed=s, lrr_lambda=...)`` with the reference's settings (1000
epochs, batch 4096, Adam 1e-4, K = 7, latent 9; LRR lambda 0.01, 1e-4 on abu-beach-4 as the reference's
``parameter_setting``). Reported per scene, mean ± std over seeds:

* ``auroc`` / ``auc_pf_tau``: ``decision_scores_``, the detector's scene scores (the LRR optimality conditions
  solved per pixel on the solver's low-rank structure; what ``decision_function`` and ONNX compute);
* ``auroc_admm``: the ADMM solver's own last error columns, the reference's exact score;
* ``auroc_onnx``: the exported graph run by onnxruntime (``had.runtime.OnnxScorer``) on the scene;
  ``|onnx - eager|`` is the AUROC difference to ``auroc``;
* RX (the core's global RX, deterministic) and the paper's figures (README table; shipped result files).

Part 2, ODDS tables (``--odds``): thyroid, arrhythmia, musk, transductive like the scenes (fit on the whole
table, score it; LREN's README gives figures but no code or protocol), same defaults (LRR lambda 0.01).

Part 3, cost: fit seconds per run with the mean training epoch and the LRR solver's seconds and share; with
``--speed`` (``lren_speed.py``) alternating pairs of the default fit and its bare autoencoder with the stages of
the fit, and 1 against 2 torch threads beside a CPU hog (``--no-hog`` skips it); with ``--tf-python
/tmp/tfenv/bin/python`` also LREN's own TensorFlow graph (``lren_reference_check.py tf``, ``--tf-epochs``) in the
same run (``python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu scipy scikit-learn``).
``--scenes --seeds --speed`` runs the speed part alone.

Every run is appended to ``runs.csv`` as it finishes (a rerun skips the rows already there, so an interrupted
benchmark resumes); ``results.md`` is rewritten from ``runs.csv`` at the end (``--report`` only rewrites it).
Nothing is asserted. Usage::

    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_lren.py [--seeds 0 1 2 3 4] \\
        [--scenes sandiego_plane hydice abu-beach-4 abu-urban-2] [--extra] [--odds] [--speed] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from csvlog import append_row, read_rows  # noqa: E402  (the run log shared by the benchmarks)
from lren_speed import speed  # noqa: E402  (--speed: the cost of a default fit)

OUT = Path(__file__).resolve().parent / "results" / "lren"
MAIN = ("sandiego_plane", "hydice", "abu-beach-4", "abu-urban-2")
EXTRA = ("abu-airport-1", "abu-airport-3", "abu-beach-1", "abu-beach-3", "abu-urban-1", "abu-urban-4", "hydice-ii")
ODDS = ("thyroid", "arrhythmia", "musk")
#: the reference's LRR lambda per scene (run_main_LREN.py: parameter_setting); 0.01 elsewhere
LRR_LAMBDA = {"abu-beach-4": 1e-4}
#: LREN README table (AUC(Pd, Pf), AUC(Pf, tau)) and the shipped result txt files (AUC, AUC(Pf, tau))
PAPER = {"sandiego_plane": (0.9897, 0.0134), "hydice": (0.9998, 0.0102), "abu-urban-2": (0.9982, 0.0276),
         "abu-beach-4": (0.9925, 0.0433), "thyroid": (0.9910, 0.0980), "arrhythmia": (0.8353, 0.0490),
         "musk": (0.9734, None)}
SHIPPED = {"sandiego_plane": (0.99002, 0.00906), "hydice": (0.99976, 0.00868), "abu-urban-2": (0.99807, 0.01955),
           "abu-beach-4": (0.99286, 0.04318)}
PAPER_NAME = {"sandiego_plane": "SanDiego", "hydice": "Hydice", "abu-urban-2": "Coast", "abu-beach-4": "Pavia"}
FIELDS = ["detector", "dataset", "seed", "epochs", "lrr_lambda", "auroc", "auc_pf_tau", "auroc_admm", "auc_pf_tau_admm",
          "auroc_onnx", "onnx_max_rel_err", "n_atoms", "lrr_rank", "lrr_iterations", "fit_s", "epoch_ms", "lrr_s",
          "lrr_share", "fit_cpu_s", "epoch_cpu_ms", "lrr_cpu_s", "threads", "loadavg", "otsu_precision",
          "otsu_recall", "otsu_f1"]


def load(name: str):
    import had

    return had.load_dataset(name)


def otsu_threshold(scores: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold on the histogram of `scores` (the between-class variance maximised over bin edges)."""
    hist, edges = np.histogram(np.asarray(scores, dtype=np.float64), bins=bins)
    p = hist / hist.sum()
    centres = 0.5 * (edges[:-1] + edges[1:])
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (m0[-1] * w0 - m0) ** 2 / (w0 * (1.0 - w0))
    return float(edges[1:][np.nanargmax(np.where(np.isfinite(between), between, np.nan))])


def settings(detector: str, name: str, data) -> dict:
    """The configuration a run uses: the reference's per-scene LRR lambda for `lren-reference` (its
    ``parameter_setting``), nothing per scene for `lren`; on a table, `had_lren.tabular_settings`."""
    from had_lren.detector import tabular_settings

    config = {"lrr_lambda": LRR_LAMBDA.get(name, 0.01)} if detector == "lren-reference" else {}
    if data.X.ndim == 2:
        config.update(tabular_settings(*data.X.shape))
    return config


def run_one(detector: str, name: str, data, seed: int, epochs: int | None, threads: int) -> dict:
    import torch

    import had
    from had.metrics import auc_pf_tau, auroc, f1_at_threshold, precision_at_threshold, recall_at_threshold
    from had.runtime import OnnxScorer

    torch.set_num_threads(threads)
    config = settings(detector, name, data)
    if epochs is not None:
        config["epochs"] = epochs
    det = had.get_detector(detector, seed=seed, device="cpu", progress=False, **config)
    t0 = time.perf_counter()
    det.fit(data.X)
    fit_s = time.perf_counter() - t0
    y = np.asarray(data.y).reshape(-1)
    one = det.restart_members_[0] if hasattr(det, "restart_members_") else det  # with restarts: the first run's
    scores, admm = det.decision_scores_, one.lrr_scores_                       # internals (ADMM, atoms, timings)
    threshold = otsu_threshold(scores)
    row = {"detector": detector, "dataset": name, "seed": seed, "epochs": det.config.epochs,
           "lrr_lambda": det.config.lrr_lambda,
           "auroc": auroc(y, scores), "auc_pf_tau": auc_pf_tau(y, scores),
           "auroc_admm": auroc(y, admm), "auc_pf_tau_admm": auc_pf_tau(y, admm),
           "otsu_precision": precision_at_threshold(y, scores, threshold),
           "otsu_recall": recall_at_threshold(y, scores, threshold),
           "otsu_f1": f1_at_threshold(y, scores, threshold)}
    try:
        model = det.export_onnx()
        got = OnnxScorer(model, providers=["CPUExecutionProvider"]).score(data.X).reshape(-1)
        row["auroc_onnx"] = auroc(y, got)
        row["onnx_max_rel_err"] = float(np.max(np.abs(got - scores)) / np.max(np.abs(scores)))
    except Exception as exc:  # reported, not fatal
        print(f"  onnx failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        row["auroc_onnx"], row["onnx_max_rel_err"] = float("nan"), float("nan")
    t = one.timings_
    row.update(n_atoms=len(one.atoms_), lrr_rank=one.oos_rule_.rank, lrr_iterations=t["lrr_iterations"],
               fit_s=fit_s, epoch_ms=1e3 * t["epoch_s"], lrr_s=t["lrr_s"], lrr_share=t["lrr_s"] / fit_s,
               fit_cpu_s=t["fit_cpu_s"], epoch_cpu_ms=1e3 * t["epoch_cpu_s"], lrr_cpu_s=t["lrr_cpu_s"],
               threads=threads, loadavg=os.getloadavg()[0])
    return row




def mean_std(values) -> str:
    v = np.asarray([float(x) for x in values if x not in ("", None)], dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return "-"
    return f"{v.mean():.4f} ± {v.std(ddof=1) if v.size > 1 else 0.0:.4f}"


def rx_auroc(name: str) -> tuple[float, float]:
    import had
    from had.metrics import auc_pf_tau, auroc

    data = load(name)
    s = had.get_detector("rx").fit(data.X).decision_scores_
    y = np.asarray(data.y).reshape(-1)
    return auroc(y, s), auc_pf_tau(y, s)


DETECTORS = ("lren", "lren-reference")


def report(runs: list[dict], out: Path) -> str:
    """results.md from runs.csv: `lren`, `lren-reference` and RX side by side, per seed, Otsu P/R/F1, cost."""
    lines = ["# LREN: the stabilised default and the faithful port (`benchmarks/bench_lren.py`)", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores shared with "
             "other jobs (`loadavg` column of runs.csv); torch threads per run in runs.csv.", "",
             "Transductive protocol: fit on the scene (or table), score the same data, labels only for the "
             "metrics. `lren`: the stabilised default (choice_log.md); `lren-reference`: the faithful port with "
             "the reference's settings (its per-scene LRR lambda). AUROC of the detector's scene scores (closed-form "
             "per-pixel LRR optimum on the solver's low-rank structure; what `decision_function` and ONNX compute); "
             "`ADMM`: the solver's own error columns; mean ± std over seeds (sample std). P/R/F1 at Otsu's threshold "
             "on the score histogram (LREN's rule).", ""]
    known = list(MAIN) + list(EXTRA) + ["muufl-crop"] + list(ODDS)
    names = sorted(dict.fromkeys(r["dataset"] for r in runs),
                   key=lambda n: known.index(n) if n in known else len(known))
    header = ("| data | lren AUROC (seeds) | lren-reference AUROC (seeds) | lren ADMM | lren-reference ADMM "
              "| max abs(ONNX - eager) | RX AUROC | paper README | paper shipped run |")
    lines += [header, "|---" * (header.count("|") - 1) + "|"]
    for name in names:
        cells = []
        for det in DETECTORS:
            rows = [r for r in runs if r["dataset"] == name and r["detector"] == det]
            cells.append(f"{mean_std(r['auroc'] for r in rows)} ({len(rows)})" if rows else "-")
        for det in DETECTORS:
            rows = [r for r in runs if r["dataset"] == name and r["detector"] == det]
            cells.append(mean_std(r["auroc_admm"] for r in rows) if rows else "-")
        diffs = [abs(float(r["auroc_onnx"]) - float(r["auroc"])) for r in runs
                 if r["dataset"] == name and r["auroc_onnx"] not in ("", "nan")]
        try:
            rx_cell = f"{rx_auroc(name)[0]:.4f}"
        except Exception as exc:
            rx_cell = f"- ({type(exc).__name__})"
        paper, shipped = PAPER.get(name), SHIPPED.get(name)
        paper_cell = (f"{paper[0]:.4f} / {paper[1]:.4f}" if paper and paper[1] is not None
                      else (f"{paper[0]:.4f}" if paper else "-"))
        if name in PAPER_NAME:
            paper_cell += f" ({PAPER_NAME[name]})"
        shipped_cell = f"{shipped[0]:.4f} / {shipped[1]:.4f}" if shipped else "-"
        lines.append(f"| {name} | {' | '.join(cells)} | {max(diffs) if diffs else float('nan'):.2e} | {rx_cell} | "
                     f"{paper_cell} | {shipped_cell} |")
    tables = [n for n in names if n in ODDS]
    if tables:
        lines += ["", "Tables at Otsu's threshold (precision / recall / F1, mean over seeds):", "",
                  "| table | detector | seeds | AUROC | precision | recall | F1 |", "|---|---|---|---|---|---|---|"]
        for name in tables:
            for det in DETECTORS:
                rows = [r for r in runs if r["dataset"] == name and r["detector"] == det and r.get("otsu_f1")]
                if rows:
                    lines.append(f"| {name} | {det} | {len(rows)} | {mean_std(r['auroc'] for r in rows)} | "
                                 f"{mean_std(r['otsu_precision'] for r in rows)} | "
                                 f"{mean_std(r['otsu_recall'] for r in rows)} | {mean_std(r['otsu_f1'] for r in rows)} |")
    lines += ["", "Per seed (AUROC of the scene scores; ADMM in brackets):", ""]
    for det in DETECTORS:
        for name in names:
            rows = sorted((r for r in runs if r["dataset"] == name and r["detector"] == det),
                          key=lambda r: int(r["seed"]))
            if rows:
                cells = ", ".join(f"{int(r['seed'])}: {float(r['auroc']):.4f} ({float(r['auroc_admm']):.4f})"
                                  for r in rows)
                lines.append(f"- {det}, {name} (epochs {rows[0]['epochs']}, LRR lambda {rows[0]['lrr_lambda']}): "
                             f"{cells}")
    lines += ["", "## Cost of a fit", "",
              "Wall seconds depend on the machine's load (other jobs); CPU seconds (`time.process_time`, this "
              "process) do not, and with one torch thread they are what a fit costs on an idle core.", "",
              "| detector | data | epochs | fit wall s | fit CPU s | epoch CPU ms | LRR share (CPU) | atoms | LRR rank "
              "| threads | load average |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for det in DETECTORS:
        for name in names:
            rows = [r for r in runs if r["dataset"] == name and r["detector"] == det]
            if not rows:
                continue

            def f(key):
                values = [float(r[key]) for r in rows if r.get(key) not in (None, "")]
                return float(np.mean(values)) if values else float("nan")

            lines.append(f"| {det} | {name} | {rows[0]['epochs']} | {f('fit_s'):.1f} | {f('fit_cpu_s'):.1f} | "
                         f"{f('epoch_cpu_ms'):.1f} | {f('lrr_cpu_s') / f('fit_cpu_s'):.1%} | {f('n_atoms'):.1f} | "
                         f"{f('lrr_rank'):.1f} | {sorted(set(r['threads'] for r in rows))} | {f('loadavg'):.1f} |")
    text = "\n".join(lines) + "\n"
    (out / "results.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", nargs="*", default=list(MAIN))
    parser.add_argument("--extra", action="store_true", help=f"also {', '.join(EXTRA)}")
    parser.add_argument("--odds", action="store_true", help=f"also {', '.join(ODDS)}")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--detector", default="lren", choices=["lren", "lren-reference"])
    parser.add_argument("--epochs", type=int, default=None, help="default: the detector's")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per fit (default 1: shared machine)")
    parser.add_argument("--speed", action="store_true", help="the default fit against its bare autoencoder, and "
                        "1 against 2 threads beside a busy process (one sandiego_plane run each)")
    parser.add_argument("--tf-python", default=None, help="with --speed: a python with tensorflow-cpu, to time "
                        "LREN's own graph (lren_reference_check.py tf) in the same run")
    parser.add_argument("--speed-repeats", type=int, default=3, help="with --speed: alternating pairs (the "
                        "default fit, the bare autoencoder) whose median ratio is reported")
    parser.add_argument("--tf-epochs", type=int, default=1000, help="with --tf-python: epochs of LREN's own graph "
                        "(the reference's 1000; fewer to spare a shared machine)")
    parser.add_argument("--no-hog", action="store_true", help="with --speed: skip the 1 against 2 threads check "
                        "beside a CPU hog")
    parser.add_argument("--report", action="store_true", help="only rewrite results.md from runs.csv")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "runs.csv"
    names = list(args.scenes) + (list(EXTRA) if args.extra else []) + (list(ODDS) if args.odds else [])
    if not args.report:
        import had

        epochs = args.epochs or had.get_detector(args.detector).config.epochs
        done = {(r["detector"], r["dataset"], int(r["seed"]), int(r["epochs"])) for r in read_rows(path)}
        for name in names:
            data = None
            for seed in args.seeds:
                if (args.detector, name, seed, epochs) in done:
                    continue
                data = data if data is not None else load(name)
                try:
                    row = run_one(args.detector, name, data, seed, epochs, args.threads)
                except Exception as exc:  # reported, the rest goes on
                    print(f"{name} seed {seed}: FAILED {type(exc).__name__}: {exc}", flush=True)
                    continue
                append_row(path, FIELDS, row, ".6g")
                print(f"{args.detector} {name} seed {seed}: AUROC {row['auroc']:.4f} (ADMM {row['auroc_admm']:.4f}, ONNX "
                      f"{row['auroc_onnx']:.4f}), AUC(Pf,tau) {row['auc_pf_tau']:.4f}, fit {row['fit_s']:.1f} s, "
                      f"epoch {row['epoch_ms']:.1f} ms, LRR {row['lrr_s']:.2f} s, load {row['loadavg']:.1f}",
                      flush=True)
        if args.speed:
            speed(args.out, args.tf_python, hog_check=not args.no_hog, repeats=args.speed_repeats,
                  tf_epochs=args.tf_epochs)
    if names or args.report:  # the speed part alone leaves results.md as it is
        print(report(read_rows(path), args.out))


if __name__ == "__main__":
    main()
