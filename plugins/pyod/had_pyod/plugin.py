"""Entry point of the `had` plugin: registers every detector by "module:Class" string (imports nothing heavy)."""

from __future__ import annotations

from had import hookimpl

PLUGIN_API = 1  # the had plugin API this plugin is written for (had.plugin_api)

ROWS = "; artifact holds the training rows (needed to score)"
NETWORK = "; ONNX; artifact holds the trained network (loaded without training)"
STATE = "; ONNX; artifact holds the fitted arrays, not the training rows"
DETECTORS = {
    "pyod-ocsvm": ("had_pyod.models:PyODOCSVM", "PyOD OCSVM (RBF, nu 0.1), gamma by the median heuristic; ONNX; "
                                                "artifact holds the support vectors (a subset of the training rows)"),
    "pyod-iforest": ("had_pyod.models:PyODIForest", "PyOD IForest (100 trees, 256 samples per tree)" + STATE),
    "pyod-kde": ("had_pyod.models:PyODKDE", "PyOD KDE (Gaussian), bandwidth by log-likelihood grid search; ONNX"
                                            + ROWS + ", in the ONNX graph too"),
    "pyod-knn": ("had_pyod.models:PyODKNN", "PyOD KNN (distance to the k-th neighbour); ONNX" + ROWS
                                            + ", in the ONNX graph too"),
    "pyod-ecod": ("had_pyod.models:PyODECOD", "PyOD ECOD (empirical CDF tails; no hyper-parameters), each row scored "
                                              "alone; artifact holds each feature's training values, sorted"),
    "pyod-pca": ("had_pyod.models:PyODPCA", "PyOD PCA (weighted distance in the principal components)" + STATE),
    "pyod-gmm": ("had_pyod.models:PyODGMM", "PyOD GMM (negative log-likelihood under a Gaussian mixture)" + STATE),
    "pyod-autoencoder": ("had_pyod.models:PyODAutoEncoder", "PyOD AutoEncoder (reconstruction error; extra [deep])"
                                                            + NETWORK),
    "pyod-deepsvdd": ("had_pyod.models:PyODDeepSVDD", "PyOD DeepSVDD (one-class, PyOD's network; extra [deep])"
                                                      + NETWORK),
    "ssad": ("had_pyod.ssad:SSAD", "SSAD (Görnitz et al. 2013): semi-supervised OC-SVM, own dual QP (OSQP); "
                                   "artifact holds the support vectors and dual coefficients"),
    "hybrid-ocsvm": ("had_pyod.hybrid:HybridOCSVM", "OC-SVM on pretrained Deep SAD autoencoder codes (extra [hybrids]); "
                                                    "ONNX: encoder and SVM in one graph"),
    "hybrid-iforest": ("had_pyod.hybrid:HybridIForest", "Isolation Forest on pretrained Deep SAD autoencoder codes "
                                                        "(extra [hybrids]); ONNX: encoder and forest in one graph"),
    "hybrid-kde": ("had_pyod.hybrid:HybridKDE", "KDE on pretrained Deep SAD autoencoder codes (extra [hybrids]); "
                                                "artifact holds the training codes"),
    "hybrid-ssad": ("had_pyod.hybrid:HybridSSAD", "SSAD on pretrained Deep SAD autoencoder codes (semi-supervised, "
                                                  "extra [hybrids])"),
}


@hookimpl
def register_detectors(register):
    for name, (target, summary) in DETECTORS.items():
        register(name, target, summary=summary)
