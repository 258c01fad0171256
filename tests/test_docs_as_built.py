"""What the plugin guide tells a plugin author works as written (an audit of the docs against the code,
5 December 2026)."""

from __future__ import annotations

import subprocess
import sys


def test_had_plugins_is_there_after_a_plain_import_had():
    """plugin-guide.md: "In a notebook or a test, `had.plugins.register_plugin(PluginClass, name="mine")`"; after a
    plain ``import had`` that was an AttributeError (nothing had imported the submodule). ``import had`` still
    does not import it (the registry stays unbuilt, no plugin loaded)."""
    code = ("import sys, had; light = 'had.plugins' not in sys.modules; "
            "print(light, callable(had.plugins.register_plugin))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_a_results_table_name_is_told_as_the_detector_and_setting_it_is():
    """docs/results.md's tables have a row `deepsvdd-reference`; typed as a detector it was "did you mean
    'lren-reference' or 'deepsvdd'?", never the setting it stands for."""
    import pytest

    import had
    from had import plugins
    from had.errors import UnknownNameError

    if "deepsvdd" not in plugins.registry()["detector"]:
        pytest.skip("had-plugin-deepsad is not installed")
    with pytest.raises(UnknownNameError) as info:
        had.get_detector("deepsvdd-reference")
    said = str(info.value)
    assert "deepsvdd with recipe=reference" in said and "--set recipe=reference" in said
    assert "lren-reference" not in said
    assert had.get_detector("deepsvdd", recipe="reference").config.recipe == "reference"


def test_the_column_order_fix_is_python_a_user_can_paste():
    """Fitted on 7 named columns and given them reordered, the fix was ``X[['f0', 'f1', 'f2', 'f3', 'f4']...]``, not
    a selection; now ``X[list(detector.feature_names_in_)]``, which selects them (5 or fewer: the list itself)."""
    import numpy as np
    import pytest

    import had
    from had.errors import InvalidInputError

    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(40, 7)), columns=[f"f{i}" for i in range(7)])
    detector = had.get_detector("rx").fit(df)
    shuffled = df[list(reversed(df.columns))]
    with pytest.raises(InvalidInputError, match=r"select the columns as at fit: X\[list\(detector.feature_names_in_\)\]"):
        detector.decision_function(shuffled)
    X = shuffled
    fixed = eval("X[list(detector.feature_names_in_)]")  # the message's fix, as written
    np.testing.assert_array_equal(detector.decision_function(fixed), detector.decision_function(df))
    few = had.get_detector("rx").fit(df[["f0", "f1", "f2"]])
    with pytest.raises(InvalidInputError, match=r"select the columns as at fit: X\[\['f0', 'f1', 'f2'\]\]"):
        few.decision_function(df[["f2", "f1", "f0"]])
