"""Settings typed on the command line: bounds that name the key (was a torch traceback, or a NaN loss blamed on
lr), and RLAD's caps of k and ans_size said as MemDAE's cap of k is."""

from __future__ import annotations

import pytest

import had
from had.errors import ConfigError

TINY = {"isize": 16, "width": 2, "rep_dim": 8, "epochs": 1, "batch_size": 8, "k": 3, "ans_select_rate": 0.5,
        "ans_size": 3, "device": "cpu", "progress": False}


@pytest.mark.parametrize("settings, said", [
    ({"eps": 1e308}, r"eps: Input should be less than or equal to 1000"),  # was torch's overflow traceback
    ({"eps": 1e18}, r"eps: Input should be less than or equal to 1000"),  # was "loss became inf; lower `lr`"
    ({"weight_decay": 1e308}, r"weight_decay: .*beyond float32's range"),
])
def test_cxr_deepsvdd_settings_out_of_range_are_refused_naming_them(settings, said):
    with pytest.raises(ConfigError, match=rf"invalid config for detector cxr-deepsvdd: {said}"):
        had.get_detector("cxr-deepsvdd", **settings)
    assert had.get_detector("cxr-deepsvdd", eps=1e3).config.eps == 1e3


def test_rlad_says_a_k_and_an_ans_size_above_the_training_images(images):
    """``--set k=1000000000`` (or the default k=100 on fewer images) and ``ans_size=1000000`` were capped without
    a word: every score the mean angle to the whole memory, every neighbourhood all the other images."""
    X, _ = images
    default_k = {key: value for key, value in TINY.items() if key != "k"}  # k=100 > 20 images
    det = had.get_detector("rlad", {**default_k, "ans_size": 1000000}).fit(X[:20])
    assert det.fit_notes_ == [
        "ans_size=1000000 is above the 19 other training images: each anchor's neighbourhood is all 19 "
        "(ans_size=19 in effect)",
        "k=100 is above the 20 training codes in the bank: each score is the mean angle to all 20 (k=20 in effect)"]
    assert had.get_detector("rlad", TINY).fit(X[:20]).fit_notes_ == []
