"""What a run of the user and plugin guides as written found (7 December 2026): a disabled plugin's name pointed at
`had plugins`, which does not list it; ssad's export refusal said no PyOD model exports; a grid file's one-seed
form was invalid TOML; a plugin registered in-process skipped the plugin API check an installed one gets."""

from __future__ import annotations

import types

import pytest
from had_sdk.testing import run_cli

import had
from had.errors import ExportNotSupported, PluginError


@pytest.mark.parametrize("env, said", [
    ({"HAD_DISABLE_PLUGINS": "lren"}, "unknown detector 'lren': it comes with had-plugin-lren, which is installed, "
                                      "but its plugin lren is disabled by HAD_DISABLE_PLUGINS=lren; remove lren from "
                                      "that variable"),
    ({"HAD_DISABLE_PLUGINS": "cxr,had-plugin-lren"}, "but its plugin lren is disabled by HAD_DISABLE_PLUGINS=cxr,"
                                                     "had-plugin-lren; remove had-plugin-lren from that variable"),
    ({"HAD_PLUGINS": "odds"}, "unknown detector 'lren': it comes with had-plugin-lren, which is installed, but "
                              "HAD_PLUGINS=odds loads only those plugins; add lren to it, or unset it"),
    ({"HAD_PLUGINS": ""}, "which is installed, but HAD_PLUGINS is set empty, which loads no plugin; add lren to it, "
                          "or unset it"),  # was "HAD_PLUGINS= loads only those plugins" (a review)
])
def test_a_name_whose_plugin_the_variables_leave_out_says_which_variable(monkeypatch, capsys, tmp_path, env, said):
    """Was: "which is installed but not loaded; `had plugins` shows its error", and `had plugins` leaves a
    disabled plugin out altogether."""
    pytest.importorskip("had_lren")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    had.plugins.reset()
    code, _, err = run_cli(capsys, "fit", "lren", "synthetic-table", "-o", tmp_path / "m")
    assert code == 2 and said in err and "`had plugins`" not in err
    assert err.count("HAD_") == 1, err  # said once, not again by the general note
    assert not (tmp_path / "m").exists()


def test_ssads_export_refusal_names_ssad_not_every_pyod_model():
    pytest.importorskip("had_pyod")
    det = had.get_detector("ssad")
    assert det.onnx_unsupported.startswith("ssad's kernel expansion") and "PyOD/scikit-learn models" not in \
        det.onnx_unsupported
    import numpy as np

    X = np.random.default_rng(0).normal(size=(60, 3))
    with pytest.raises(ExportNotSupported, match="ssad's kernel expansion"):
        had.get_detector("ssad", max_train=60).fit(X).export_onnx()


def test_a_grid_files_count_of_seeds_is_told_its_one_seed_form_as_a_grid_file_writes_it(capsys, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text('detectors = ["rx"]\ndatasets = ["synthetic-table"]\nseeds = 2\n')
    code, _, err = run_cli(capsys, "bench", "--config", grid, "--out", tmp_path / "o", "--no-plots")
    assert code == 0 and "seeds = 2 is a count: seeds 0-1 (seed 2 alone: grid file" in err
    assert "seeds = [2])" in err and "2-2" not in err  # was "seeds = 2-2", which TOML refuses
    import tomllib

    assert tomllib.loads("seeds = [2]")["seeds"] == [2]
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--seeds", "2",
                           "--out", tmp_path / "p", "--no-plots")
    assert code == 0 and "--seeds 2 is a count: seeds 0-1 (seed 2 alone: --seeds 2-2)" in err  # the option's form


def test_a_plugin_registered_in_process_is_checked_for_its_plugin_api_as_an_installed_one_is():
    future = types.ModuleType("future_plugin")
    future.PLUGIN_API = 99
    with pytest.raises(PluginError, match=r"^plugin 'future' is written for plugin API 99; this had supports 1: upgrade had"):
        had.plugins.register_plugin(future, name="future")
    assert had.plugins.plugin_manager().get_plugin("future") is None
    odd = types.ModuleType("odd_plugin")
    odd.PLUGIN_API = "1"
    with pytest.raises(PluginError, match=r"declares PLUGIN_API = '1'; it must be an integer"):
        had.plugins.register_plugin(odd, name="odd")
