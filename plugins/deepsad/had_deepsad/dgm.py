"""SemiDGM's networks and bounds: Kingma et al. (NIPS 2014) M1 (a VAE) and M2 (a generative semi-supervised model),
as the Deep SAD reference runs them as a baseline (lukasruff/Deep-SAD-PyTorch ``networks/vae.py``, ``dgm.py``,
``optim/variational.py``, after wohlert/semi-supervised-pytorch).

* :class:`GaussianEncoder`: ReLU Linear layers, then ``mu`` and ``log_var = softplus(.)`` (the reference's
  ``GaussianSample``: the variance is at least 1) and a reparametrised sample.
* :class:`BernoulliDecoder`: ReLU Linear layers, then a Linear and a sigmoid (a Bernoulli mean per input).
* :class:`VAE` (M1): ``encoder(x) -> z -> decoder(z)``; its :meth:`VAE.elbo` is the per-sample bound.
* :class:`M2`: ``q(z | x, y)``, ``p(x | z, y)`` and the classifier ``q(y | x)`` (a ReLU layer of
  ``hidden[0]`` units, or the Deep SAD LeNet for 1x28x28 / 3x32x32 images); with ``features`` (a trained M1) it is
  the stacked M1+M2 model: M2 sees a sample of M1's code, the classifier M1's mean code, the decoder still
  reconstructs the input. Every Linear layer is Xavier-normal initialised with zero biases, as the reference
  (whose M1+M2 replaces the reconstruction layer afterwards, which keeps PyTorch's default initialisation).
* :func:`m2_loss`: the reference's ``J_alpha = L - alpha * mean log q(y|x) + U`` over a batch: ``L`` the negative
  bound of the labelled rows, ``U`` that of the unlabelled rows summed over both classes under ``q(y|x)`` minus
  its entropy; the labelled terms are skipped when a batch has fewer than 2 labelled rows (the reference).

Classes: 0 normal, 1 anomaly; the score is ``q(y = 1 | x)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .networks import IMAGE_NETS

LOG_EPS = 1e-8
N_CLASSES = 2


def bernoulli_log_likelihood(mean: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``sum_j x_j log m_j + (1 - x_j) log(1 - m_j)`` per row (eps 1e-8 inside the logs, as the reference)."""
    return torch.sum(x * torch.log(mean + LOG_EPS) + (1 - x) * torch.log(1 - mean + LOG_EPS), dim=-1)


def log_gaussian(z: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    return torch.sum(-0.5 * math.log(2 * math.pi) - log_var / 2 - (z - mu) ** 2 / (2 * torch.exp(log_var)), dim=-1)


def log_standard_gaussian(z: torch.Tensor) -> torch.Tensor:
    return torch.sum(-0.5 * math.log(2 * math.pi) - z ** 2 / 2, dim=-1)


def _dense(sizes: list[int]) -> nn.ModuleList:
    return nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))


