"""had-plugin-pyod: PyOD detectors and Deep SAD's shallow baselines for `had`.

* :mod:`had_pyod.adapter`: the adapter bases (rows and cube pixels); :class:`~had_pyod.adapter.FittedStateDetector`
  models save their fitted arrays, the others their training rows (``artifact_holds`` says which);
* :mod:`had_pyod.models`: ``pyod-ocsvm``, ``pyod-iforest``, ``pyod-kde``, ``pyod-knn``, ``pyod-ecod``,
  ``pyod-pca``, ``pyod-gmm``, ``pyod-autoencoder``, ``pyod-deepsvdd``;
* :mod:`had_pyod.fitted`: fitted state as arrays and the scores computed from it;
* :mod:`had_pyod.export`: skl2onnx graphs wrapped into had's ONNX contract;
* :mod:`had_pyod.graphs`: onnx.helper graphs from fitted arrays (PCA, linear OC-SVM, KDE);
* :mod:`had_pyod.heuristics`: label-free hyper-parameter choices (RBF gamma, KDE bandwidth);
* :mod:`had_pyod.ssad`: semi-supervised anomaly detection (Görnitz et al. 2013), own dual QP solved with OSQP;
* :mod:`had_pyod.hybrid`: the shallow detectors on a pretrained Deep SAD autoencoder's codes (extra ``hybrids``).
"""

__version__ = "0.1.0"
