"""Entry point of the `had` plugin: registers every detector by "module:Class" string (imports nothing heavy)."""

from __future__ import annotations

from had import hookimpl

DETECTORS = {
    "pyod-ocsvm": ("had_pyod.models:PyODOCSVM", "PyOD OCSVM (RBF, nu 0.1), gamma by the median heuristic"),
    "pyod-iforest": ("had_pyod.models:PyODIForest", "PyOD IForest (100 trees, 256 samples per tree)"),
    "pyod-kde": ("had_pyod.models:PyODKDE", "PyOD KDE (Gaussian), bandwidth by log-likelihood grid search"),
    "pyod-knn": ("had_pyod.models:PyODKNN", "PyOD KNN (distance to the k-th neighbour)"),
    "pyod-ecod": ("had_pyod.models:PyODECOD", "PyOD ECOD (empirical CDF tails; no hyper-parameters)"),
    "pyod-pca": ("had_pyod.models:PyODPCA", "PyOD PCA (weighted distance in the principal components)"),
    "pyod-autoencoder": ("had_pyod.models:PyODAutoEncoder", "PyOD AutoEncoder (reconstruction error)"),
    "pyod-deepsvdd": ("had_pyod.models:PyODDeepSVDD", "PyOD DeepSVDD (one-class, PyOD's network and training)"),
    "ssad": ("had_pyod.ssad:SSAD", "SSAD (Görnitz et al. 2013): semi-supervised OC-SVM, own dual QP (OSQP)"),
    "hybrid-ocsvm": ("had_pyod.hybrid:HybridOCSVM", "OC-SVM on pretrained Deep SAD autoencoder codes"),
    "hybrid-iforest": ("had_pyod.hybrid:HybridIForest", "Isolation Forest on pretrained Deep SAD autoencoder codes"),
    "hybrid-kde": ("had_pyod.hybrid:HybridKDE", "KDE on pretrained Deep SAD autoencoder codes"),
    "hybrid-ssad": ("had_pyod.hybrid:HybridSSAD", "SSAD on pretrained Deep SAD autoencoder codes (semi-supervised)"),
}


@hookimpl
def register_detectors(register):
    for name, (target, summary) in DETECTORS.items():
        register(name, target, summary=summary)
