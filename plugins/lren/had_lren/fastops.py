"""Dense layers for LREN's training on the CPU, with every GEMM through oneDNN.

Why: on CPUs where MKL takes its AVX2 path (AMD), ``torch.addmm`` in float32 runs at about half the speed of
oneDNN's AVX-512 kernels, and ``torch.tanh`` is several times slower than oneDNN's fused tanh. LREN's training
is a thousand epochs of a ``B -> 400 -> 9 -> 400 -> B`` autoencoder, nearly all of it in four GEMMs per batch,
so this roughly halves the fit time on such machines.

:func:`linear` and :func:`linear_tanh` are autograd functions computing exactly ``x W^T + b`` (and its tanh)
with ``torch.ops.mkldnn._linear_pointwise`` for the forward GEMM and the two backward GEMMs, laid out so that
no large operand is transposed in memory (the transposed copy of the narrower operand is made instead; the
first layer may pass the transposed input ``xt`` once for the whole training). Where that op is missing (other
torch builds, GPUs, float64) :func:`usable` is False and the network runs the plain ``nn.Linear`` path; the
two paths agree to float32 rounding (tested).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_OK: bool | None = None


def _lp(x, w, b, attr="none"):
    return torch.ops.mkldnn._linear_pointwise(x, w, b, attr, [], "")


def available() -> bool:
    """Whether oneDNN's pointwise linear works here (checked once on a tiny problem)."""
    global _OK
    if _OK is None:
        try:
            if not (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")):
                raise RuntimeError("no mkldnn")
            g = torch.Generator().manual_seed(0)
            x, w, b = torch.randn(5, 3, generator=g), torch.randn(4, 3, generator=g), torch.randn(4, generator=g)
            ok = torch.allclose(_lp(x, w, b), F.linear(x, w, b), atol=1e-5)
            ok &= torch.allclose(_lp(x, w, b, "tanh"), torch.tanh(F.linear(x, w, b)), atol=1e-5)
            y = torch.randn(5, 4, generator=g)
            ok &= torch.allclose(_weight_grad(x, y, None), y.t() @ x, atol=1e-5)
            ok &= torch.allclose(_weight_grad(x, y.t()[:1].t().contiguous(), None), y.t()[:1] @ x, atol=1e-5)
            _OK = bool(ok)
        except Exception:
            _OK = False
    return _OK


def usable(x: torch.Tensor) -> bool:
    """The fast path applies: float32 CPU tensors and oneDNN available."""
    return x.device.type == "cpu" and x.dtype == torch.float32 and available()


def _weight_grad(x: torch.Tensor, g: torch.Tensor, xt: torch.Tensor | None) -> torch.Tensor:
    """``g^T x`` ``(out, in)`` without transposing the wider of the two operands in memory."""
    if xt is not None or x.shape[1] <= g.shape[1]:
        xt = x.t().contiguous() if xt is None else xt
        return _lp(xt, g.t(), None).t()  # (in, out) = x^T g
    return _lp(g.t().contiguous(), x.t(), None)  # (out, in) = g^T x


class _Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, xt, tanh):
        y = _lp(x, weight, bias, "tanh" if tanh else "none")
        ctx.tanh = tanh
        ctx.save_for_backward(x, weight, xt if xt is not None else torch.empty(0), y if tanh else torch.empty(0))
        ctx.has_xt = xt is not None
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight, xt, y = ctx.saved_tensors
        grad = grad.contiguous()
        if ctx.tanh:
            grad = torch.ops.aten.tanh_backward(grad, y)
        grad_x = _lp(grad, weight.t(), None) if ctx.needs_input_grad[0] else None
        grad_w = _weight_grad(x, grad, xt if ctx.has_xt else None) if ctx.needs_input_grad[1] else None
        grad_b = grad.sum(dim=0) if ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b, None, None


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, xt: torch.Tensor | None = None) -> torch.Tensor:
    """``x @ weight.T + bias``; `xt` optionally ``x.T`` contiguous (saves a transpose in the backward pass)."""
    return _Linear.apply(x, weight, bias, xt, False)


def linear_tanh(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                xt: torch.Tensor | None = None) -> torch.Tensor:
    """``tanh(x @ weight.T + bias)`` with the tanh fused into the GEMM."""
    return _Linear.apply(x, weight, bias, xt, True)
