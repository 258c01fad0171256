"""``had bench --baseline NAME``: the grid's detectors against one of them, seed by seed.

Was: the summary's mean ± std per detector, so whether a method beat the baseline on every dataset and seed (the
project's own rule for its methods) took a table written by hand from results.csv, as the LREN rounds'
``lren_round4_table.py`` and the seeds-11-13 audit did."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from had_sdk.testing import run_cli
from scipy.stats import wilcoxon

from had.baseline import compare

TABLES = ("--datasets", "synthetic-table,synthetic-scene", "--data", "synthetic-scene.height=24", "--data",
          "synthetic-scene.width=24", "--seeds", "0-2", "--no-plots")


def _rows(out):
    with open(out / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _row(detector, dataset, seed, value, metric="auroc"):
    return {"detector": detector, "dataset": dataset, "seed": seed, metric: value}


def test_pairs_by_dataset_and_seed_count_better_tied_worse_and_test_over_datasets():
    rows = [_row("base", "a", s, v) for s, v in enumerate((0.80, 0.90, 0.70))]
    rows += [_row("base", "b", s, v) for s, v in enumerate((0.50, 0.60, 0.55))]
    rows += [_row("base", "c", 0, 0.9)]
    rows += [_row("ours", "a", s, v) for s, v in enumerate((0.85, 0.90, 0.60))]  # +0.05, 0, -0.10
    rows += [_row("ours", "b", s, v) for s, v in enumerate((0.70, 0.61, math.nan))]  # +0.2, +0.01, undefined
    rows += [_row("ours", "c", 1, 0.99)]  # no baseline cell of seed 1 on c: no pair, no row
    result = compare(rows, "base", "auroc", True, ["base", "ours"])
    assert result.per_dataset == [["a", "ours", "3", "1", "1", "1", "-0.0167", "-0.1000"],
                                  ["b", "ours", "2", "2", "0", "0", "+0.1050", "+0.0100"]]
    means = [(0.05 + 0 - 0.10) / 3, (0.2 + 0.01) / 2]
    p = wilcoxon(means).pvalue
    assert result.per_detector == [["ours", "1 of 2", "3", "1", "1", f"{p:.3g} (n=2)", f"{p:.3g}"]]


def test_a_lower_is_better_metric_counts_a_lower_value_as_better():
    rows = [_row("base", d, 0, 0.30, "eer") for d in "ab"] + [_row("ours", "a", 0, 0.20, "eer"),
                                                            _row("ours", "b", 0, 0.35, "eer")]
    result = compare(rows, "base", "eer", False, ["base", "ours"])
    assert [cells[3:8] for cells in result.per_dataset] == [["1", "0", "0", "-0.1000", "-0.1000"],
                                                           ["0", "0", "1", "+0.0500", "+0.0500"]]
    assert result.per_detector[0][:5] == ["ours", "1 of 2", "1", "0", "1"]
    assert "(lower is better)" in result.heading


def test_values_are_compared_as_results_csv_holds_them():
    """Was: a cell kept by --resume (read back at 6 significant digits) against one run now (full precision): the
    same value counted better or worse."""
    rows = [_row("base", "a", 0, 0.912345678), _row("same", "a", 0, 0.9123457),  # 0.912346 either way
            _row("base", "b", 0, 0.8), _row("same", "b", 0, 0.8 + 1e-13)]
    result = compare(rows, "base", "auroc", True, ["base", "same"])
    assert [cells[3:8] for cells in result.per_dataset] == [["0", "1", "0", "0.0000", "0.0000"]] * 2
    assert result.per_detector == [["same", "0 of 2", "0", "2", "0", "", ""]]


def test_the_test_drops_zero_differences_and_says_its_n():
    rows = [_row("base", d, 0, 0.5) for d in "abcdef"]
    rows += [_row("ours", d, 0, 0.5 + 0.01 * (i + 1)) for i, d in enumerate("abcde")] + [_row("ours", "f", 0, 0.5)]
    (row,) = compare(rows, "base", "auroc", True, ["base", "ours"]).per_detector
    assert row[1] == "5 of 6" and row[-2] == "0.0625 (n=5)"  # the least p 5 datasets can give, not "n=6"
    equal = [_row("base", d, 0, 0.5) for d in "abc"] + [_row("ours", d, 0, v) for d, v in zip("abc", (0.6, 0.4, 0.6))]
    (row,) = compare(equal, "base", "auroc", True, ["base", "ours"]).per_detector
    # magnitudes tie: exact still (the 8 sign assignments of ranks 2, 2, 2: W+ = 4 or more in 4 of them, 4 or less
    # in 7: p = 2 * 4/8 = 1); was scipy's normal approximation
    assert row[-2] == "1 (n=3)"
    five = [_row("base", d, 0, 0.5) for d in "abcde"] + [_row("ours", d, 0, 0.6) for d in "abcde"]
    (row,) = compare(five, "base", "auroc", True, ["base", "ours"]).per_detector
    assert row[-2] == "0.0625 (n=5)"  # five equal gains: the least p five datasets give (was 0.0253, approximated)


def test_what_could_not_be_compared_is_said():
    rows = [_row("base", "a", 0, 0.5), _row("ours", "a", 0, 0.6), _row("ours", "b", 0, 0.7),
            _row("base", "b", 0, math.nan), _row("dead", "a", 0, math.nan), _row("dead", "b", 0, math.nan)]
    result = compare(rows, "base", "auroc", True, ["base", "ours", "dead"])
    assert [cells[:2] for cells in result.per_dataset] == [["a", "ours"]]
    assert result.notes == ["ours has no pair with base on b (a cell of either failed or auroc is undefined there)",
                            "dead has no pair with base on a, b (a cell of either failed or auroc is undefined there)"]
    gone = compare([_row("base", "a", 0, math.nan), _row("ours", "a", 0, 0.6)], "base", "auroc", True,
                   ["base", "ours"])
    assert gone.notes == ["no comparison: base has no finished cell with auroc defined"] and not gone.per_detector


def test_no_test_is_made_of_one_dataset_or_differences_all_zero():
    one = compare([_row("base", "a", 0, 0.5), _row("ours", "a", 0, 0.6)], "base", "auroc", True, ["base", "ours"])
    assert one.per_detector[0][-2:] == ["", ""]
    same = compare([_row(d, s, 0, 0.5) for d in ("base", "ours") for s in "ab"], "base", "auroc", True,
                   ["base", "ours"])
    assert same.per_detector == [["ours", "0 of 2", "0", "2", "0", "", ""]]


def test_had_bench_baseline_is_in_the_terminal_results_md_and_report(capsys, tmp_path):
    out = tmp_path / "o"
    code, stdout, err = run_cli(capsys, "bench", "--detectors", "rx,pyod-iforest", *TABLES, "--metrics", "auroc,eer",
                                "--baseline", "rx", "--baseline-metric", "eer", "--out", out)
    assert code == 0, err
    rows = _rows(out)
    diffs = {d: [float(r["eer"]) - float(b["eer"]) for r in rows for b in rows
                 if r["detector"] == "pyod-iforest" and b["detector"] == "rx" and r["dataset"] == b["dataset"] == d
                 and r["seed"] == b["seed"]] for d in ("synthetic-table", "synthetic-scene")}
    assert all(len(v) == 3 for v in diffs.values())
    md = (out / "results.md").read_text()
    assert "## Against the baseline" in md and "Against the baseline rx on eer (lower is better)" in md
    for dataset, found in diffs.items():
        better, worse = sum(d < 0 for d in found), sum(d > 0 for d in found)
        section = md[md.index("## Against the baseline"):].splitlines()
        line = next(line for line in section if line.startswith(f"| {dataset} | pyod-iforest | 3 |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[3] == str(better) and cells[5] == str(worse)
        assert float(cells[6]) == pytest.approx(np.mean(found), abs=1e-4)
    assert "Against the baseline rx on eer" in stdout and "| pyod-iforest | " in stdout
    report = (out / "report.html").read_text()
    section = report[report.index('<table id="baseline-datasets">'):report.index('<table id="cells"')]
    for dataset, found in diffs.items():  # the same counts as results.md's, in report.html's table
        better, worse = sum(d < 0 for d in found), sum(d > 0 for d in found)
        assert (f'<td class="name">{dataset}</td><td class="name">pyod-iforest</td><td>3</td><td>{better}</td>'
                f'<td>{3 - better - worse}</td><td>{worse}</td>') in section
    assert '<table id="baseline-detectors">' in section


def test_a_kept_cell_ties_with_the_same_value_run_now(capsys, tmp_path):
    """A variant of the baseline at the same settings, its cells run now, the baseline's kept by --resume."""
    out = tmp_path / "o"
    assert run_cli(capsys, "bench", "--detectors", "pyod-iforest", *TABLES, "--out", out)[0] == 0
    code, stdout, err = run_cli(capsys, "bench", "--detectors", "pyod-iforest,pyod-iforest@same", *TABLES,
                                "--baseline", "pyod-iforest", "--out", out, "--resume")
    assert code == 0, err
    assert "| pyod-iforest@same | 0 of 2 | 0 | 6 | 0 |  |" in stdout


