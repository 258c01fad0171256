"""A data source's advice names its settings in the CLI's form (``--data y_key=null``); a Python caller of
:func:`had.load_dataset` gets them as that function takes them (``y_key=None``), the CLI its own form still."""

from __future__ import annotations

import pytest

import had
from had.errors import in_python_form
from had_sdk.testing import run_cli


@pytest.mark.parametrize("cli, python", [
    ("pass --data y_key=null for no labels", "pass y_key=None for no labels"),
    ("name it with --data y_key=class, or", "name it with y_key='class', or"),
    ("read it with --data check_interleave=false", "read it with check_interleave=False"),
    ("--data bands=1-50 keeps them", "bands='1-50' keeps them"),
    ("leave it out: --data bands=1-2,4", "leave it out: bands='1-2,4'"),
    ("--data bands=1-2,4, or", "bands='1-2,4', or"),
    ("(--data tile_size=N)", "(tile_size=N)"),
    ("--data max_no_data=0.25;", "max_no_data=0.25;"),
    ("--data path=FILE", "path=FILE"),
    ("had bench takes --data scene.map_path=M", "had bench takes --data scene.map_path=M"),  # bench's form: kept
])
def test_data_settings_in_python_form(cli, python):
    assert in_python_form(cli) == python


def _table(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,class\n1,2,0\n3,4,1\n5,6,0\n7,8,0\n")
    return path


def test_load_dataset_advises_its_own_keywords(tmp_path):
    """Was: "name it with --data y_key=class, or keep it as a feature with --data y_key=null" to a Python caller."""
    with pytest.raises(had.InvalidInputError) as info:
        had.load_dataset(str(_table(tmp_path)))
    said = str(info.value)
    assert "y_key='class'" in said and "y_key=None" in said and "--data" not in said
    assert had.load_dataset(str(_table(tmp_path)), y_key="class").y.tolist() == [0, 1, 0, 0]  # the advice works


def test_the_cli_advises_its_own_form(tmp_path, capsys):
    code, _, err = run_cli(capsys, "fit", "rx", str(_table(tmp_path)), "-o", str(tmp_path / "m"))
    assert code == 2 and "--data y_key=class" in err and "--data y_key=null" in err
