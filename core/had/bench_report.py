"""`report.html` of `had bench`: one self-contained page to look at a grid's outcome.

The page holds the summary table (mean ± std over seeds), with ``--baseline`` the comparison tables and, for three
detectors or more, a critical-difference diagram (inline SVG, drawn here whatever ``--no-plots``), one row per
cell with that cell's config, each dataset's ROC curves and (for scenes) its anomaly maps beside the ground
truth, the failed cells and the notes. Figures are the PNGs `had bench` drew, embedded as base64 ``data:`` URIs, and
the style is inline: the file opens offline, in any browser, mailed or archived alone, and runs no script. Without
figures (``--no-plots``, or no matplotlib) the page says why and holds the tables and configs.
"""

from __future__ import annotations

import base64
import json
import math
import re
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from .atomic import write_bytes
from .tables import figure, summarise

if TYPE_CHECKING:
    from .bench import BenchResult

REPORT_NAME = "report.html"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 75em; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; vertical-align: top; }
th { background: #f0f0f0; } td.name, th.name { text-align: left; }
tr.failed td { background: #fde8e8; } td.error { text-align: left; color: #a00; max-width: 30em; }
details pre { text-align: left; margin: 0.3em 0; font-size: 0.85em; }
div.figures { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
figure { margin: 0.5em 0; }
figure img { max-width: 100%; border: 1px solid #ddd; } figcaption { font-size: 0.85em; color: #555; }
p.note { background: #fff6d6; border: 1px solid #e8d48a; padding: 0.5em 0.8em; }
"""


_SEED_IN_NOTE = re.compile(r" \(seed (\d+)\)")


def merged_notes(notes: list[str]) -> list[str]:
    """`notes` with those alike but for their one ``(seed N)`` said once, ``(seeds 0, 1, 2)``, where the first
    of them was (was: a metric undefined on every seed of a cell was noted once per seed in results.md and
    report.html)."""
    seeds_of: dict[str, list[str]] = {}
    for note in notes:
        found = _SEED_IN_NOTE.findall(note)
        key = _SEED_IN_NOTE.sub(" (seed \0)", note) if len(found) == 1 else note
        seeds_of.setdefault(key, []).extend(found if len(found) == 1 else [])
    merged = []
    for key, seeds in seeds_of.items():
        said = f"seeds {', '.join(seeds)}" if len(seeds) > 1 else f"seed {seeds[0]}" if seeds else ""
        merged.append(key.replace("(seed \0)", f"({said})") if seeds else key)
    return merged


def write_report(out: Path, result: BenchResult) -> Path:
    """Write ``out/report.html`` for `result` (atomically) and return its path."""
    return write_bytes(Path(out) / REPORT_NAME, render(result))


def render(result: BenchResult) -> str:
    """The report's HTML text."""
    from . import __version__

    grid_rows = result.grid_rows()  # rows kept by --resume of other cells: in the cells table, not the summary
    seeds = sorted({row["seed"] for row in grid_rows})
    others = len(result.rows) - len(grid_rows)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>had bench report</title>", f"<style>{STYLE}</style></head><body>",
        "<h1>had bench</h1>",
        f"<p>{len(grid_rows)} cell(s): {len(result.detectors)} detector(s) x {len(result.datasets)} dataset(s) x "
        f"{len(seeds)} seed(s) ({escape(', '.join(map(str, seeds)))}); had {escape(__version__)}. "
        "Metrics on each protocol's test part; the same numbers are in results.csv."
        + (f" {others} more cell(s) kept from an earlier grid (another detector, dataset or seed) are listed in the "
           "cells table, not in the summary." if others else "") + "</p>",
    ]
    if result.protocol_params:  # the grid's protocol parameters (--protocol-set, a grid file's [protocol])
        from .bench import protocol_line

        parts.append(f'<p id="protocol">{escape(protocol_line(result))}</p>')
    if result.figures_note:
        parts.append(f'<p class="note" id="figures-note">{escape(result.figures_note)}</p>')
    shown = result.summary_columns
    finished = [row for row in grid_rows if not row.get("error")]
    parts += ["<h2>Summary</h2>", "<p>Mean ± std over the seeds that finished.</p>",
              _table(["dataset", "detector", "seeds", *shown],
                     summarise(finished, ["dataset", "detector"], shown), "summary", names=2)]
    if (comparison := result.comparison()) is not None:
        parts += ['<h2 id="baseline">Against the baseline</h2>', f"<p>{escape(comparison.heading)}</p>",
                  _table(comparison.DATASET_HEADER, comparison.per_dataset, "baseline-datasets", names=2),
                  _table(comparison.DETECTOR_HEADER, comparison.per_detector, "baseline-detectors", names=1),
                  *(["<ul>", *(f"<li>{escape(note)}</li>" for note in comparison.notes), "</ul>"]
                    if comparison.notes else []),
                  *([f"<p>{escape(comparison.ranks_line)}</p>",
                     _table(comparison.RANK_HEADER, comparison.ranks, "baseline-ranks", names=1)]
                    if comparison.ranks else []),
                  *([rank_diagram(comparison.mean_ranks, comparison.critical_difference)]
                    if comparison.critical_difference is not None else [])]
    parts += ["<h2>Cells</h2>", "<p>One row per detector, dataset and seed; open <em>config</em> for what ran.</p>",
              _cells(result)]
    parts += _datasets(result)
    if result.failed:
        parts += ["<h2>Failed cells</h2>", "<ul>", *(
            f"<li>{escape(row['detector'])} on {escape(row['dataset'])} (seed {row['seed']}): "
            f"{escape(str(row['error']))}</li>" for row in result.failed), "</ul>"]
    if result.notes:
        parts += ["<h2>Notes</h2>", "<ul>", *(f"<li>{escape(note)}</li>" for note in merged_notes(result.notes)), "</ul>"]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def rank_diagram(mean_ranks: Sequence[tuple[str, float]], critical: float) -> str:
    """Demšar's critical-difference diagram as an inline SVG figure: the mean ranks (best first, 1 at the left) on
    an axis from 1 to k, the critical difference drawn to the axis's scale, each detector's name joined to its
    rank (the better half to the left, the rest to the right), and a bar under each group of detectors that the
    Nemenyi test does not tell apart (:func:`had.baseline.cliques`)."""
    from .baseline import cliques

    k = len(mean_ranks)
    half = (k + 1) // 2
    labels = [f"{name if len(name) <= 40 else name[:39] + '…'} ({rank:.2f})" for name, rank in mean_ranks]
    # room for the longest label on each side (about 7 px a character at 12 px; a name cut at 40 characters, the
    # tables above give it whole) beside a 360 px axis
    left = max(90, 24 + 7 * max(map(len, labels[:half])))
    right = left + 360
    width, axis_y = right + max(90, 24 + 7 * max(map(len, labels[half:]))), 56

    def x(rank: float) -> float:
        return left + (rank - 1) / (k - 1) * (right - left)

    groups = cliques(mean_ranks, critical)
    first_row = axis_y + 22 + 7 * len(groups)
    height = first_row + 18 * max(half, k - half) + 10
    parts = [f'<line x1="{left}" y1="{axis_y}" x2="{right}" y2="{axis_y}" stroke="#222"/>']
    for tick in range(1, k + 1):
        parts.append(f'<line x1="{x(tick):.1f}" y1="{axis_y - 5}" x2="{x(tick):.1f}" y2="{axis_y}" stroke="#222"/>'
                     f'<text x="{x(tick):.1f}" y="{axis_y - 9}" text-anchor="middle" font-size="12">{tick}</text>')
    reach = min(critical, k - 1)  # a difference wider than the axis is drawn as the axis, its value written
    parts.append(f'<line x1="{left}" y1="16" x2="{x(1 + reach):.1f}" y2="16" stroke="#a00" stroke-width="2"/>'
                 f'<text x="{left}" y="11" font-size="12" fill="#a00">CD = {critical:.2f}</text>')
    for i, (first, last) in enumerate(groups):
        y = axis_y + 10 + 7 * i
        parts.append(f'<line x1="{x(mean_ranks[first][1]) - 3:.1f}" y1="{y}" x2="{x(mean_ranks[last][1]) + 3:.1f}" '
                     f'y2="{y}" stroke="#222" stroke-width="3"/>')
    for i, ((_, rank), label) in enumerate(zip(mean_ranks, labels)):
        on_left = i < half
        row = first_row + 18 * (i if on_left else k - 1 - i)
        end = left - 10 if on_left else right + 10
        parts.append(f'<polyline points="{x(rank):.1f},{axis_y} {x(rank):.1f},{row} {end},{row}" fill="none" '
                     f'stroke="#555"/><text x="{end + (-4 if on_left else 4)}" y="{row + 4}" font-size="12" '
                     f'text-anchor="{"end" if on_left else "start"}">{escape(label)}</text>')
    caption = ("Critical-difference diagram: each detector's mean rank (1 is best); a bar joins detectors whose "
               f"mean ranks lie less than the Nemenyi critical difference ({critical:.2f}) apart, which the test "
               "does not tell apart at 0.05 (read it after a Friedman p below 0.05).")
    return (f'<figure id="critical-difference"><svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(caption)}">'
            + "".join(parts) + f"</svg><figcaption>{escape(caption)}</figcaption></figure>")


def _table(header: Sequence[str], body: Iterable[Sequence[Any]], table_id: str, names: int) -> str:
    """An HTML table; the first `names` columns are left-aligned names."""
    def cls(i: int) -> str:
        return ' class="name"' if i < names else ""

    head = "".join(f"<th{cls(i)}>{escape(str(h))}</th>" for i, h in enumerate(header))
    rows = ["<tr>" + "".join(f"<td{cls(i)}>{escape(str(c))}</td>" for i, c in enumerate(row)) + "</tr>"
            for row in body]
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>' + "".join(rows) + "</tbody></table>"


def _number(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "" if math.isnan(value) else figure(value)  # as the summary shows it
    return "" if value is None else str(value)


def _cells(result: BenchResult) -> str:
    columns = [*result.metrics, "fit_s", "score_s"]
    head = ('<th class="name">detector</th><th class="name">dataset</th><th>seed</th>'
            + "".join(f"<th>{escape(c)}</th>" for c in columns) + '<th class="name">error</th><th>config</th>')
    rows = []
    for row in result.rows:
        config = json.dumps(result.cell_config(row), indent=2, sort_keys=True, default=str)
        failed = ' class="failed"' if row.get("error") else ""
        rows.append(
            f'<tr{failed}><td class="name">{escape(row["detector"])}</td>'
            f'<td class="name">{escape(row["dataset"])}</td><td>{row["seed"]}</td>'
            + "".join(f"<td>{_number(row.get(c))}</td>" for c in columns)
            + f'<td class="error">{escape(str(row.get("error") or ""))}</td>'
            f"<td><details><summary>config</summary><pre>{escape(config)}</pre></details></td></tr>")
    return f'<table id="cells"><thead><tr>{head}</tr></thead><tbody>' + "".join(rows) + "</tbody></table>"


def _datasets(result: BenchResult) -> list[str]:
    parts = ["<h2>Datasets</h2>"]
    for label, about in result.datasets.items():
        parts.append(f'<section class="dataset"><h3>{escape(label)}</h3>')
        parts.append(f"<p>{escape(str(about.get('given', label)))}: source <code>{escape(str(about.get('source')))}"
                     f"</code>, protocol <code>{escape(str(about.get('protocol')))}</code></p>")
        config = json.dumps(about.get("config", {}), indent=2, sort_keys=True, default=str)
        parts.append(f"<details><summary>source config</summary><pre>{escape(config)}</pre></details>")
        figures = result.figures.get(label, {})
        captions = {"roc": "ROC curves of the first seed (false alarm rate on a log scale)",
                    "maps": "ground truth and each detector's anomaly map (first seed)"}
        if figures:
            parts.append('<div class="figures">' + "".join(
                f'<figure><img alt="{escape(kind)} of {escape(label)}" src="{_data_uri(path)}">'
                f"<figcaption>{escape(captions.get(kind, kind))}</figcaption></figure>"
                for kind, path in figures.items()) + "</div>")
        if not figures and not result.figures_note:
            parts.append("<p>No figures for this dataset: its first seed's cells failed or were kept from an "
                         "earlier run (--resume).</p>")
        parts.append("</section>")
    return parts


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")