GRID_WITH_BASELINE = ('baseline = "pyod-iforest"\ndetectors = ["rx", "pyod-iforest"]\n'
                      'datasets = ["synthetic-table"]\nseeds = "0-1"\n')


def test_a_grid_files_baseline_and_the_summarys_first_metric(capsys, tmp_path):
    (tmp_path / "grid.toml").write_text(GRID_WITH_BASELINE)
    code, stdout, err = run_cli(capsys, "bench", "--config", tmp_path / "grid.toml", "--no-plots")
    assert code == 0 and "Against the baseline pyod-iforest on auroc (higher is better)" in stdout, err
    assert "| synthetic-table | rx | 2 |" in stdout


@pytest.mark.parametrize("args, said", [
    (("--detectors", "rx,pyod-iforest", "--baseline", "pyod-knn"),
     "baseline pyod-knn is not one of this grid's detectors (rx, pyod-iforest)"),
    (("--detectors", "rx", "--baseline", "rx"), "baseline rx is the grid's only detector"),
    (("--detectors", "rx,pyod-iforest", "--baseline", "rx", "--baseline-metric", "eer"),
     "baseline metric eer is not one of the metrics this grid computes"),
    (("--detectors", "rx,pyod-iforest", "--baseline-metric", "auroc"),
     "baseline metric auroc given without a baseline: name the baseline detector"),
    (("--detectors", "rx,pyod-iforest", "--baseline", ""), "--baseline: is empty"),
])
def test_a_baseline_that_cannot_be_compared_is_one_line_before_any_cell(capsys, tmp_path, args, said):
    code, _, err = run_cli(capsys, "bench", *args, *TABLES, "--out", tmp_path / "o")
    assert code == 2 and said in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_mean_ranks_and_the_friedman_test_over_the_datasets_every_detector_finished():
    from scipy.stats import friedmanchisquare

    table = {"a": (0.9, 0.8, 0.7), "b": (0.6, 0.8, 0.7), "c": (0.5, 0.5, 0.9), "d": (0.7, 0.6, 0.8)}
    rows = [_row(det, d, s, v + 0.01 * s) for d, values in table.items() for det, v in zip(("x", "y", "z"), values)
            for s in (0, 1)]
    rows.append(_row("x", "e", 0, 0.9))  # e: y and z have no value, so e is left out of the ranks
    result = compare(rows, "x", "auroc", True, ["x", "y", "z"])
    # ranks (1 best): a 1 2 3, b 3 1 2, c 2.5 2.5 1, d 2 3 1 -> means x 2.125, y 2.125, z 1.75
    assert result.ranks == [["z", "1.75"], ["x", "2.12"], ["y", "2.12"]]
    p = friedmanchisquare(*zip(*[[v + 0.005 for v in values] for values in table.values()])).pvalue
    exact = _exact_friedman_by_enumeration([[1, 2, 3], [3, 1, 2], [2.5, 2.5, 1], [2, 3, 1]])
    assert f"Friedman test p = {exact:.3g} (exact: every ordering" in result.ranks_line
    assert f"the chi-square approximation gives {p:.3g})" in result.ranks_line and "4 datasets" in result.ranks_line
    lower = compare(rows, "x", "auroc", False, ["x", "y", "z"])  # lower is better: the order turns over
    assert lower.ranks[0] == ["x", "1.88"] and lower.ranks[-1][0] == "z"
    assert compare(rows, "x", "auroc", True, ["x", "y"]).ranks == []  # two detectors: the pairs say it all
    assert "Mean rank" in result.markdown() and "| z | 1.75 |" in result.markdown()


