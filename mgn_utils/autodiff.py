"""Reference derivatives by automatic differentiation (``torch.func``).

These are the slow, obviously-correct routes that the closed forms in
:mod:`mgn_utils.models` are tested against. Maps take batch-first row vectors:
``f: (B, d) -> (B, d)``; potentials ``phi: (B, d) -> (B,)``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import hessian as _hessian
from torch.func import jacrev, vmap

__all__ = ["jacobian", "hessian", "logdet_jacobian", "line_integral_potential"]


def _check_batch(x: torch.Tensor) -> None:
    if not torch.is_tensor(x) or x.ndim != 2:
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"expected x of shape (B, d) (batch-first row vectors), got {shape}")


def jacobian(f, x: torch.Tensor) -> torch.Tensor:
    """Jacobian of a batched map by ``vmap(jacrev)``: ``(B, d) -> (B, d_out, d)``.

    ``f`` must treat rows independently (no batch norm). Entry ``[b, i, j]`` is
    ``∂f_i/∂x_j`` at ``x[b]``. Gradients flow to ``f``'s parameters (usable in a loss).
    """
    _check_batch(x)
    return vmap(jacrev(lambda xi: f(xi.unsqueeze(0)).squeeze(0)))(x)


def hessian(phi, x: torch.Tensor) -> torch.Tensor:
    """Hessian of a batched scalar potential ``phi: (B, d) -> (B,)``: returns ``(B, d, d)``."""
    _check_batch(x)
    return vmap(_hessian(lambda xi: phi(xi.unsqueeze(0)).squeeze(0)))(x)


def logdet_jacobian(f, x: torch.Tensor) -> torch.Tensor:
    """``log |det J_f(x)|`` by autograd Jacobian + ``torch.linalg.slogdet``: ``(B, d) -> (B,)``.

    Raises ``ValueError`` if a determinant is negative (then ``f`` is not monotone there).
    Large matrices (``d >= 128``) are factorised one sample at a time on the CPU: batched LU
    of such matrices can hang with several threads (seen with torch's CPU LAPACK on 2 cores).
    """
    J = jacobian(f, x)
    if J.device.type == "cpu" and J.shape[-1] >= 128 and torch.get_num_threads() > 1:
        sign, logabs = map(torch.stack, zip(*[torch.linalg.slogdet(Ji) for Ji in J]))
    else:
        sign, logabs = torch.linalg.slogdet(J)
    if bool((sign < 0).any()):
        raise ValueError(
            "the Jacobian has a negative determinant at some inputs: the map is not monotone"
        )
    return logabs


def line_integral_potential(
    T, x: torch.Tensor, n_nodes: int = 32, x0: torch.Tensor | None = None
) -> torch.Tensor:
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
        raise ValueError(
            f"expected x0 of shape ({d},), got {tuple(x0.shape) if torch.is_tensor(x0) else x0!r}"
        )
    nodes, weights = np.polynomial.legendre.leggauss(int(n_nodes))  # on [-1, 1]
    t = torch.as_tensor((nodes + 1) / 2, dtype=x.dtype, device=x.device)  # on [0, 1]
    w = torch.as_tensor(weights / 2, dtype=x.dtype, device=x.device)
    step = x - x0  # (B, d)
    pts = x0 + t[:, None, None] * step[None]  # (n, B, d)
    Tp = T(pts.reshape(-1, d)).reshape(len(t), B, d)
    return torch.einsum("n,nbd,bd->b", w, Tp, step)
