"""Reference derivatives by automatic differentiation (``torch.func``).

These are the slow, obviously-correct routes that the closed forms in
:mod:`mgn_utils.models` are tested against. Maps take batch-first row vectors:
``f: (B, d) -> (B, d)``; potentials ``phi: (B, d) -> (B,)``.
"""
from __future__ import annotations

import torch
from torch.func import hessian as _hessian, jacrev, vmap

__all__ = ["jacobian", "hessian", "logdet_jacobian"]


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
    of such matrices can hang with several threads (PITFALLS 1).
    """
    J = jacobian(f, x)
    if J.device.type == "cpu" and J.shape[-1] >= 128 and torch.get_num_threads() > 1:
        sign, logabs = map(torch.stack, zip(*[torch.linalg.slogdet(Ji) for Ji in J]))
    else:
        sign, logabs = torch.linalg.slogdet(J)
    if bool((sign < 0).any()):
        raise ValueError("the Jacobian has a negative determinant at some inputs: the map is not monotone")
    return logabs