def test_detectors_that_tie_everywhere_get_no_friedman_test():
    rows = [_row(det, d, 0, 0.7) for det in ("x", "y", "z") for d in "ab"]
    result = compare(rows, "x", "auroc", True, ["x", "y", "z"])
    assert result.ranks == [["x", "2.00"], ["y", "2.00"], ["z", "2.00"]]
    assert "no Friedman test: the detectors tie on every dataset" in result.ranks_line and "nan" not in \
        result.ranks_line


def test_holm_adjusts_the_wilcoxon_p_over_the_detectors_compared():
    """Was: one unadjusted p per detector, so with several detectors one below 0.05 was likely by chance alone."""
    rows = [_row("base", d, 0, 0.5) for d in "abcdefgh"]
    steps = {"up": [0.01 * (i + 1) for i in range(8)],  # better on all 8: exact p 2/2^8
             "most": [0.01 * (i + 1) for i in range(7)] + [-0.005],  # one small loss
             "mixed": [0.01, -0.02, 0.03, -0.04, 0.05, -0.06, 0.07, 0.08],
             "one": [0.01] + [0] * 7}  # one non-zero difference: no test, no Holm p
    rows += [_row(det, d, 0, 0.5 + x) for det, xs in steps.items() for d, x in zip("abcdefgh", xs)]
    result = compare(rows, "base", "auroc", True, ["base", *steps])
    raw = [wilcoxon(steps[det]).pvalue for det in ("up", "most", "mixed")]
    assert raw[0] < raw[1] < raw[2]
    holm = [3 * raw[0], max(3 * raw[0], 2 * raw[1]), min(1.0, max(3 * raw[0], 2 * raw[1], raw[2]))]
    assert [row[-1] for row in result.per_detector] == [f"{p:.3g}" for p in holm] + [""]
    assert [row[-2] for row in result.per_detector][:3] == [f"{p:.3g} (n=8)" for p in raw]
    assert "Holm p" in result.markdown() and "Holm's step-down" in result.heading


