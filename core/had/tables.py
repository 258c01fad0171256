"""Result tables: rows of dicts to CSV and to Markdown (the same Markdown is printed in the terminal)."""

from __future__ import annotations

import csv
import io
import math
import re
from collections import defaultdict
from typing import Iterable, Sequence


def to_csv(rows: Sequence[dict], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt_csv(row.get(k)) for k in columns})
    return buf.getvalue()


#: the significant digits results.csv keeps of a metric or a time
CSV_DIGITS = 6


def _fmt_csv(value):
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{CSV_DIGITS}g}"
    return value


def as_written(value: float) -> float:
    """`value` as results.csv holds it (:data:`CSV_DIGITS` significant digits), as a cell kept by ``--resume`` is
    read back."""
    return float(f"{value:.{CSV_DIGITS}g}")


def markdown(header: Sequence[str], body: Iterable[Sequence[object]]) -> str:
    """A Markdown table; a ``|`` in a cell (a dataset file ``x|y.npz``) is written ``\\|``, so the row keeps its
    columns (was: one more cell than the header in any renderer)."""
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in body]
    return "\n".join(lines)


def _cell(value: object) -> str:
    return _BAR.sub(r"\\|", str(value))  # a bar not escaped already (a describe table's "str \\| None" stays as is)


_BAR = re.compile(r"(?<!\\)\|")


def summarise(rows: Sequence[dict], keys: Sequence[str], values: Sequence[str]) -> list[list[str]]:
    """Group rows by `keys`; each value column becomes ``mean ± std`` over the group (or the value for n = 1). A
    column defined on fewer rows than the group holds (a metric undefined on some seeds, a failed cell) says over
    how many: ``0.9694 ± 0.0027 (n=2)`` (was: under a seed count of 4, unsaid)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[k] for k in keys)].append(row)
    out = []
    for key, members in groups.items():
        cells = list(key) + [str(len(members))]
        for col in values:
            vals = [m[col] for m in members if isinstance(m.get(col), (int, float)) and not math.isnan(m[col])]
            fewer = f" (n={len(vals)})" if 0 < len(vals) < len(members) else ""
            if not vals:
                cells.append("")
            elif len(vals) == 1:
                cells.append(f"{figure(vals[0])}{fewer}")
            else:
                mean = sum(vals) / len(vals)
                std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
                cells.append(f"{figure(mean)} ± {std:.4f}{fewer}")
        out.append(cells)
    return out


def figure(value: float) -> str:
    """A value in a summary or a table of cells: four decimals, or three significant digits where four decimals
    would show a value that is not zero as 0.0000 (a metric plugin's 1.2e-05). A spread keeps four decimals."""
    if value != 0 and abs(value) < 0.00005:
        return f"{value:.3g}"
    return f"{value:.4f}"
