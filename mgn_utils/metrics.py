"""Metrics for transport maps and samples. Cost ``‖x−y‖²`` (not halved) unless stated."""
from __future__ import annotations

import numpy as np
import ot
import torch

__all__ = ["l2_uvp", "exact_w2", "barycentric_projection", "transport_cost"]


def _values(T, x):
    """``T`` may be a callable ``(n, d) -> (n, d)`` or a precomputed ``(n, d)`` tensor."""
    if callable(T):
        with torch.no_grad():
            return T(x)
    return T


def l2_uvp(T_hat, T_star, x: torch.Tensor, target_var: float) -> float:
    """L2 unexplained variance percentage (Korotin et al., 2021), in percent.

    ``100 · E_x ‖T̂(x) − T*(x)‖² / Var(Q)`` where ``Var(Q) = E‖y − E y‖² = tr Cov(Q)`` is the
    target's total variance. ``T_hat``, ``T_star``: callables or ``(n, d)`` tensors of values at
    ``x`` ``(n, d)``. 0 is perfect; the constant map ``E y`` scores 100.
    """
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d), got {tuple(x.shape)}")
    if not target_var > 0:
        raise ValueError(f"target_var must be positive (the trace of the target covariance), got {target_var}")
    a, b = _values(T_hat, x), _values(T_star, x)
    if a.shape != x.shape or b.shape != x.shape:
        raise ValueError(f"maps must give values of shape {tuple(x.shape)}, got {tuple(a.shape)} and {tuple(b.shape)}")
    return float(100 * ((a - b) ** 2).sum(1).mean() / target_var)


def _np(x):
    return x.detach().cpu().double().numpy() if torch.is_tensor(x) else np.asarray(x, dtype=np.float64)


def exact_w2(x, y, squared: bool = False) -> float:
    """Exact ``W2`` (or ``W2²``) between two uniform empirical measures ``(n, d)``, ``(m, d)``.

    Solved as a linear program with POT's ``ot.emd2`` on the cost ``‖x−y‖²``. Cost grows about
    as ``n^2.4``: keep ``n`` to a few thousand.
    """
    xs, ys = _np(x), _np(y)
    if xs.ndim != 2 or ys.ndim != 2 or xs.shape[1] != ys.shape[1]:
        raise ValueError(f"x and y must have shapes (n, d) and (m, d), got {xs.shape} and {ys.shape}")
    w2sq = float(ot.emd2(np.full(len(xs), 1 / len(xs)), np.full(len(ys), 1 / len(ys)),
                         ot.dist(xs, ys, metric="sqeuclidean"), numItermax=10**7))
    return w2sq if squared else float(np.sqrt(max(w2sq, 0.0)))


def barycentric_projection(x, y) -> torch.Tensor:
    """Barycentric projection of the exact OT plan from ``x`` ``(n, d)`` to ``y`` ``(m, d)``.

    ``T(x_i) = Σ_j π_ij y_j / a_i`` with ``π`` from ``ot.emd`` (uniform weights, cost
    ``‖x−y‖²``). For ``n = m`` the plan is a permutation and this is the matched point.
    Returns a float64 tensor ``(n, d)``.
    """
    xs, ys = _np(x), _np(y)
    if xs.ndim != 2 or ys.ndim != 2 or xs.shape[1] != ys.shape[1]:
        raise ValueError(f"x and y must have shapes (n, d) and (m, d), got {xs.shape} and {ys.shape}")
    a = np.full(len(xs), 1 / len(xs))
    plan = ot.emd(a, np.full(len(ys), 1 / len(ys)), ot.dist(xs, ys, metric="sqeuclidean"), numItermax=10**7)
    return torch.from_numpy(plan @ ys / a[:, None])


def transport_cost(T, x: torch.Tensor) -> float:
    """``E_x ‖T(x) − x‖²`` (cost ``‖x−y‖²``, not halved). ``T``: callable or ``(n, d)`` values."""
    y = _values(T, x)
    if y.shape != x.shape:
        raise ValueError(f"T(x) must have shape {tuple(x.shape)}, got {tuple(y.shape)}")
    return float(((y - x) ** 2).sum(1).mean())