def _exact_friedman_by_enumeration(rows):
    """The exact Friedman p by listing every combination of each row's distinct orderings."""
    import itertools

    observed = sum(c ** 2 for c in np.sum(rows, axis=0))
    orders = [sorted(set(itertools.permutations(row))) for row in rows]
    combos = list(itertools.product(*orders))
    return sum(sum(c ** 2 for c in np.sum(combo, axis=0)) >= observed - 1e-9 for combo in combos) / len(combos)


def test_the_exact_friedman_p_is_the_share_of_orderings_as_extreme():
    """Was: the chi-square and F approximations alone; on three datasets ranked 123, 123, 132 the F form gave
    p = 0.0494 (and so a Nemenyi reading) where the exact p is 0.194 (a review)."""
    from had.baseline import friedman_exact_p

    for rows in ([[1, 2, 3], [1, 2, 3], [1, 3, 2]], [[1.5, 1.5, 3], [1, 2, 3], [2, 1, 3], [1, 2.5, 2.5]],
                 [[1, 2, 3, 4], [2, 1, 4, 3], [1, 3, 2, 4]]):
        assert friedman_exact_p(rows) == pytest.approx(_exact_friedman_by_enumeration(rows), abs=1e-12)
    assert friedman_exact_p([[1, 2, 3], [1, 2, 3], [1, 3, 2]]) == pytest.approx(7 / 36)
    assert friedman_exact_p([[1, 2, 3]] * 5) == pytest.approx(6.0 ** -4)  # one ordering on every dataset
    assert friedman_exact_p([[1, 2, 3, 4, 5]] * 12, work=1000) is None  # too many to count: approximations