class GaussianEncoder(nn.Module):
    """``x -> ReLU(Linear)... -> (z, mu, log_var)`` with ``log_var = softplus(Linear)``."""

    def __init__(self, n_in: int, hidden: list[int], z_dim: int):
        super().__init__()
        self.hidden = _dense([n_in, *hidden])
        self.mu = nn.Linear(hidden[-1], z_dim)
        self.log_var = nn.Linear(hidden[-1], z_dim)

    def moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for layer in self.hidden:
            x = F.relu(layer(x))
        return self.mu(x), F.softplus(self.log_var(x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, log_var = self.moments(x)
        return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu), mu, log_var


class BernoulliDecoder(nn.Module):
    """``z -> ReLU(Linear)... -> sigmoid(Linear)``."""

    def __init__(self, z_dim: int, hidden: list[int], n_out: int):
        super().__init__()
        self.hidden = _dense([z_dim, *hidden])
        self.reconstruction = nn.Linear(hidden[-1], n_out)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        for layer in self.hidden:
            z = F.relu(layer(z))
        return torch.sigmoid(self.reconstruction(z))


def _xavier(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def kl_sample(z: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """One-sample estimate ``log q(z) - log p(z)`` of KL(q || N(0, I)) per row (the reference's ``_kld``)."""
    return log_gaussian(z, mu, log_var) - log_standard_gaussian(z)


class VAE(nn.Module):
    """M1: a VAE ``[n_in, hidden..., z_dim]`` with a mirrored Bernoulli decoder."""

    def __init__(self, n_in: int, hidden: list[int], z_dim: int):
        super().__init__()
        self.z_dim = z_dim
        self.encoder = GaussianEncoder(n_in, hidden, z_dim)
        self.decoder = BernoulliDecoder(z_dim, list(reversed(hidden)), n_in)
        _xavier(self)

    def elbo(self, x: torch.Tensor) -> torch.Tensor:
        """Per-row evidence lower bound ``log p(x | z) - KL`` (one sample)."""
        z, mu, log_var = self.encoder(x)
        return bernoulli_log_likelihood(self.decoder(z), x) - kl_sample(z, mu, log_var)


class DenseClassifier(nn.Module):
    """``q(y | x)``: one ReLU layer, then class probabilities."""

    def __init__(self, n_in: int, hidden: int):
        super().__init__()
        self.dense = nn.Linear(n_in, hidden)
        self.logits = nn.Linear(hidden, N_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.logits(F.relu(self.dense(x))), dim=-1)


class LeNetClassifier(nn.Module):
    """``q(y | x)`` on images: the Deep SAD LeNet of `net` (rows reshaped to the image), then probabilities."""

    def __init__(self, net: str):
        super().__init__()
        self.shape, encoder, _ = IMAGE_NETS[net]
        self.net = encoder()
        self.logits = nn.Linear(self.net.rep_dim, N_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.logits(self.net(x.reshape(x.shape[0], *self.shape))), dim=-1)


class M2(nn.Module):
    """Kingma et al.'s M2 ``[n_in, 2, z_dim, hidden]``; with `features` (an M1 :class:`VAE`) the M1+M2 model."""

    def __init__(self, n_in: int, hidden: list[int], z_dim: int, lenet: str | None = None,
                 features: VAE | None = None):
        super().__init__()
        m2_in = features.z_dim if features is not None else n_in
        self.encoder = GaussianEncoder(m2_in + N_CLASSES, hidden, z_dim)
        self.decoder = BernoulliDecoder(z_dim + N_CLASSES, list(reversed(hidden)), m2_in)
        self.classifier = LeNetClassifier(lenet) if lenet and features is None else DenseClassifier(m2_in, hidden[0])
        _xavier(self)
        self.features = features
        if features is not None:  # frozen M1; the decoder reconstructs the input itself (default init, as the reference)
            self.decoder.reconstruction = nn.Linear(self.decoder.reconstruction.in_features, n_in)
            features.requires_grad_(False)
            features.eval()

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """``q(y | x)``, ``(n, 2)`` (M1+M2: from M1's mean code; no sampling, so it is what ONNX exports)."""
        if self.features is not None:
            x = self.features.encoder.moments(x)[0]
        return self.classifier(x)

    def elbo(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-row bound ``log p(x | y, z) + log p(y) - KL`` with `y` one-hot (one sample; uniform p(y))."""
        m2_in = self.features.encoder(x)[0] if self.features is not None else x
        z, mu, log_var = self.encoder(torch.cat((m2_in, y), dim=1))
        reconstruction = self.decoder(torch.cat((z, y), dim=1))
        return bernoulli_log_likelihood(reconstruction, x) - math.log(N_CLASSES) - kl_sample(z, mu, log_var)


def m2_loss(model: M2, x: torch.Tensor, classes: torch.Tensor, alpha: float) -> torch.Tensor:
    """``J_alpha`` of a batch: rows with ``classes`` 0 (normal) / 1 (anomaly) are labelled, -1 unlabelled."""
    labelled = classes >= 0
    loss = x.new_zeros(())
    if int(labelled.sum()) >= 2:
        x_l = x[labelled]
        y_l = F.one_hot(classes[labelled].long(), N_CLASSES).to(x.dtype)
        probs = model.classify(x_l)
        loss = loss - model.elbo(x_l, y_l).mean() - alpha * torch.sum(y_l * torch.log(probs + LOG_EPS), dim=1).mean()
    u = x[~labelled]
    if u.shape[0]:
        n = u.shape[0]
        ys = torch.eye(N_CLASSES, dtype=x.dtype, device=x.device).repeat_interleave(n, dim=0)
        bound = model.elbo(u.repeat(N_CLASSES, *[1] * (u.dim() - 1)), ys).view(N_CLASSES, n).t()
        q = model.classify(u)
        entropy = -torch.sum(q * torch.log(q + LOG_EPS), dim=-1)
        loss = loss - torch.mean(torch.sum(q * bound, dim=-1) + entropy)
    return loss
