"""The SDK's conformance kit over both LRENs (rows and cube pixels, ONNX parity included), with a tiny network."""

from had_sdk.testing import DetectorSuite

TINY_KIT = {"epochs": 3, "hidden": 16, "latent": 4, "est_hidden": 8, "clusters": 3}


class TestLRENConformance(DetectorSuite):
    detector = "lren"
    config = TINY_KIT


class TestLRENReferenceConformance(DetectorSuite):
    detector = "lren-reference"
    config = TINY_KIT
