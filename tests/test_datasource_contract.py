"""What had holds a data source plugin to, and whose fault it says a broken one is (an audit's broken sources).

An in-process plugin registers one table source under several names, each broken in one way (its ``variant``
preset), and sources whose file record, kind, default config, preset or default protocol is wrong.
"""

from __future__ import annotations

import hashlib
import sys

import numpy as np
import pytest
from pydantic import Field
from test_reliability_cli import assert_one_line, run_cli

import had
from had import DataSource, DataSourceConfig, Dataset, fetch, plugins
from had.datadir import KnownFile, locate
from had.errors import ChecksumError, ConfigError, DataFileError, LabelError, PluginError

N = 40
CSV = "\n".join(["a,b,label"] + [f"{i % 7}.5,{(i * 3) % 5}.25,{int(i < 4)}" for i in range(N)]) + "\n"
SHA = hashlib.sha256(CSV.encode()).hexdigest()
FILE = KnownFile("contract/rows.csv", SHA, "https://example.org/contract/rows.csv", "Contract, 2024")


class RowsConfig(DataSourceConfig):
    variant: str = Field("good", description="how the load is broken")


class Rows(DataSource):
    name = "contract-rows"
    Config = RowsConfig
    kind = "tabular"
    default_protocol = "adbench"
    FILE = FILE

    def known_files(self):
        return [self.FILE]

    def load(self):
        a = np.loadtxt(locate(self.FILE), delimiter=",", skiprows=1)
        X, y = a[:, :-1], a[:, -1].astype(int)
        variant = self.config.variant
        if variant == "row":
            y = y.reshape(1, -1)
        elif variant == "pairs":
            y = y.reshape(N // 2, 2)
        elif variant == "col":
            y = y.reshape(-1, 1)
        elif variant == "list":
            y = y.tolist()
        elif variant == "3d":
            X = X.reshape(N, 1, 2)
        elif variant == "raise":
            raise ValueError("lab parser broke on line 7")
        elif variant == "exit":
            sys.exit("usage: labparse FILE")
        elif variant == "typed":
            raise DataFileError("rows.csv lacks its label column; give label=NAME")
        elif variant == "none":
            return None
        return Dataset(self.name, X, y, meta=self.FILE.provenance())


class UpperSha(Rows):
    FILE = KnownFile(FILE.relpath, SHA.upper(), FILE.url)


class NoSha(Rows):
    FILE = KnownFile(FILE.relpath, "", FILE.url)


class CubeDeclared(Rows):
    kind = "cube"


class BadDefaultConfig(DataSourceConfig):
    n: int = Field(-5, ge=0, description="a default its own bound refuses")


class BadDefault(Rows):
    Config = BadDefaultConfig


class BadProtocol(Rows):
    default_protocol = "adbnech"


class NoTopLevelFiles:
    """A data plugin as an author writes one: its sources list their files, its package has no known_files()."""

    @staticmethod
    @had.hookimpl
    def register_datasources(register):
        register("contract-rows", Rows)
        for variant in ("row", "pairs", "col", "list", "3d", "raise", "exit", "typed", "none"):
            register(f"contract-{variant}", Rows, variant=variant)
        register("contract-upper", UpperSha)
        register("contract-nosha", NoSha)
        register("contract-cube", CubeDeclared)
        register("contract-baddefault", BadDefault)
        register("contract-badpreset", Rows, colour="red")
        register("contract-badproto", BadProtocol)


@pytest.fixture(autouse=True)
def registered(tmp_path, monkeypatch):
    (tmp_path / "contract").mkdir()
    (tmp_path / FILE.relpath).write_text(CSV)
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path))
    plugins.register_plugin(NoTopLevelFiles, name="contract-plugin")
    yield tmp_path
    plugins.unregister_plugin("contract-plugin")


# ---- 1. a table's ground truth is (N,) -----------------------------------------------------------------------
@pytest.mark.parametrize("variant, shape", [("row", "(1, 40)"), ("pairs", "(20, 2)")])
def test_a_tables_truth_of_another_shape_is_refused_naming_the_source(variant, shape):
    """Was: as many labels passed check_truth, kept as given; `had bench` then failed in Dataset.subset."""
    with pytest.raises(LabelError) as raised:
        had.load_dataset(f"contract-{variant}")
    said = str(raised.value)
    assert said.startswith(f"ground truth of 'contract-rows' has shape {shape} for tabular data of shape (40, 2): "
                           "pass one label per sample, shape (40,)")
    assert f"data source 'contract-{variant}' of plugin 'contract-plugin'" in said
    assert "report it to its authors" in said and "\n" not in said


