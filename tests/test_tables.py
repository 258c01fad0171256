"""Grid summaries: a metric defined on fewer seeds than its cell's row count says over how many it is averaged."""

from __future__ import annotations

import math

from had.tables import summarise


def test_a_metric_on_fewer_seeds_says_its_count():
    rows = [{"dataset": "d", "detector": "x", "auroc": a, "auc_pf_tau": t}
            for a, t in ((0.9, 0.1), (0.8, math.nan), (0.7, 0.3), (0.6, math.nan))]
    (cells,) = summarise(rows, ["dataset", "detector"], ["auroc", "auc_pf_tau"])
    assert cells[:3] == ["d", "x", "4"]
    assert cells[3] == "0.7500 ± 0.1291"  # every seed: no count
    assert cells[4] == "0.2000 ± 0.1414 (n=2)"  # was: "0.2000 ± 0.1414" under seeds 4
    (one,) = summarise(rows[:2], ["dataset", "detector"], ["auc_pf_tau"])
    assert one[3] == "0.1000 (n=1)"
