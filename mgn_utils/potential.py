"""Recover the potential of a gradient map by a line integral (Gauss-Legendre quadrature).

If ``T = ∇φ`` on ``R^d``, the fundamental theorem of calculus along the segment from a base
point ``x0`` to ``x`` gives

    φ(x) - φ(x0) = ∫₀¹ ⟨T(x0 + t (x - x0)), x - x0⟩ dt.

The chapter "Monotone gradient networks" (chapter 2) derives this and uses it to draw the
level sets of a C-MGN's potential, which has no closed form. The integral is computed with
``n_nodes``-point Gauss-Legendre quadrature on ``[0, 1]``: exact when ``t ↦ ⟨T(...), x - x0⟩``
is a polynomial of degree ``≤ 2 n_nodes - 1`` (e.g. affine ``T``), and converging
exponentially fast for analytic maps such as MGNs with softplus or tanh activations.

For a map that is *not* a gradient (non-symmetric Jacobian) the formula still returns a
number, but its gradient is not ``T``: checking ``∇φ ≈ T`` is a test of being a gradient.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["line_integral_potential"]


def line_integral_potential(T, x: torch.Tensor, n_nodes: int = 32, x0: torch.Tensor | None = None) -> torch.Tensor:
    """``φ(x) - φ(x0)`` for a gradient map ``T = ∇φ``: ``(B, d) -> (B,)``.

    Args:
        T: batched map ``(N, d) -> (N, d)`` (batch-first row vectors), e.g. an ``MGN``.
            It is called once, on a batch of ``n_nodes * B`` points.
        x: points of shape ``(B, d)``.
        n_nodes: number of Gauss-Legendre nodes on ``[0, 1]`` (``>= 1``).
        x0: base point of shape ``(d,)`` (default: the origin), where the returned
            potential is 0.

    Returns:
        Tensor of shape ``(B,)`` with the dtype and device of ``x``. Differentiable with
        respect to ``x`` and to ``T``'s parameters, so ``∇ₓ`` of the result can be compared
        with ``T(x)`` by autograd.
    """
    if not torch.is_tensor(x) or x.ndim != 2:
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"expected x of shape (B, d) (batch-first row vectors), got {shape}")
    if int(n_nodes) != n_nodes or n_nodes < 1:
        raise ValueError(f"n_nodes must be a positive int, got {n_nodes!r}")
    B, d = x.shape
    if x0 is None:
        x0 = torch.zeros(d, dtype=x.dtype, device=x.device)
    elif not torch.is_tensor(x0) or x0.shape != (d,):
        raise ValueError(f"expected x0 of shape ({d},), got {tuple(x0.shape) if torch.is_tensor(x0) else x0!r}")
    nodes, weights = np.polynomial.legendre.leggauss(int(n_nodes))  # on [-1, 1]
    t = torch.as_tensor((nodes + 1) / 2, dtype=x.dtype, device=x.device)  # on [0, 1]
    w = torch.as_tensor(weights / 2, dtype=x.dtype, device=x.device)
    step = x - x0  # (B, d)
    pts = x0 + t[:, None, None] * step[None]  # (n, B, d)
    Tp = T(pts.reshape(-1, d)).reshape(len(t), B, d)
    return torch.einsum("n,nbd,bd->b", w, Tp, step)