@pytest.mark.parametrize("variant", ["col", "list"])
def test_a_column_or_a_list_of_labels_becomes_one_label_per_row(variant):
    """Was: a list kept as a list (repr raised AttributeError), a column kept (N, 1)."""
    data = had.load_dataset(f"contract-{variant}")
    assert isinstance(data.y, np.ndarray) and data.y.shape == (N,) and data.n_anomalies == 4
    assert "y=<int64 40>" in repr(data)
    part = data.subset(np.arange(10))
    assert part.y.shape == (10,) and part.y.sum() == 4


def test_a_dataset_made_in_python_says_the_shapes_and_a_cubes_map_stays_a_map():
    X = np.zeros((6, 3))
    with pytest.raises(LabelError, match=r"^ground truth of 'mine' has shape \(2, 3\) for tabular data of shape "
                                         r"\(6, 3\): pass one label per sample, shape \(6,\)$"):
        Dataset("mine", X, np.zeros((2, 3), dtype=int))
    images = np.zeros((4, 1, 2, 2))
    with pytest.raises(LabelError, match=r"has shape \(1, 4\) for image data"):
        Dataset("pics", images, np.zeros((1, 4), dtype=int))
    truth = np.zeros((4, 5), dtype=int)
    truth[1, 2] = 1
    assert Dataset("scene", np.zeros((4, 5, 3)), truth).y.shape == (4, 5)
    assert Dataset("scene", np.zeros((4, 5, 3)), truth.tolist()).y.shape == (4, 5)


def test_had_bench_runs_a_table_whose_labels_are_a_list():
    from had.bench import run

    result = run(["rx"], ["contract-list"], seeds=[0], out=None, echo=lambda line: None)
    assert len(result.rows) == 1 and not result.rows[0].get("error"), result.rows


# ---- 2. a file record's sha256 ---------------------------------------------------------------------------------
def test_an_uppercase_sha256_is_the_same_digest(registered):
    """Was: "the file is corrupt or a different version: delete it and fetch it again" for the right file."""
    assert UpperSha.FILE.sha256 == SHA
    assert had.load_dataset("contract-upper").n_samples == N
    assert fetch.fetch_file(UpperSha.FILE).status == "present"


def test_an_empty_sha256_is_the_plugins_record_not_a_corrupt_file(registered, capsys):
    with pytest.raises(PluginError) as raised:
        had.load_dataset("contract-nosha")
    said = str(raised.value)
    assert said.startswith("the sha256 of contract/rows.csv is '', not 64 hex digits, so no copy can be verified")
    assert "data source 'contract-nosha' of plugin 'contract-plugin'" in said and "report it to its authors" in said
    assert "delete" not in said and "corrupt" not in said
    with pytest.raises(PluginError, match="not 64 hex digits.*report it to its authors"):
        fetch.fetch_file(NoSha.FILE)
    code, _, err = run_cli(capsys, "data", "fetch", "contract-nosha")
    assert_one_line(code, err, "the sha256 of contract/rows.csv is ''", "report it to its authors")
    assert (registered / FILE.relpath).read_text() == CSV  # the user's file left as it was
    with pytest.raises(ChecksumError, match="delete it and fetch it again"):  # a wrong one is the file's, as before
        locate(KnownFile(FILE.relpath, "0" * 64, FILE.url))


# ---- 3. the paths had suggests resolve -------------------------------------------------------------------------
def test_fetch_resolves_the_files_of_a_plugins_sources_without_a_package_function(registered, capsys):
    """Was "unknown dataset 'contract/rows.csv'": only a package-level known_files() was read."""
    assert [known.relpath for known in fetch.files_for("contract/rows.csv")] == [FILE.relpath]
    assert [known.relpath for known in fetch.files_for("contract-plugin")] == [FILE.relpath]  # once, not per source
    assert FILE.relpath in {known.relpath for known in fetch.files_for("all")}
    code, out, err = run_cli(capsys, "data", "fetch", "contract/rows.csv")
    assert code == 0 and out.startswith("present") and not err


# ---- 4. the kind a source declares ----------------------------------------------------------------------------
@pytest.mark.parametrize("name, said", [
    ("contract-3d", "declares kind 'tabular', but its load returned cube data of shape (40, 1, 2)"),
    ("contract-cube", "declares kind 'cube', but its load returned tabular data of shape (40, 2)"),
])
def test_a_dataset_of_another_kind_than_declared_is_the_plugins_fault(name, said):
    """Was: a declared table of shape (N, 1, D) fitted as a cube."""
    with pytest.raises(PluginError) as raised:
        had.load_dataset(name)
    assert str(raised.value).startswith(f"data source {name!r} of plugin 'contract-plugin'")
    assert said in str(raised.value) and str(raised.value).endswith("report it to its authors")


