"""A benchmark's run log: one CSV row appended per finished run, so an interrupted benchmark keeps its runs and
can skip them when it is started again. Shared by the benchmark scripts (``from csvlog import ...``)."""

from __future__ import annotations

import csv
import io
from pathlib import Path


def read_rows(path: Path) -> list[dict]:
    """The rows of the log at `path` (strings, as written); [] if there is none yet."""
    if not path.is_file():
        return []
    with path.open() as fh:
        return list(csv.DictReader(fh))


def append_row(path: Path, fields: list[str], row: dict, float_format: str | None = None) -> None:
    """Append `row` to the log at `path` (its header `fields` first when the file is new); floats are written with
    `float_format` (e.g. ``".6g"``) when one is given, else as Python prints them."""
    new = not path.is_file()
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        if new:
            writer.writeheader()
        if float_format:
            row = {k: (format(v, float_format) if isinstance(v, float) else v) for k, v in row.items()}
        writer.writerow(row)


def write_rows(path: Path, fields: list[str], rows: list[dict], float_format: str = ".6g") -> None:
    """Rewrite the log at `path` with `rows` at once (atomically: a run stopped mid-write leaves the old file);
    floats with `float_format`, fields not in `fields` dropped."""
    from had.atomic import write_bytes

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fields, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: (format(v, float_format) if isinstance(v, float) else v) for k, v in r.items()} for r in rows)
    write_bytes(path, buffer.getvalue())
