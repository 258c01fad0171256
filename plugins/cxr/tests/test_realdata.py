"""A short real-data run: MemDAE on PneumoniaMNIST separates pneumonia on the validation part (needs the file
and had-plugin-images; skipped otherwise)."""

from __future__ import annotations

import had
import pytest
from had.metrics import auroc


@pytest.mark.realdata
def test_memdae_on_pneumoniamnist_validation(real_file):
    pytest.importorskip("had_images", reason="real data: had-plugin-images is not installed")
    from had_images import files, one_class_split

    real_file(files.PNEUMONIA.relpath)
    train, val, _ = one_class_split(had.load_dataset("pneumoniamnist"))
    det = had.get_detector("memdae", epochs=3, lr=1e-3, device="cpu", progress=False).fit(train.X)
    # measured 0.69 (seed 0); chance is 0.5. Validation part only: test labels stay unread
    assert auroc(val.y, det.decision_function(val.X)) > 0.6