def test_a_load_that_returns_no_dataset_is_the_plugins_fault():
    with pytest.raises(PluginError, match=r"contract-none.* returned NoneType, not a had.Dataset"):
        had.load_dataset("contract-none")


# ---- 5. a load that raises or exits -----------------------------------------------------------------------------
def test_a_load_that_raises_or_exits_is_one_line_naming_the_source(capsys, tmp_path):
    """Were: a traceback (exit 1), and the plugin's usage text as had's exit."""
    code, _, err = run_cli(capsys, "fit", "rx", "contract-raise", "-o", str(tmp_path / "m"))
    assert_one_line(code, err, "the load of data source 'contract-raise' of plugin 'contract-plugin' failed: "
                               "ValueError: lab parser broke on line 7; that is the plugin's fault")
    code, _, err = run_cli(capsys, "fit", "rx", "contract-exit", "-o", str(tmp_path / "m"))
    assert_one_line(code, err, "the load of data source 'contract-exit' of plugin 'contract-plugin' called "
                               "sys.exit('usage: labparse FILE'); that is the plugin's fault")
    assert not (tmp_path / "m").exists()
    with pytest.raises(DataFileError) as raised:  # had's own typed errors pass as they are
        had.load_dataset("contract-typed")
    assert type(raised.value) is DataFileError and str(raised.value) == ("rows.csv lacks its label column; "
                                                                         "give label=NAME")


# ---- 6. a source's invalid default ----------------------------------------------------------------------------
def test_fetch_gives_a_sources_invalid_default_not_no_files(capsys):
    """Was: "has no files to fetch: it reads a file you give it"."""
    with pytest.raises(ConfigError, match=r"^invalid config for data source contract-baddefault: n: .*the plugin's "
                                          r"own default, not a value given: report it to its authors"):
        fetch.files_for("contract-baddefault")
    code, _, err = run_cli(capsys, "data", "fetch", "contract-baddefault")
    assert_one_line(code, err, "contract-baddefault", "the plugin's own default")
    assert "no files to fetch" not in err


# ---- 7. presets and the registered name -----------------------------------------------------------------------
def test_a_preset_the_config_refuses_is_the_plugins():
    """Was: "invalid config for data source contract-rows: colour: ... (`had describe contract-rows` ...)"."""
    with pytest.raises(PluginError) as raised:
        had.get_datasource("contract-badpreset")
    assert str(raised.value) == ("data source 'contract-badpreset' is registered by plugin 'contract-plugin' with a "
                                 "preset its config refuses (colour='red': Extra inputs are not permitted); that is "
                                 "the plugin's preset, not a setting you gave: report it to its authors")


def test_a_users_bad_setting_names_the_registered_dataset(capsys, tmp_path):
    """Was: "invalid config for data source contract-rows" (the class's name) for `--data nope=1` on contract-col."""
    with pytest.raises(ConfigError, match=r"^invalid config for data source contract-col: nope: Extra inputs are not "
                                          r"permitted \(`had describe contract-col` lists the fields\)$"):
        had.get_datasource("contract-col", {"nope": 1})
    with pytest.raises(ConfigError, match=r"^invalid config for data source contract-badpreset: colour: "):
        had.get_datasource("contract-badpreset", colour="blue")  # the user's own setting is the user's
    code, _, err = run_cli(capsys, "fit", "rx", "contract-col", "--data", "nope=1", "-o", str(tmp_path / "m"))
    assert_one_line(code, err, "invalid config for data source contract-col: nope")


# ---- 8. the default protocol -----------------------------------------------------------------------------------
def test_a_default_protocol_that_is_no_protocol_is_the_sources():
    """Was: "unknown protocol 'adbnech'" in each bench cell, not said to be the source's default."""
    from had.bench import run

    source = had.get_datasource("contract-badproto")
    assert had.load_dataset("contract-badproto").n_samples == N  # had fit does not use it
    assert source.protocol("adbench") == "adbench"  # the user's protocol wins, unread
    with pytest.raises(PluginError) as raised:
        source.protocol()
    assert str(raised.value).startswith("data source 'contract-badproto' of plugin 'contract-plugin' gives "
                                        "default_protocol 'adbnech', which is not a protocol (one of transductive, "
                                        "adbench, deepsad, one-class); that is the plugin's fault: report it to its "
                                        "authors")
    with pytest.raises(PluginError, match="gives default_protocol 'adbnech'"):
        run(["rx"], ["contract-badproto"], seeds=[0], out=None, echo=lambda line: None)
    result = run(["rx"], ["contract-badproto"], seeds=[0], out=None, protocol="adbench", echo=lambda line: None)
    assert not result.rows[0].get("error"), result.rows
