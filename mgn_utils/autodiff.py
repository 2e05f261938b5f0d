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

from ._validation import check_callable, check_int, check_points

__all__ = ["jacobian", "hessian", "logdet_jacobian", "line_integral_potential"]


def _check_inputs(f, x, fname: str = "f") -> None:
    """``f`` callable and ``x`` a floating tensor of shape ``(B, d)`` (the public entry check)."""
    check_callable(f, fname)
    check_points(x, "x")
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating tensor (autograd needs one), got dtype {x.dtype}")


def _row(f, xi: torch.Tensor, fname: str, want: str, ndim: int) -> torch.Tensor:
    """``f`` on one row ``xi`` (as a batch of one), checking that it keeps the batch axis."""
    out = f(xi.unsqueeze(0))
    if not torch.is_tensor(out) or out.ndim != ndim or out.shape[0] != 1:
        got = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise ValueError(f"{fname} must map (B, d) to {want}, got {got} for a batch of one")
    return out.squeeze(0)


def jacobian(f, x: torch.Tensor) -> torch.Tensor:
    """Jacobian of a batched map by ``vmap(jacrev)``: ``(B, d) -> (B, d_out, d)``.

    ``f: (B, d) -> (B, d_out)`` must treat rows independently (no batch norm). Entry
    ``[b, i, j]`` is ``∂f_i/∂x_j`` at ``x[b]``. Gradients flow to ``f``'s parameters (usable in
    a loss).

    Raises
    ------
    TypeError
        When ``f`` is not callable or ``x`` is not a tensor.
    ValueError
        When ``x`` is not a floating ``(B, d)`` tensor or ``f`` does not return ``(B, d_out)``.
    """
    _check_inputs(f, x)
    return vmap(jacrev(lambda xi: _row(f, xi, "f", "(B, d_out)", 2)))(x)


def hessian(phi, x: torch.Tensor) -> torch.Tensor:
    """Hessian of a batched scalar potential ``phi: (B, d) -> (B,)``: returns ``(B, d, d)``.

    Raises ``TypeError``/``ValueError`` as :func:`jacobian` does, and ``ValueError`` when
    ``phi`` does not return one scalar per row ``(B,)``.
    """
    _check_inputs(phi, x, "phi")
    return vmap(_hessian(lambda xi: _row(phi, xi, "phi", "(B,) (one scalar per row)", 1)))(x)


def logdet_jacobian(f, x: torch.Tensor) -> torch.Tensor:
    """``log |det J_f(x)|`` by autograd Jacobian + ``torch.linalg.slogdet``: ``(B, d) -> (B,)``.

    Raises ``ValueError`` if a determinant is negative (then ``f`` is not monotone there).
    Large matrices (``d >= 128``) are factorised one sample at a time on the CPU: batched LU
    of such matrices can hang with several threads (seen with torch's CPU LAPACK on 2 cores).
    """
    J = jacobian(f, x)
    if J.shape[-1] != J.shape[-2]:
        raise ValueError(
            f"f must map (B, d) to (B, d) (a square Jacobian), got a Jacobian of shape "
            f"{tuple(J.shape)}"
        )
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
    _check_inputs(T, x, "T")
    n_nodes = check_int(n_nodes, "n_nodes")
    B, d = x.shape
    if x0 is None:
        x0 = torch.zeros(d, dtype=x.dtype, device=x.device)
    elif not torch.is_tensor(x0) or x0.shape != (d,):
        raise ValueError(
            f"expected x0 of shape ({d},), got {tuple(x0.shape) if torch.is_tensor(x0) else x0!r}"
        )
    return _line_integral(T, x, n_nodes, x0)


def _line_integral(T, x: torch.Tensor, n_nodes: int, x0: torch.Tensor) -> torch.Tensor:
    """The kernel of :func:`line_integral_potential` (checked input: ``x`` ``(B, d)``, ``x0``
    ``(d,)``, ``n_nodes >= 1``)."""
    B, d = x.shape
    nodes, weights = np.polynomial.legendre.leggauss(int(n_nodes))  # on [-1, 1]
    t = torch.as_tensor((nodes + 1) / 2, dtype=x.dtype, device=x.device)  # on [0, 1]
    w = torch.as_tensor(weights / 2, dtype=x.dtype, device=x.device)
    step = x - x0  # (B, d)
    pts = x0 + t[:, None, None] * step[None]  # (n, B, d)
    Tp = T(pts.reshape(-1, d)).reshape(len(t), B, d)
    return torch.einsum("n,nbd,bd->b", w, Tp, step)
