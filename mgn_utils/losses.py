"""Training losses for transport maps ``T: (B, d) -> (B, d)`` from a source ``p`` to a target ``q``.

Conventions: batch-first row vectors; the transport cost is ``‖x−y‖²`` (not halved) unless a
docstring says otherwise; functions say whether they return ``W2`` or ``W2²``.

* :func:`moment_kl` — the seeds' "KL": fit a Gaussian to the mapped samples and take the
  closed-form KL to a Gaussian target. It only sees means and covariances.
* :func:`change_of_variables_kl` — ``E_p[−log q(T(x)) − log det J_T(x)]``, which equals
  ``KL(T#p ‖ q) + H(p)`` for an injective ``T``: the exact KL up to a constant. Needs the target
  density and ``log det J_T`` (closed form for MGNs).
* :func:`monge_ampere_residual` / :func:`monge_ampere_loss` — GradNetOT's loss: the residual of
  ``log p(x) = log q(T(x)) + log det J_T(x)``; needs both densities.
* :func:`sinkhorn_divergence` — debiased entropic OT between samples (samples only).
* :func:`sliced_w2` — sliced Wasserstein-2 between samples.
* :class:`Critic`, :func:`gradient_penalty`, :func:`critic_step` — the WGAN-GP adversarial loss.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from ._validation import (
    as_array,
    as_weights,
    check_callable,
    check_finite,
    check_float,
    check_int,
    check_unit_interval,
    in_functorch,
)
from .autodiff import logdet_jacobian as _autograd_logdet
from .models._critics import Critic  # re-exported: the critic of gradient_penalty

__all__ = [
    "Critic",
    "change_of_variables_kl",
    "critic_step",
    "entropic_ot",
    "gaussian_kl",
    "gradient_penalty",
    "moment_kl",
    "monge_ampere_loss",
    "monge_ampere_residual",
    "sinkhorn_divergence",
    "sliced_w2",
]


def _samples(x, name: str = "x", d: int | None = None, finite: bool = True) -> torch.Tensor:
    """Samples ``(n, d)`` as a floating tensor (numpy arrays and lists accepted), finite."""
    if not torch.is_tensor(x) and not isinstance(x, (np.ndarray, list, tuple)):
        raise TypeError(f"{name} must be a tensor or array of shape (n, d), got {type(x).__name__}")
    x = as_array(x, name, finite=False)
    if x.ndim != 2 or x.shape[0] < 1 or (d is not None and x.shape[1] != d):
        raise ValueError(
            f"{name} must have shape (n, {'d' if d is None else d}) (batch-first row vectors), "
            f"got {tuple(x.shape)}"
        )
    if finite:
        check_finite(x, name)
    return x


def gaussian_kl(m0, S0, m1, S1) -> torch.Tensor:
    """``KL(N(m0, S0) ‖ N(m1, S1))`` in closed form (nats); introduced in Chapter 4.

    ``½ [tr(S1⁻¹S0) + (m1−m0)ᵀS1⁻¹(m1−m0) − d + log det S1 − log det S0]``, computed with
    Cholesky factors (only the lower triangles of ``S0``, ``S1`` are read).

    Parameters
    ----------
    m0, m1 : tensor or array-like, shape (d,)
        Means.
    S0, S1 : tensor or array-like, shape (d, d)
        Symmetric positive definite covariances.

    Returns
    -------
    torch.Tensor
        Scalar KL, in the promoted floating dtype of the inputs (float64 if any is float64).

    Raises
    ------
    TypeError
        For objects that are not arrays of real numbers.
    ValueError
        For mismatched shapes, non-finite entries or a covariance that is not positive
        definite.
    """
    m0 = as_array(m0, "m0", ("d",))
    d = m0.shape[0]
    S0 = as_array(S0, "S0", (d, d))
    m1 = as_array(m1, "m1", (d,))
    S1 = as_array(S1, "S1", (d, d))
    dtype = m0.dtype
    for t in (S0, m1, S1):
        dtype = torch.promote_types(dtype, t.dtype)
    m0, S0, m1, S1 = (t.to(dtype=dtype, device=m0.device) for t in (m0, S0, m1, S1))
    L0, info0 = torch.linalg.cholesky_ex(S0)
    L1, info1 = torch.linalg.cholesky_ex(S1)
    for info, name in ((info0, "S0"), (info1, "S1")):
        if not in_functorch() and int(info) != 0:
            raise ValueError(f"{name} must be symmetric positive definite (Cholesky failed)")
    M = torch.linalg.solve_triangular(L1, L0, upper=False)  # L1⁻¹ L0: tr(S1⁻¹S0) = ‖M‖_F²
    v = torch.linalg.solve_triangular(L1, (m1 - m0).unsqueeze(-1), upper=False).squeeze(-1)
    logdet = 2 * (torch.log(torch.diagonal(L1)).sum() - torch.log(torch.diagonal(L0)).sum())
    return 0.5 * ((M**2).sum() + (v**2).sum() - d + logdet)


def moment_kl(y: torch.Tensor, target_mean: torch.Tensor, target_cov: torch.Tensor) -> torch.Tensor:
    """Moment-matching "KL": ``KL(N(mean(y), cov(y)) ‖ N(target_mean, target_cov))``.

    Introduced in Chapter 4. ``y`` is ``(n, d)`` (mapped samples ``T(x)``, ``n > d``), the
    covariance is the unbiased sample covariance; ``target_mean`` ``(d,)``, ``target_cov``
    ``(d, d)``. Zero whenever the first two moments match, whatever the distribution of ``y``
    looks like: it is not a divergence between ``T#p`` and ``q`` unless ``T#p`` is Gaussian.

    Raises
    ------
    ValueError
        For mismatched shapes, non-finite values, ``n <= d``, or a covariance that is not
        positive definite (see :func:`gaussian_kl`).
    """
    target_mean = as_array(target_mean, "target_mean", (None,))
    y = _samples(y, "y", target_mean.shape[-1])
    if y.shape[0] <= y.shape[1]:
        raise ValueError(
            f"need more samples than dimensions for a covariance, got y of shape {tuple(y.shape)}"
        )
    m = y.mean(0)
    yc = y - m
    S = yc.T @ yc / (y.shape[0] - 1)
    return gaussian_kl(m, S, target_mean, target_cov)


def _logdet(T, x):
    return T.logdet_jacobian(x) if hasattr(T, "logdet_jacobian") else _autograd_logdet(T, x)


def change_of_variables_kl(T, x: torch.Tensor, target_log_prob) -> torch.Tensor:
    """``E_x[−log q(T(x)) − log det J_T(x)]`` over the source samples ``x`` ``(n, d)``.

    Introduced in Chapter 4. For an injective ``T`` this is ``KL(T#p ‖ q) + H(p)``; the
    entropy ``H(p)`` does not depend on ``T``, so minimising it minimises the exact KL. Uses
    the closed form ``T.logdet_jacobian`` when ``T`` has one, else autograd.

    Parameters
    ----------
    T : callable ``(n, d) -> (n, d)``
        The map (an MGN or any differentiable module).
    x : tensor or array-like, shape (n, d)
        Source samples, finite.
    target_log_prob : callable ``(n, d) -> (n,)``
        Log-density of the target ``q``.

    Returns
    -------
    torch.Tensor
        Scalar, in nats.

    Raises
    ------
    ValueError
        For ``x`` not of shape ``(n, d)`` or with non-finite values.
    """
    check_callable(target_log_prob, "target_log_prob")
    x = _samples(x)
    return (-target_log_prob(T(x)) - _logdet(T, x)).mean()


def monge_ampere_residual(T, x: torch.Tensor, source_log_prob, target_log_prob) -> torch.Tensor:
    """Residual ``r(x) = log det J_T(x) − log p(x) + log q(T(x))`` for each row.

    Introduced in Chapter 4 (GradNetOT's loss). ``T = ∇φ`` solves the Monge-Ampère equation
    ``q(∇φ(x)) det ∇²φ(x) = p(x)`` exactly when ``r = 0`` on the support of ``p``.

    Parameters
    ----------
    T : callable ``(n, d) -> (n, d)``
        The map.
    x : tensor or array-like, shape (n, d)
        Points, finite.
    source_log_prob, target_log_prob : callable ``(n, d) -> (n,)``
        Log-densities of ``p`` and ``q``.

    Returns
    -------
    torch.Tensor
        ``r``, shape ``(n,)``.

    Raises
    ------
    ValueError
        For ``x`` not of shape ``(n, d)`` or with non-finite values.
    """
    check_callable(source_log_prob, "source_log_prob")
    check_callable(target_log_prob, "target_log_prob")
    x = _samples(x)
    return _logdet(T, x) - source_log_prob(x) + target_log_prob(T(x))


def monge_ampere_loss(T, x, source_log_prob, target_log_prob, p: int = 1) -> torch.Tensor:
    """Mean ``|r(x)|`` (``p=1``, GradNetOT's L1 loss) or mean ``r(x)²`` (``p=2``).

    ``r`` is :func:`monge_ampere_residual` (same arguments); returns a scalar tensor.

    Raises
    ------
    ValueError
        For ``p`` other than 1 or 2, or bad ``x`` (see :func:`monge_ampere_residual`).
    """
    if p not in (1, 2):
        raise ValueError(f"p must be 1 (L1) or 2 (L2), got {p}")
    r = monge_ampere_residual(T, x, source_log_prob, target_log_prob)
    return r.abs().mean() if p == 1 else (r**2).mean()


# ----------------------------------------------------------------------------- Sinkhorn
_GRAM_DIM = 128  # from this dimension on, squared distances use the Gram form
_MAX_LEVELS = 200  # at most this many ε-scaling steps (the ratio is enlarged to fit)
_ABSORB = 30.0  # |log u| beyond which scalings are absorbed into the potentials
_LEVEL_TOL = 1e-2  # marginal error reached on the intermediate ε-scaling levels
_LEVEL_ITER = 50  # at most this many iterations on an intermediate level
_STALL = 200  # stop when the marginal error has not reached a new low for this many iterations


def _sqdist(x, y):
    """``‖x_i − y_j‖²`` as an ``(n, m)`` matrix. Below ``_GRAM_DIM`` the exact broadcast
    difference; above it ``‖x‖² + ‖y‖² − 2 x yᵀ`` (clamped at 0), which avoids the
    ``(n, m, d)`` intermediate (200 MB for 256 MNIST images against 256) at the price of
    rounding errors of order ``1e-7 ‖x‖²`` in float32."""
    if x.shape[1] < _GRAM_DIM:
        return ((x.unsqueeze(1) - y.unsqueeze(0)) ** 2).sum(-1)
    return ((x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T).clamp_min(0)


def _softmin(eps, C, h, out=None):
    """``-ε log Σ_j exp(h_j − C_ij / ε)`` row-wise: ``C`` ``(n, m)``, ``h`` ``(m,)`` -> ``(n,)``.

    With ``out`` (an ``(n, m)`` buffer, no autograd) the work is done in place: about three
    times faster than ``torch.logsumexp``, which the differentiable path uses.
    """
    if out is None:
        return -eps * torch.logsumexp(h.unsqueeze(0) - C / eps, dim=1)
    torch.sub(h.unsqueeze(0), C, alpha=1 / eps, out=out)
    m = out.amax(1, keepdim=True)
    s = out.sub_(m).exp_().sum(1)
    return -eps * (m.squeeze(1) + s.log())


def _marginal_error(la, f_old, f_new, eps):
    """``Σ_i a_i |1 − exp((f_old_i − f_new_i)/ε)|``: the L1 error of the plan's marginal.

    For ``f_new = softmin(g)`` the plan of ``(f_old, g)`` has marginal
    ``a_i exp((f_old_i − f_new_i)/ε)``, so the error costs nothing beyond the update.
    """
    return float((la.exp() * torch.expm1((f_old - f_new) / eps).abs()).sum())


def _check_potentials(*fs):
    if not all(bool(torch.isfinite(f).all()) for f in fs):
        raise FloatingPointError(
            "Sinkhorn iteration diverged (non-finite dual potentials); eps is too small for "
            "this dtype and data scale: raise eps, rescale the data or use float64"
        )


def _kernel(C, f, g, e, out, symmetric=False):
    """``K = exp((f_i + g_j − C_ij)/e − m_i)`` in ``out``; returns ``f − e m`` (rows' max 1).

    With ``symmetric`` (``g = f``) the shift is split, ``m_i/2 + m_j/2``, so ``K`` stays
    symmetric and the returned ``f − e m/2`` is both potentials.
    """
    torch.sub(f.unsqueeze(1) + g.unsqueeze(0), C, out=out).div_(e)
    m = out.amax(1)
    if symmetric:
        m = 0.5 * m
        out.sub_(m.unsqueeze(1)).sub_(m.unsqueeze(0)).exp_()
    else:
        out.sub_(m.unsqueeze(1)).exp_()
    return f - e * m


def _scaling_loop(K, a, b, tol, n_iter, symmetric):
    """Sinkhorn in scaling form on the kernel ``K``: ``(log u, log v, err, iterations)``.

    Plain (alternating) updates ``u = 1/(K (b v))``, ``v = 1/(Kᵀ(a u))``; for a symmetric
    problem the averaged ``u ← sqrt(u / (K (a u)))``. ``err`` is the L1 error of the plan's
    marginals. Stops at ``err < tol``, after ``n_iter`` iterations, when the error stalls
    (``_STALL`` iterations without a new low) or when ``u``, ``v`` leave ``exp(±_ABSORB)``
    (the caller then absorbs them into the potentials and rebuilds ``K``).
    """
    u = torch.ones_like(a)
    v = u if symmetric else torch.ones_like(b)
    err, best, it_best, it = math.inf, math.inf, 0, 0
    for it in range(1, n_iter + 1):
        if symmetric:
            Kau = K @ (a * u)
            err = float((a * (u * Kau - 1).abs()).sum())  # u (K (a u)): the marginal over a
            u = v = (u / Kau).sqrt()
        else:
            u = 1 / (K @ (b * v))
            Ktu = K.T @ (a * u)
            err = float((b * (v * Ktu - 1).abs()).sum())  # the row marginal is now exact
            v = 1 / Ktu
        if err < best:
            best, it_best = err, it
        big = max(float(u.log().abs().max()), float(v.log().abs().max()))
        if err < tol or it - it_best >= _STALL or not big < _ABSORB:
            break
    return u.log(), v.log(), err, it


def _sinkhorn_potentials(C, la, lb, eps, n_iter, tol, scaling, symmetric):
    """Dual potentials ``(f, g, err, iterations)`` of ``OT_ε`` for a cost matrix ``C`` (no grad).

    ε-scaling from ``max C`` (the squared diameter, as GeomLoss starts) down to ``eps`` by the
    factor ``scaling`` (at most ``_MAX_LEVELS`` levels). At each level the potentials are
    absorbed in a stabilised kernel ``exp((f ⊕ g − C)/ε)`` (one pass of ``exp``) and Sinkhorn
    runs in scaling form, where an iteration is two matrix-vector products instead of two
    log-sum-exp passes: to ``max(tol, _LEVEL_TOL)`` on the intermediate levels, to ``tol`` at
    ``eps``. The two symmetric problems of the divergence (``C = Cᵀ``, ``a = b``) use the
    averaged update ``f ← ½ (f + softmin(f))``; the cross problem the alternating one, which at
    fixed ``ε`` converges faster. Stops after ``n_iter`` iterations at ``eps`` or when the
    marginal error stalls (no new low in ``_STALL`` iterations: the rounding floor).
    """
    a, b = la.exp(), lb.exp()
    f = torch.zeros(C.shape[0], dtype=C.dtype, device=C.device)
    g = torch.zeros(C.shape[1], dtype=C.dtype, device=C.device)
    K = torch.empty_like(C)
    e0 = float(C.max())
    if not math.isfinite(e0):
        raise FloatingPointError("squared distances overflow: rescale the data")
    levels = 0
    if e0 > eps:
        levels = math.ceil(math.log(eps / e0) / math.log(scaling))
        if levels > _MAX_LEVELS:
            levels, scaling = _MAX_LEVELS, (eps / e0) ** (1 / _MAX_LEVELS)
    err, it_total = math.inf, 0
    for k in range(levels + 1):  # the last level at eps itself
        last = k == levels
        e = eps if last else max(e0 * scaling**k, eps)
        level_tol = tol if last else max(tol, _LEVEL_TOL)
        budget = n_iter if last else _LEVEL_ITER
        while budget > 0:
            f = _kernel(C, f, g, e, K, symmetric)
            if symmetric:
                g = f
            lu, lv, err, it = _scaling_loop(K, a, b, level_tol, budget, symmetric)
            budget -= it
            f, g = f + e * lu, (f + e * lu if symmetric else g + e * lv)
            _check_potentials(f, g)
            big = max(float(lu.abs().max()), float(lv.abs().max()))
            if err < level_tol or not big >= _ABSORB:
                break  # converged or stalled (or out of budget); else absorbed: rebuild K
        if last:
            it_total = n_iter - budget
    return f, g, err, it_total


def _ot_value(x, y, a, b, eps, n_iter, tol, scaling, symmetric=False):
    """``OT_ε`` with the envelope gradient: potentials without grad, one softmin with grad.

    ``OT_ε = <a, f> + <b, g>`` at the optimum. ``f`` is recomputed once from the fixed ``g``
    with autograd on: by the envelope theorem its gradient in ``x`` and ``y`` is that of
    ``OT_ε`` (``∑_ij π_ij ∇C_ij``). Recomputing ``g`` with gradients as well would double it.
    """
    la, lb = a.log(), b.log()
    with torch.no_grad():
        C = _sqdist(x.detach(), y.detach())
        f, g, err, it = _sinkhorn_potentials(C, la, lb, eps, n_iter, tol, scaling, symmetric)
    if not err < tol:
        why = (
            f"n_iter={n_iter} iterations"
            if it == n_iter
            else f"{it} iterations (stalled: the {x.dtype} rounding floor; "
            "use float64 or raise tol)"
        )
        warnings.warn(
            f"Sinkhorn did not converge: marginal error {err:.3g} > tol={tol:g} after {why}, at "
            f"eps={eps:g} (n={len(a)}, m={len(b)}); the value and its gradient are inexact. "
            "Raise n_iter, or raise eps.",
            RuntimeWarning,
            stacklevel=3,
        )
    f = _softmin(eps, _sqdist(x, y), lb + g / eps)  # one step with gradients
    return (a * f).sum() + (b * g).sum()


def _sinkhorn_args(x, y, a, b, eps, n_iter, tol, scaling):
    x_is_tensor, y_is_tensor = torch.is_tensor(x), torch.is_tensor(y)
    x = _samples(x, "x", finite=False)
    y = _samples(y, "y", x.shape[1], finite=False)
    if x_is_tensor != y_is_tensor:  # an array beside a tensor takes the tensor's dtype
        ref = x if x_is_tensor else y
        x, y = x.to(ref.dtype, ref.device), y.to(ref.dtype, ref.device)
    if x.dtype != y.dtype or x.device != y.device:
        raise ValueError(
            f"x and y must share dtype and device, got {x.dtype}/{x.device} and "
            f"{y.dtype}/{y.device}"
        )
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f"x and y must be float32 or float64 (the solver's log-sum-exp and ε-scaling are not "
            f"accurate in lower precision), got {x.dtype}; use x.float() or x.double()"
        )
    check_finite(x, "x")
    check_finite(y, "y")
    eps = check_float(eps, "eps", positive=True)
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    tol = check_float(tol, "tol", positive=True)
    scaling = check_unit_interval(scaling, "scaling")
    a = as_weights(a, x.shape[0], "a", like=x)
    b = as_weights(b, y.shape[0], "b", like=y)
    return x, y, a, b, eps, n_iter, tol, scaling


def entropic_ot(
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    a=None,
    b=None,
    n_iter: int = 10_000,
    tol: float = 1e-5,
    scaling: float = 0.7,
) -> torch.Tensor:
    """Entropic OT value ``OT_ε(α, β)`` for the cost ``‖x−y‖²`` (not halved), in the log domain.

    ``OT_ε = min_π <π, C> + ε KL(π ‖ a⊗b)`` over the plans ``π`` with marginals ``a`` and
    ``b``, with ``C_ij = ‖x_i − y_j‖²``. Introduced in Chapter 4 (transport losses); this is the
    value of POT's ``ot.solve(C, a, b, reg=eps, reg_type="KL").value``.

    The dual potentials ``f``, ``g`` are found without autograd: ε-scaling from the data's
    squared diameter down to ``eps``, each level in the scaling form of a stabilised kernel
    (matrix-vector products, one ``exp`` pass per level), until the L1 error of the plan's
    marginals is below ``tol`` at ``eps``. The value is then ``<a, f> + <b, g>`` with ``f``
    recomputed once *with* gradients from the fixed ``g``: by the envelope theorem this is the
    exact gradient with respect to ``x`` and ``y`` (recomputing both ``f`` and ``g`` with
    gradients would double it).

    Parameters
    ----------
    x : tensor or array-like, shape (n, d)
        Source points (batch-first rows), finite.
    y : tensor or array-like, shape (m, d)
        Target points, same dtype and device as ``x``.
    eps : float
        Entropic regularisation ``ε > 0``, ABSOLUTE, in squared units of the data (cost
        ``‖x−y‖²``); pass e.g. ``1e-2 * mean ‖x_i − y_j‖²`` for a scale-free choice.
        Convergence slows as ``ε`` shrinks relative to the data's scale.
    a, b : tensor or array-like, shape (n,) and (m,), optional
        Probability weights (nonnegative, summing to 1 within 1e-6); uniform by default.
    n_iter : int
        Maximum number of Sinkhorn iterations at ``eps`` (after the ε-scaling), ``>= 1``.
    tol : float
        Stopping threshold ``> 0`` on the L1 error of the marginals (a fraction of the unit
        mass). The default 1e-5 is reached by the course's problems in float32 and float64.
    scaling : float
        ε-scaling factor in ``(0, 1)``; at most 200 scaling steps are taken (the factor is
        lowered when more would be needed).

    Returns
    -------
    torch.Tensor
        Scalar ``OT_ε`` (units of squared distance), differentiable in ``x`` and ``y``.

    Raises
    ------
    ValueError
        For bad shapes, non-finite samples, ``eps <= 0`` or not finite, ``n_iter < 1``,
        ``tol <= 0``, ``scaling`` outside ``(0, 1)`` or invalid weights.
    FloatingPointError
        When the iteration diverges (non-finite potentials, e.g. ``eps`` far too small for
        the dtype).

    Warns
    -----
    RuntimeWarning
        When ``n_iter`` iterations end before the marginal error reaches ``tol``.
    """
    x, y, a, b, eps, n_iter, tol, scaling = _sinkhorn_args(x, y, a, b, eps, n_iter, tol, scaling)
    return _ot_value(x, y, a, b, eps, n_iter, tol, scaling)


def sinkhorn_divergence(
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float = 0.05,
    a=None,
    b=None,
    n_iter: int = 10_000,
    tol: float = 1e-5,
    scaling: float = 0.7,
) -> torch.Tensor:
    """Debiased Sinkhorn divergence ``S_ε = OT_ε(α, β) − ½ OT_ε(α, α) − ½ OT_ε(β, β)``.

    Cost ``‖x−y‖²`` (not halved), so ``S_ε → W2²`` (squared) as ``ε → 0``; ``S_ε >= 0`` and
    ``S_ε(α, α) = 0``. Introduced in Chapter 4 (transport losses). ``OT_ε`` is
    :func:`entropic_ot`; the two symmetric terms are solved with the averaged update
    ``f ← ½ (f + softmin(f))``. Float32 and float64 inputs are computed in their own dtype
    (lower precision is refused). Equals twice GeomLoss's
    ``SamplesLoss("sinkhorn", p=2, blur=sqrt(eps / 2), debias=True)`` (whose cost is
    ``½‖x−y‖²``) once both are converged.

    Parameters
    ----------
    x : tensor or array-like, shape (n, d)
        Samples of ``α`` (e.g. mapped points ``T(x)``), finite.
    y : tensor or array-like, shape (m, d)
        Samples of ``β``, same dtype and device.
    eps : float
        ``ε > 0`` in squared units of the data.
    a, b : tensor or array-like, shape (n,) and (m,), optional
        Probability weights of ``x`` and ``y`` (uniform by default); ``a`` weighs both sides of
        ``OT_ε(α, α)``, ``b`` both sides of ``OT_ε(β, β)``.
    n_iter, tol, scaling
        Solver settings of :func:`entropic_ot`, used for each of the three problems.

    Returns
    -------
    torch.Tensor
        Scalar ``S_ε`` (squared distance units), differentiable in ``x`` and ``y``.

    Raises
    ------
    ValueError
        For bad shapes, non-finite samples or solver settings (see :func:`entropic_ot`).
    FloatingPointError
        When an iteration diverges.

    Warns
    -----
    RuntimeWarning
        When one of the three problems ends before reaching ``tol``.
    """
    x, y, a, b, eps, n_iter, tol, scaling = _sinkhorn_args(x, y, a, b, eps, n_iter, tol, scaling)
    xy = _ot_value(x, y, a, b, eps, n_iter, tol, scaling)
    xx = _ot_value(x, x, a, a, eps, n_iter, tol, scaling, symmetric=True)
    yy = _ot_value(y, y, b, b, eps, n_iter, tol, scaling, symmetric=True)
    return xy - 0.5 * xx - 0.5 * yy


def sliced_w2(
    x: torch.Tensor,
    y: torch.Tensor,
    n_projections: int = 256,
    generator=None,
    squared: bool = False,
) -> torch.Tensor:
    """Sliced Wasserstein-2 between two samples of equal size ``(n, d)``.

    ``SW2² = E_θ W2²(θᵀx, θᵀy)`` over directions ``θ`` uniform on the sphere, estimated with
    ``n_projections`` directions drawn from ``generator`` (pass a seeded one for a fixed metric);
    1-D ``W2²`` by sorting. Cost ``‖x−y‖²`` (not halved). Introduced in Chapter 4.

    Parameters
    ----------
    x, y : tensor or array-like, shape (n, d)
        Two samples with the same number of rows, finite.
    n_projections : int
        Number of random directions, ``>= 1``.
    generator : torch.Generator, optional
        Source of the directions (its device is used to draw them).
    squared : bool
        Return ``SW2²`` instead of ``SW2``.

    Returns
    -------
    torch.Tensor
        Scalar ``SW2`` (or ``SW2²``), differentiable in ``x`` and ``y``.

    Raises
    ------
    TypeError
        For a non-integer ``n_projections`` or a ``generator`` that is not a Generator.
    ValueError
        For bad shapes, different row counts, non-finite samples or ``n_projections < 1``.
    """
    x = _samples(x, "x")
    y = _samples(y, "y", x.shape[1])
    n_projections = check_int(n_projections, "n_projections", minimum=1)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must have the same number of rows, got {x.shape[0]} and {y.shape[0]}"
        )
    theta = torch.randn(
        x.shape[1],
        n_projections,
        generator=generator,
        dtype=x.dtype,
        device="cpu" if generator is None else generator.device,
    ).to(x.device)
    theta = theta / theta.norm(dim=0, keepdim=True)
    px, _ = torch.sort(x @ theta, dim=0)
    py, _ = torch.sort(y @ theta, dim=0)
    sw2 = ((px - py) ** 2).mean()
    return sw2 if squared else sw2.clamp_min(0).sqrt()


# ----------------------------------------------------------------------------- WGAN-GP
def gradient_penalty(
    critic, real: torch.Tensor, fake: torch.Tensor, generator=None
) -> torch.Tensor:
    """WGAN-GP penalty ``E (‖∇critic(x̂)‖ − 1)²`` at random points ``x̂`` on the segments.

    Introduced in Chapter 7. ``real`` and ``fake`` are ``(B, d)`` tensors of the same shape;
    ``x̂ = t real + (1 − t) fake`` with ``t ~ U(0, 1)`` per row, drawn from ``generator``.
    Returns a scalar tensor with a graph (``create_graph=True``).

    Raises
    ------
    ValueError
        For shapes that differ or are not ``(B, d)``, or non-finite values.
    """
    if not (torch.is_tensor(real) and torch.is_tensor(fake)):
        raise TypeError("real and fake must be tensors of shape (B, d)")
    if real.shape != fake.shape:
        raise ValueError(
            f"real and fake must have the same shape, got {tuple(real.shape)} and "
            f"{tuple(fake.shape)}"
        )
    real, fake = _samples(real, "real"), _samples(fake, "fake")
    t = torch.rand(
        real.shape[0],
        1,
        generator=generator,
        dtype=real.dtype,
        device="cpu" if generator is None else generator.device,
    ).to(real.device)
    xh = (t * real + (1 - t) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(xh).sum(), xh, create_graph=True)
    return ((grad.norm(dim=1) - 1) ** 2).mean()


def critic_step(
    critic,
    optimizer,
    real: torch.Tensor,
    fake: torch.Tensor,
    gp_weight: float = 10.0,
    generator=None,
) -> float:
    """One critic update; returns the Wasserstein estimate ``E critic(real) − E critic(fake)``.

    ``fake`` is detached: the map is not updated here. The map's own loss is then
    ``-critic(T(x)).mean()`` (minimised with the critic fixed). Introduced in Chapter 7.

    Raises
    ------
    ValueError
        For a negative or non-finite ``gp_weight``, or bad samples (see
        :func:`gradient_penalty`).
    """
    gp_weight = check_float(gp_weight, "gp_weight", nonnegative=True)
    fake = fake.detach()
    optimizer.zero_grad(set_to_none=True)
    w = critic(real).mean() - critic(fake).mean()
    loss = -w + gp_weight * gradient_penalty(critic, real, fake, generator)
    loss.backward()
    optimizer.step()
    return float(w.detach())
