"""Usage, from the repository root: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/results/onnx_parity/kit_parity.py``
(5 December 2026; output beside it, ``kit_parity.txt``). ONNX parity (max relative error, eager against onnxruntime) of the conformance kit's models: each plugin's
DetectorSuite config fitted on the suite's data (default: the kit's make_data for the detector's first kind),
exported with had.onnx_export.export as the kit's onnx check does."""
import sys, tempfile
from pathlib import Path
import had
from had_sdk import kit
from had.onnx_export import export

ROOT = Path(__file__).resolve().parents[3] / "plugins"
SUITES = [("cxr/tests", "test_memdae", "TestMemDAEConformance"), ("cxr/tests", "test_rlad", "TestRLADConformance"),
          ("cxr/tests", "test_deepsvdd", "TestCXRDeepSVDDConformance"), ("cxr/tests", "test_gangp", "TestGANGPConformance"),
          ("geohgan/tests", "test_kit", "TestGeoHganConformance"), ("autoencoder/tests", "test_kit", "TestAutoEncoderConformance")]
for folder, module, cls in SUITES:
    sys.path.insert(0, str(ROOT / folder))
    sys.modules.pop(module, None)
    suite = getattr(__import__(module), cls)
    sys.path.pop(0)
    det = had.get_detector(suite.detector, dict(suite.config))
    kind = (suite.kinds or det.kinds)[0]
    data = (suite.data or {}).get(kind) or kit.make_data(kind, suite.n_features)
    X, y = data if isinstance(data, tuple) else (data, None)
    det.fit(X)
    with tempfile.TemporaryDirectory() as d:
        r = export(det, X, path=Path(d) / "m.onnx", y=y)
    # parity only: the scores are of the fitted images themselves (a memory bank matches its own entries), so
    # their AUROC says nothing of a detector's quality and is not printed
    print(f"{suite.detector} ({kind}): max relative error {r['max_rel_err']:.2g}, rtol {r['rtol']:.0e}", flush=True)
