"""Grid summaries: a metric defined on fewer seeds than its cell's row count says over how many it is averaged."""

from __future__ import annotations

import math

from had.tables import figure, summarise


def test_a_metric_on_fewer_seeds_says_its_count():
    rows = [{"dataset": "d", "detector": "x", "auroc": a, "auc_pf_tau": t}
            for a, t in ((0.9, 0.1), (0.8, math.nan), (0.7, 0.3), (0.6, math.nan))]
    (cells,) = summarise(rows, ["dataset", "detector"], ["auroc", "auc_pf_tau"])
    assert cells[:3] == ["d", "x", "4"]
    assert cells[3] == "0.7500 ± 0.1291"  # every seed: no count
    assert cells[4] == "0.2000 ± 0.1414 (n=2)"  # was: "0.2000 ± 0.1414" under seeds 4
    (one,) = summarise(rows[:2], ["dataset", "detector"], ["auc_pf_tau"])
    assert one[3] == "0.1000 (n=1)"


def test_a_value_four_decimals_would_show_as_zero_keeps_three_significant_digits():
    # was: a metric plugin's 1.2e-05 shown as 0.0000 in results.md and the terminal; a spread keeps four decimals
    assert summarise([{"d": "a", "m": 1.2e-5}, {"d": "a", "m": 1.3e-5}], ["d"], ["m"]) == \
        [["a", "2", "1.25e-05 ± 0.0000"]]
    assert summarise([{"d": "a", "m": 0.98001}, {"d": "a", "m": 0.98002}], ["d"], ["m"]) == \
        [["a", "2", "0.9800 ± 0.0000"]]
    assert summarise([{"d": "a", "m": 3e-7}], ["d"], ["m"]) == [["a", "1", "3e-07"]]
    assert [figure(v) for v in (0.0, 0.00005, -0.00004, 0.12345)] == ["0.0000", "0.0001", "-4e-05", "0.1235"]
