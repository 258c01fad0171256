"""had-plugin-pyod: PyOD detectors and Deep SAD's shallow baselines for `had`.

* :mod:`had_pyod.adapter`: the adapter base (rows and cube pixels; the artifact keeps the training rows and
  refits on load, so nothing is pickled);
* :mod:`had_pyod.models`: ``pyod-ocsvm``, ``pyod-iforest``, ``pyod-kde``, ``pyod-knn``, ``pyod-ecod``,
  ``pyod-pca``, ``pyod-autoencoder``, ``pyod-deepsvdd``;
* :mod:`had_pyod.heuristics`: label-free hyper-parameter choices (RBF gamma, KDE bandwidth);
* :mod:`had_pyod.ssad`: semi-supervised anomaly detection (Görnitz et al. 2013), own dual QP solved with OSQP;
* :mod:`had_pyod.hybrid`: the shallow detectors on a pretrained Deep SAD autoencoder's codes.
"""

__version__ = "0.1.0"
