"""Metrics for transport maps and samples. Cost ``‖x−y‖²`` (not halved) unless stated.

Introduced in Chapter 4 (exact ``W2`` as the reference of every loss) and used in the later
chapters; :func:`l2_uvp` is the score of the Wasserstein-2 benchmark (Chapters 5 and 9).
"""

from __future__ import annotations

import numpy as np
import ot
import torch

from ._validation import as_array, check_finite, check_float

__all__ = ["barycentric_projection", "exact_w2", "l2_uvp", "transport_cost"]


def _points(x, name: str, d: int | None = None, like: torch.Tensor | None = None):
    """Points ``(n, d)`` as a finite floating tensor (numpy arrays and lists accepted)."""
    if not torch.is_tensor(x) and not isinstance(x, (np.ndarray, list, tuple)):
        raise TypeError(f"{name} must be a tensor or array of shape (n, d), got {type(x).__name__}")
    x = as_array(x, name, like=like, finite=False)
    if x.ndim != 2 or x.shape[0] < 1 or (d is not None and x.shape[1] != d):
        want = f"(n, {'d' if d is None else d})"
        raise ValueError(f"{name} must have shape {want}, got {tuple(x.shape)}")
    check_finite(x, name)
    return x


def _values(T, x, name):
    """``T`` may be a callable ``(n, d) -> (n, d)`` or precomputed values (tensor or array)."""
    if callable(T):
        with torch.no_grad():
            v = T(x)
    else:
        v = T
    if not torch.is_tensor(v) and not isinstance(v, (np.ndarray, list, tuple)):
        raise TypeError(f"{name} must be a callable or an (n, d) array, got {type(v).__name__}")
    v = as_array(v, name, like=x, finite=False)
    if v.shape != x.shape:
        raise ValueError(f"{name} must give values of shape {tuple(x.shape)}, got {tuple(v.shape)}")
    check_finite(v, name)
    return v.to(dtype=torch.promote_types(v.dtype, x.dtype), device=x.device)


def l2_uvp(T_hat, T_star, x, target_var) -> float:
    """L2 unexplained variance percentage (Korotin et al., 2021), in percent.

    ``100 · E_x ‖T̂(x) − T*(x)‖² / Var(Q)`` where ``Var(Q) = E‖y − E y‖² = tr Cov(Q)`` is the
    target's total variance. 0 is perfect; the constant map ``E y`` scores 100. Introduced in
    Chapter 5 (the Wasserstein-2 benchmark).

    Parameters
    ----------
    T_hat, T_star : callable ``(n, d) -> (n, d)``, or tensor / array-like of shape (n, d)
        The fitted and the true map, or their values at ``x``.
    x : tensor or array-like, shape (n, d)
        Evaluation points, finite (arrays become tensors of the default dtype).
    target_var : float, or one-element tensor / array
        ``tr Cov(Q) > 0``.

    Returns
    -------
    float
        The score in percent.

    Raises
    ------
    TypeError
        For arguments of the wrong kind.
    ValueError
        For shapes that do not match ``x``, non-finite values or ``target_var <= 0``.
    """
    x = _points(x, "x")
    try:
        target_var = check_float(target_var, "target_var", positive=True)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{e} (the trace of the target covariance)") from None
    a, b = _values(T_hat, x, "T_hat"), _values(T_star, x, "T_star")
    return float(100 * ((a - b) ** 2).sum(1).mean() / target_var)


def _np(x, name):
    """``x`` as a finite float64 numpy array (tensors, numpy arrays and lists accepted)."""
    if not torch.is_tensor(x) and not isinstance(x, (np.ndarray, list, tuple)):
        raise TypeError(f"{name} must be a tensor or array of shape (n, d), got {type(x).__name__}")
    return as_array(x, name).detach().cpu().double().numpy()


def _pair(x, y):
    xs, ys = _np(x, "x"), _np(y, "y")
    if xs.ndim != 2 or ys.ndim != 2 or xs.shape[1] != ys.shape[1] or not len(xs) or not len(ys):
        raise ValueError(
            f"x and y must have shapes (n, d) and (m, d), n, m >= 1, got {xs.shape} and {ys.shape}"
        )
    return xs, ys


def exact_w2(x, y, squared: bool = False) -> float:
    """Exact ``W2`` (or ``W2²``) between two uniform empirical measures, cost ``‖x−y‖²``.

    Solved as a linear program with POT's ``ot.emd2``; its time grows faster than ``n²``
    (Chapter 1 fits the exponent): keep ``n`` to a few thousand. Introduced in Chapter 4.

    Parameters
    ----------
    x, y : tensor or array-like, shapes (n, d) and (m, d)
        The two samples, finite (computed in float64).
    squared : bool
        Return ``W2²`` instead of ``W2``.

    Returns
    -------
    float
        ``W2`` (distance units) or ``W2²`` (squared units).

    Raises
    ------
    TypeError
        For objects that are not arrays of real numbers.
    ValueError
        For bad shapes or non-finite values.
    """
    xs, ys = _pair(x, y)
    w2sq = float(
        ot.emd2(
            np.full(len(xs), 1 / len(xs)),
            np.full(len(ys), 1 / len(ys)),
            ot.dist(xs, ys, metric="sqeuclidean"),
            numItermax=10**7,
        )
    )
    return w2sq if squared else float(np.sqrt(max(w2sq, 0.0)))


def barycentric_projection(x, y) -> torch.Tensor:
    """Barycentric projection of the exact OT plan from ``x`` ``(n, d)`` to ``y`` ``(m, d)``.

    ``T(x_i) = Σ_j π_ij y_j / a_i`` with ``π`` from ``ot.emd`` (uniform weights, cost
    ``‖x−y‖²``). For ``n = m`` the plan is a permutation and this is the matched point.
    Introduced in Chapter 4.

    Parameters
    ----------
    x, y : tensor or array-like, shapes (n, d) and (m, d)
        The two samples, finite.

    Returns
    -------
    torch.Tensor
        Float64 tensor ``(n, d)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`exact_w2`.
    """
    xs, ys = _pair(x, y)
    a = np.full(len(xs), 1 / len(xs))
    plan = ot.emd(
        a, np.full(len(ys), 1 / len(ys)), ot.dist(xs, ys, metric="sqeuclidean"), numItermax=10**7
    )
    return torch.from_numpy(plan @ ys / a[:, None])


def transport_cost(T, x) -> float:
    """``E_x ‖T(x) − x‖²`` (cost ``‖x−y‖²``, not halved); introduced in Chapter 4.

    Parameters
    ----------
    T : callable ``(n, d) -> (n, d)``, or tensor / array-like of shape (n, d)
        The map, or its values at ``x``.
    x : tensor or array-like, shape (n, d)
        Points, finite.

    Returns
    -------
    float
        The mean squared displacement.

    Raises
    ------
    TypeError, ValueError
        For bad kinds, shapes that differ from ``x``'s, or non-finite values.
    """
    x = _points(x, "x")
    y = _values(T, x, "T(x)")
    return float(((y - x) ** 2).sum(1).mean())