def test_the_signed_rank_p_is_exact_with_tied_magnitudes_too():
    from had.baseline import signed_rank_p

    rng = np.random.default_rng(4)
    for n in (2, 5, 9, 14):
        d = rng.normal(size=n)
        assert signed_rank_p(d) == pytest.approx(wilcoxon(d, method="exact").pvalue, rel=1e-9)
    assert signed_rank_p([0.1] * 5) == pytest.approx(0.0625)
    assert signed_rank_p([0.1, 0.1]) == pytest.approx(0.5)
    assert signed_rank_p([0.2, -0.1, 0.1]) == pytest.approx(0.75)  # ranks 3, 1.5, 1.5: W+ 4.5 or more in 3 of 8


def test_the_friedman_test_has_its_iman_davenport_form_and_the_nemenyi_critical_difference(monkeypatch):
    from scipy.stats import f as f_distribution
    from scipy.stats import friedmanchisquare

    from had import baseline

    monkeypatch.setattr(baseline, "EXACT_FRIEDMAN_WORK", 0)  # as for grids too large to count: the approximations

    table = {"a": (0.9, 0.8, 0.7), "b": (0.6, 0.8, 0.7), "c": (0.5, 0.4, 0.9), "d": (0.7, 0.6, 0.8)}
    rows = [_row(det, d, 0, v) for d, values in table.items() for det, v in zip(("x", "y", "z"), values)]
    result = compare(rows, "x", "auroc", True, ["x", "y", "z"])
    chi2 = friedmanchisquare(*zip(*table.values())).statistic  # ranks a 1 2 3, b 3 1 2, c 2 3 1, d 2 3 1: 0.5
    assert math.isclose(chi2, 0.5)
    statistic = 3 * chi2 / (4 * 2 - chi2)  # (N - 1) chi2 / (N (k - 1) - chi2), N = 4 datasets, k = 3
    p = f_distribution.sf(statistic, 2, 6)
    assert f"Iman-Davenport F p = {p:.3g} (F = {statistic:.3g} on 2 and 6 d.f.) (both approximations, rough below " \
        "ten datasets)" in result.ranks_line
    # Demsar's table: q(0.05) = 2.343 for 3 classifiers; CD = 2.343 sqrt(3 * 4 / (6 * 4)) = 1.657
    assert "Nemenyi critical difference at 0.05: 1.66 " in result.ranks_line
    same_order = [_row(det, d, 0, v) for d in "abcde" for det, v in zip(("x", "y", "z"), (0.9, 0.8, 0.7))]
    perfect = compare(same_order, "x", "auroc", True, ["x", "y", "z"]).ranks_line
    # F is infinite there; chance gives one ranking on all 5 datasets with p = 1 / 3!^4 (was: "p = 0", which
    # with 2 datasets would be 1/6)
    assert f"the same ranking on every dataset, which chance alone gives with p = 1/3!^4 = {6 ** -4:.3g}" in perfect
    assert "p = 0 " not in perfect and "inf " not in perfect
    tied = [_row(det, d, 0, v) for d in "abcde" for det, v in zip(("x", "y", "z"), (0.9, 0.9, 0.7))]
    line = compare(tied, "x", "auroc", True, ["x", "y", "z"]).ranks_line
    assert "the same ranking on every dataset (Iman-Davenport's F is infinite there)" in line and "1/3!" not in line
    assert "Nemenyi critical difference at 0.05: 1.48 " in perfect  # 2.343 sqrt(12 / 30)


