"""Global RX (Reed-Xiaoli): the Mahalanobis distance of each pixel (or row) to the background statistics.

Fit computes the mean and covariance in float64 and, from the eigendecomposition ``C = V diag(l) V^T``, the
whitening matrix ``W = V[:, keep] diag(l[keep] ** -1/2)``; the score is ``||(x - mu) W||^2``. Scoring in the
whitening form keeps float32 error small on ill-conditioned scene covariances (cond 1e6 to 1e8), where a
float32 inverse covariance loses three orders of magnitude (docs/architecture.md). The ONNX export
(:meth:`RX.export_onnx`) is this same formula with float32 constants.

Eigenvalue floor: directions with ``l < eig_floor * max(l)`` carry no measurable variance (a constant band,
rank-deficient data) and are dropped, as a pseudo-inverse does, rather than divided by ~0.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from .detector import Detector, DetectorConfig, as_pixels, like_input
from .errors import InvalidInputError


class RXConfig(DetectorConfig):
    eig_floor: float = Field(1e-10, gt=0.0, lt=1.0, description="relative eigenvalue floor; smaller directions are dropped")


class RX(Detector):
    """Global RX detector for rows and cubes."""

    name = "rx"
    Config = RXConfig
    kinds = ("tabular", "cube")
    summary = "global Reed-Xiaoli (Mahalanobis) detector, whitening form, float64 statistics"
    onnx_unsupported = None

    def _fit(self, X, y):
        P = as_pixels(X).astype(np.float64)
        if P.shape[0] < 2:
            raise InvalidInputError("RX needs at least 2 samples to estimate a covariance, got 1 sample")
        self.mean_ = P.mean(axis=0)
        centred = P - self.mean_
        cov = centred.T @ centred / (P.shape[0] - 1)
        eigval, eigvec = np.linalg.eigh(cov)
        top = max(float(eigval[-1]), np.finfo(np.float64).tiny)
        keep = eigval >= self.config.eig_floor * top
        self.whitening_ = eigvec[:, keep] / np.sqrt(eigval[keep])
        return like_input(self._rows(P), X)

    def _rows(self, P: np.ndarray) -> np.ndarray:
        z = (P.astype(np.float64) - self.mean_) @ self.whitening_
        return np.einsum("ij,ij->i", z, z)

    def _score(self, X):
        return like_input(self._rows(as_pixels(X)), X)

    def export_onnx(self) -> bytes:
        """The ONNX graph ``ReduceSum((x - mean) @ W * ((x - mean) @ W), axis=-1)``, built with onnx.helper.

        Mean and whitening are float32 constants; the whitening form keeps the float32 error near 1e-6
        relative on real scenes (see :mod:`had.onnx_export` for the contract and the check).
        """
        from onnx import helper

        from .onnx_export import pixelwise_model

        self._require_fitted()
        nodes = [
            helper.make_node("Sub", ["x", "mean"], ["centred"]),
            helper.make_node("MatMul", ["centred", "whitening"], ["whitened"]),
            helper.make_node("Mul", ["whitened", "whitened"], ["squared"]),
            helper.make_node("ReduceSum", ["squared", "last_axis"], ["rx"], keepdims=0),
        ]
        constants = {
            "mean": self.mean_.astype(np.float32),
            "whitening": self.whitening_.astype(np.float32),
            "last_axis": np.array([-1], dtype=np.int64),
        }
        return pixelwise_model(self, nodes, constants, "rx")

    def _get_state(self):
        return {"mean": self.mean_, "whitening": self.whitening_}

    def _set_state(self, state):
        self.mean_, self.whitening_ = state["mean"], state["whitening"]
