"""`had bench`'s report.html, parsed without a browser: one row per cell, every figure embedded, configs, no script."""

from __future__ import annotations

import base64
import csv
import json
import sys
from html.parser import HTMLParser

import pytest

from had import bench
from had.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """What a test needs of the report: rows per table, images, configs, scripts and outside links."""

    def __init__(self, text: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[dict[str, str]] = []
        self.configs: list[str] = []
        self.tags: list[str] = []
        self.links: list[str] = []
        self.notes: list[str] = []
        self._table = self._row = self._cell = None
        self._pre = self._note = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self.links += [v for k, v in attrs.items() if k in ("href", "src") and v and not v.startswith("data:")]
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id", ""), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "pre":
            self._pre = True
            self.configs.append("")
        elif tag == "p" and attrs.get("id") == "figures-note":
            self._note = True
            self.notes.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "pre":
            self._pre = False
        elif tag == "p":
            self._note = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._pre:
            self.configs[-1] += data
        if self._note:
            self.notes[-1] += data


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """rx and a second rx config on a scene and a table, two seeds: 8 cells, the scene with anomaly maps."""
    out = tmp_path_factory.mktemp("bench")
    result = bench.run(["rx"], ["synthetic-scene", "synthetic-table"], [3, 4], out=out,
                       detector_config={"rx": {"contamination": 0.05}}, echo=lambda line: None)
    return out, result, Page((out / "report.html").read_text(encoding="utf-8"))


def test_the_table_has_one_row_per_cell_with_the_csv_numbers(grid):
    out, result, page = grid
    header, *rows = page.tables["cells"]
    with open(out / "results.csv", newline="") as fh:
        written = list(csv.DictReader(fh))
    assert len(rows) == len(written) == 4
    assert header[:4] == ["detector", "dataset", "seed", "auroc"] and header[-2:] == ["error", "config"]
    for shown, row in zip(rows, written):
        assert shown[:3] == [row["detector"], row["dataset"], row["seed"]]
        assert float(shown[3]) == pytest.approx(float(row["auroc"]), abs=5e-5)
    summary_header, *summary = page.tables["summary"]
    assert summary_header[:3] == ["dataset", "detector", "seeds"] and [r[2] for r in summary] == ["2", "2"]


def test_every_image_is_an_embedded_png_and_nothing_is_fetched_or_run(grid):
    out, result, page = grid
    assert len(page.images) == 3  # the scene's ROC and maps, the table's ROC
    for image in page.images:
        head, _, data = image["src"].partition(",")
        assert head == "data:image/png;base64"
        assert base64.b64decode(data, validate=True).startswith(PNG)
    assert {i["alt"] for i in page.images} == {"roc of synthetic-scene", "maps of synthetic-scene",
                                                "roc of synthetic-table"}
    assert page.links == [] and "script" not in page.tags and "link" not in page.tags
    assert page.notes == []


def test_each_cell_shows_its_config_with_its_seed(grid):
    _, _, page = grid
    configs = [json.loads(text) for text in page.configs]
    cells = [c for c in configs if "detector" in c]
    assert [(c["detector"]["seed"], c["dataset"]["name"]) for c in cells] == [
        (3, "synthetic-scene"), (4, "synthetic-scene"), (3, "synthetic-table"), (4, "synthetic-table")]
    assert all(c["detector"]["contamination"] == 0.05 and c["detector"]["name"] == "rx" for c in cells)
    assert cells[0]["dataset"]["protocol"] == "transductive" and cells[2]["dataset"]["protocol"] == "adbench"
    sources = [c for c in configs if "detector" not in c]  # each dataset's source config
    assert len(sources) == 2 and cells[0]["dataset"]["config"] == sources[0]


def test_no_plots_gives_tables_and_configs_and_says_why(tmp_path):
    main(["bench", "--detectors", "rx", "--datasets", "synthetic-table", "--seeds", "2", "--out", str(tmp_path),
          "--no-plots"])
    page = Page((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert page.images == [] and not list(tmp_path.glob("*.png"))
    assert len(page.tables["cells"]) == 1 + 2 and len(page.configs) == 2 + 1
    assert page.notes == ["no figures: plots were turned off (--no-plots)"]


def test_without_matplotlib_the_report_says_how_to_get_figures(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    result = bench.run(["rx"], ["synthetic-scene"], [0], out=tmp_path, echo=lambda line: None)
    assert not result.failed and not list(tmp_path.glob("*.png"))
    page = Page((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert page.images == [] and len(page.tables["cells"]) == 2
    assert page.notes and 'pip install "had[plots]"' in page.notes[0]


def test_failed_cells_are_rows_with_their_error(tmp_path, monkeypatch):
    from had.rx import RX

    def broken(self, X, y=None):
        raise RuntimeError("fit failed on purpose")

    monkeypatch.setattr(RX, "fit", broken)
    result = bench.run(["rx"], ["synthetic-table"], [0], out=tmp_path, echo=lambda line: None)
    assert len(result.failed) == 1
    page = Page((tmp_path / "report.html").read_text(encoding="utf-8"))
    (row,) = page.tables["cells"][1:]
    assert row[-2] == "RuntimeError: fit failed on purpose" and row[3] == ""