def test_cliques_are_the_maximal_runs_of_mean_ranks_less_than_the_critical_difference_apart():
    from had.baseline import cliques

    ranks = [("a", 1.6), ("b", 2.0), ("c", 3.5), ("d", 3.8), ("e", 4.1)]
    assert cliques(ranks, 1.93) == [(0, 2), (1, 3), (2, 4)]  # a-c 1.9 < 1.93; b-d 1.8; b-e 2.1 no; c-e
    assert cliques(ranks, 0.35) == [(2, 3), (3, 4)]  # c-d 0.3; d-e 0.3; c-e 0.6 no
    assert cliques(ranks, 0.25) == [] and cliques(ranks, 10) == [(0, 4)]
    assert cliques([("a", 1.0), ("b", 2.0), ("c", 3.0)], 1.0) == []  # 1 apart is not less than 1: they differ


def test_report_html_draws_the_critical_difference_diagram_with_three_detectors_or_more(capsys, tmp_path):
    import xml.etree.ElementTree as ET

    from had.bench_report import rank_diagram

    figure = rank_diagram([("lren", 1.6), ("lren@<raw0>", 2.0), ("rx", 3.5), ("ae", 3.8), ("iforest", 4.1)], 1.93)
    svg = ET.fromstring(figure[figure.index("<svg"):figure.index("</svg>") + 6])  # well-formed, the name escaped
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in svg.iter(f"{ns}text")]
    assert texts[:5] == ["1", "2", "3", "4", "5"] and "CD = 1.93" in texts
    assert {"lren (1.60)", "lren@<raw0> (2.00)", "rx (3.50)", "ae (3.80)", "iforest (4.10)"} <= set(texts)
    lines = list(svg.iter(f"{ns}line"))
    axis = lines[0]
    span = float(axis.get("x2")) - float(axis.get("x1"))  # ranks 1 to 5
    cd = next(line for line in lines if line.get("stroke") == "#a00")
    assert float(cd.get("x2")) - float(cd.get("x1")) == pytest.approx(span * 1.93 / 4, abs=0.1)
    assert sum(line.get("stroke-width") == "3" for line in lines) == 3  # the three groups' bars
    long = rank_diagram([("x" * 300, 1.0), ("y", 2.0), ("z", 3.0)], 1.0)
    assert int(long.split('width="')[1].split('"')[0]) < 1200 and "x" * 39 + "…" in long  # a name cut, not the figure

    out = tmp_path / "o"
    code, _, _ = run_cli(capsys, "bench", "--detectors", "rx,pyod-iforest,pyod-iforest@few", "--set",
                         "pyod-iforest@few.n_estimators=5", *TABLES, "--baseline", "rx", "--out", out)
    assert code == 0
    html = (out / "report.html").read_text()
    assert 'id="critical-difference"' in html and "Nemenyi critical difference" in html
    two = tmp_path / "two"
    assert run_cli(capsys, "bench", "--detectors", "rx,pyod-iforest", *TABLES, "--baseline", "rx", "--out",
                   two)[0] == 0
    assert 'id="critical-difference"' not in (two / "report.html").read_text()  # two detectors: no ranks


def test_the_comparison_is_made_once_for_the_terminal_results_md_and_report(capsys, tmp_path, monkeypatch):
    """Its exact tests take up to a second or two; results.md, report.html and the terminal each asked for it."""
    from had import bench

    calls = []
    real = bench.compare
    monkeypatch.setattr(bench, "compare", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    code, out, _ = run_cli(capsys, "bench", "--detectors", "rx,pyod-iforest", *TABLES, "--baseline", "rx", "--out",
                           tmp_path / "o")
    assert code == 0 and "Against the baseline rx" in out and len(calls) == 1
    assert "Against the baseline rx" in (tmp_path / "o" / "results.md").read_text()
