"""The two image-size capabilities no detector of this repository sets do what their table says: a flag that
nothing reads would pass `test_registry_facts` as well."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from had.capabilities import Capabilities
from had.errors import InvalidInputError

from sdk_toys import TinyImage

FIT_SHAPE, OTHER_SHAPE = (12, 1, 8, 8), (4, 1, 12, 10)


@pytest.fixture
def images():
    rng = np.random.default_rng(4)
    return (rng.normal(size=FIT_SHAPE).astype(np.float32), rng.normal(size=OTHER_SHAPE).astype(np.float32))


class AnySize(TinyImage):  # fully convolutional, score = mean over the image: any size is meaningful
    capabilities = Capabilities(accepts_any_image_size=True)


class DynamicExport(TinyImage):
    capabilities = Capabilities(accepts_any_image_size=True, dynamic_image_size=True)


def _reconstruction_error(det, X):
    """By hand: the per-image mean squared error of the fitted network."""
    with torch.no_grad():
        x = torch.from_numpy(X)
        return ((det.network_(x) - x) ** 2).mean(dim=(1, 2, 3)).double().numpy()


def test_accepts_any_image_size_lets_another_size_be_scored(images):
    X, other = images
    with pytest.raises(InvalidInputError, match=r"fitted on images \(1, 8, 8\), got \(1, 12, 10\)"):
        TinyImage(device="cpu", epochs=1).fit(X).decision_function(other)
    det = AnySize(device="cpu", epochs=1).fit(X)
    np.testing.assert_allclose(det.decision_function(other), _reconstruction_error(det, other), rtol=1e-5)


def _input_dims(model: bytes) -> list:
    import onnx

    (x,) = [i for i in onnx.load_from_string(model).graph.input if i.name == "x"]
    return [d.dim_param or d.dim_value for d in x.type.tensor_type.shape.dim]


def test_dynamic_image_size_makes_height_and_width_dynamic_in_the_export(images):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from had_sdk.export import _dynamic

    X, other = images
    _, fixed = _dynamic(AnySize(device="cpu", epochs=1).fit(X), "image")  # the axes handed to the exporter
    assert fixed["x"] == {0: "n"}  # without the flag only the batch is dynamic
    det = DynamicExport(device="cpu", epochs=1).fit(X)
    model = det.export_onnx()
    dims = _input_dims(model)
    assert dims[1] == 1 and all(isinstance(d, str) for d in (dims[0], dims[2], dims[3]))
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    (scores,) = session.run(["score"], {"x": other})
    np.testing.assert_allclose(scores, det.decision_function(other), rtol=1e-4)
