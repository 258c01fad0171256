"""The SDK's conformance kit over both LRENs (rows and cube pixels, ONNX parity included), with a tiny network."""

from had_sdk.testing import DetectorSuite

TINY_KIT = {"epochs": 3, "hidden": 16, "latent": 4, "est_hidden": 8, "clusters": 3}


class TestLRENConformance(DetectorSuite):
    detector = "lren"
    # two restarts, not the default six: the averaging of restarts is exported and checked all the same, and the
    # graph of six made the ONNX checks 200 s of the suite's time (the exported graph and its sessions scale with it)
    config = {**TINY_KIT, "restarts": 2}


class TestLRENReferenceConformance(DetectorSuite):
    detector = "lren-reference"
    config = TINY_KIT
