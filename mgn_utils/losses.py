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

import torch
from torch import nn

from .autodiff import logdet_jacobian as _autograd_logdet

__all__ = [
    "gaussian_kl", "moment_kl", "change_of_variables_kl", "monge_ampere_residual",
    "monge_ampere_loss", "sinkhorn_divergence", "entropic_ot", "sliced_w2", "Critic",
    "gradient_penalty", "critic_step",
]


def _check_samples(x: torch.Tensor, name: str = "x", d: int | None = None) -> None:
    if not torch.is_tensor(x) or x.ndim != 2:
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"{name} must have shape (n, d) (batch-first row vectors), got {shape}")
    if d is not None and x.shape[1] != d:
        raise ValueError(f"{name} must have shape (n, {d}), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got {x.dtype}")


def gaussian_kl(m0, S0, m1, S1) -> torch.Tensor:
    """``KL(N(m0, S0) ‖ N(m1, S1))`` in closed form (nats).

    ``½ [tr(S1⁻¹S0) + (m1−m0)ᵀS1⁻¹(m1−m0) − d + log det S1 − log det S0]``. Means ``(d,)``,
    covariances ``(d, d)`` symmetric positive definite (Cholesky is used).
    """
    d = m0.shape[-1]
    L0, L1 = torch.linalg.cholesky(S0), torch.linalg.cholesky(S1)
    M = torch.linalg.solve_triangular(L1, L0, upper=False)  # L1⁻¹ L0: tr(S1⁻¹S0) = ‖M‖_F²
    v = torch.linalg.solve_triangular(L1, (m1 - m0).unsqueeze(-1), upper=False).squeeze(-1)
    logdet = 2 * (torch.log(torch.diagonal(L1)).sum() - torch.log(torch.diagonal(L0)).sum())
    return 0.5 * ((M**2).sum() + (v**2).sum() - d + logdet)


def moment_kl(y: torch.Tensor, target_mean: torch.Tensor, target_cov: torch.Tensor) -> torch.Tensor:
    """Moment-matching "KL": ``KL(N(mean(y), cov(y)) ‖ N(target_mean, target_cov))``.

    ``y`` is ``(n, d)`` (mapped samples ``T(x)``), the covariance is the unbiased sample
    covariance. Zero whenever the first two moments match, whatever the distribution of ``y``
    looks like: it is not a divergence between ``T#p`` and ``q`` unless ``T#p`` is Gaussian.
    """
    _check_samples(y, "y", target_mean.shape[-1])
    if y.shape[0] <= y.shape[1]:
        raise ValueError(f"need more samples than dimensions for a covariance, got y of shape {tuple(y.shape)}")
    m = y.mean(0)
    yc = y - m
    S = yc.T @ yc / (y.shape[0] - 1)
    return gaussian_kl(m, S, target_mean, target_cov)


def _logdet(T, x):
    return T.logdet_jacobian(x) if hasattr(T, "logdet_jacobian") else _autograd_logdet(T, x)


def change_of_variables_kl(T, x: torch.Tensor, target_log_prob) -> torch.Tensor:
    """``E_x[−log q(T(x)) − log det J_T(x)]`` over the source samples ``x`` ``(n, d)``.

    For an injective ``T`` this is ``KL(T#p ‖ q) + H(p)``; the entropy ``H(p)`` does not depend on ``T``, so
    minimising it minimises the exact KL. ``target_log_prob: (n, d) -> (n,)``. Uses the closed
    form ``T.logdet_jacobian`` when ``T`` has one, else autograd.
    """
    _check_samples(x)
    return (-target_log_prob(T(x)) - _logdet(T, x)).mean()


def monge_ampere_residual(T, x: torch.Tensor, source_log_prob, target_log_prob) -> torch.Tensor:
    """Residual ``r(x) = log det J_T(x) − log p(x) + log q(T(x))`` for each row: ``(n, d) -> (n,)``.

    ``T = ∇φ`` solves the Monge-Ampère equation ``q(∇φ(x)) det ∇²φ(x) = p(x)`` exactly when
    ``r = 0`` on the support of ``p``.
    """
    _check_samples(x)
    return _logdet(T, x) - source_log_prob(x) + target_log_prob(T(x))


def monge_ampere_loss(T, x, source_log_prob, target_log_prob, p: int = 1) -> torch.Tensor:
    """Mean ``|r(x)|`` (``p=1``, GradNetOT's L1 loss) or mean ``r(x)²`` (``p=2``)."""
    if p not in (1, 2):
        raise ValueError(f"p must be 1 (L1) or 2 (L2), got {p}")
    r = monge_ampere_residual(T, x, source_log_prob, target_log_prob)
    return r.abs().mean() if p == 1 else (r**2).mean()


# ----------------------------------------------------------------------------- Sinkhorn
_GRAM_DIM = 128  # from this dimension on, squared distances use the Gram form


def _sqdist(x, y):
    """``‖x_i − y_j‖²`` as an ``(n, m)`` matrix. Below ``_GRAM_DIM`` the exact broadcast
    difference; above it ``‖x‖² + ‖y‖² − 2 x yᵀ`` (clamped at 0), which avoids the
    ``(n, m, d)`` intermediate (200 MB for 256 MNIST images against 256) at the price of
    rounding errors of order ``1e-7 ‖x‖²`` in float32."""
    if x.shape[1] < _GRAM_DIM:
        return ((x.unsqueeze(1) - y.unsqueeze(0)) ** 2).sum(-1)
    return ((x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T).clamp_min(0)


def _softmin(eps, C, h):
    """``-ε log Σ_j exp(h_j − C_ij / ε)`` row-wise."""
    return -eps * torch.logsumexp(h.unsqueeze(0) - C / eps, dim=1)


def entropic_ot(x: torch.Tensor, y: torch.Tensor, eps: float, a=None, b=None, n_iter: int = 200,
                tol: float = 1e-6, scaling: float = 0.7) -> torch.Tensor:
    """Entropic OT value ``OT_ε(α, β)`` for the cost ``‖x−y‖²``, in the log domain.

    ``OT_ε = min_π <π, C> + ε KL(π ‖ a⊗b)`` with marginals ``a`` ``(n,)`` and ``b`` ``(m,)``
    (uniform by default). The dual potentials are found without autograd (ε-scaling from the
    data's diameter down to ``eps``, then Sinkhorn iterations until the marginal error is below
    ``tol`` or ``n_iter`` iterations); the value is then ``<a, f> + <b, g>`` with ``f`` recomputed
    once *with* gradients from the fixed ``g``. By the envelope theorem this gives the exact
    gradient with respect to ``x`` and ``y``. (Recomputing both ``f`` and ``g`` with gradients
    would double it.)
    """
    _check_samples(x, "x")
    _check_samples(y, "y", x.shape[1])
    n, m = x.shape[0], y.shape[0]
    a = torch.full((n,), 1.0 / n, dtype=x.dtype, device=x.device) if a is None else a
    b = torch.full((m,), 1.0 / m, dtype=x.dtype, device=x.device) if b is None else b
    la, lb = a.log(), b.log()
    with torch.no_grad():
        C = _sqdist(x, y)
        e = max(float(C.max()), eps)
        f = torch.zeros(n, dtype=x.dtype, device=x.device)
        g = torch.zeros(m, dtype=x.dtype, device=x.device)
        while True:  # ε-scaling, then iterations at the target ε
            f = _softmin(e, C, lb + g / e)
            g = _softmin(e, C.T, la + f / e)
            if e <= eps:
                break
            e = max(e * scaling, eps)
        for it in range(n_iter):
            f = _softmin(eps, C, lb + g / eps)
            g = _softmin(eps, C.T, la + f / eps)
            if it % 10 == 9:
                row = torch.exp((f[:, None] + g[None, :] - C) / eps + la[:, None] + lb[None, :]).sum(1)
                if float((row - a).abs().sum()) < tol:
                    break
    f = _softmin(eps, _sqdist(x, y), lb + g / eps)  # one step with gradients
    return (a * f).sum() + (b * g).sum()


def sinkhorn_divergence(x: torch.Tensor, y: torch.Tensor, eps: float = 0.05, **kwargs) -> torch.Tensor:
    """Debiased Sinkhorn divergence ``S_ε = OT_ε(x, y) − ½ OT_ε(x, x) − ½ OT_ε(y, y)``.

    Samples ``x`` ``(n, d)``, ``y`` ``(m, d)`` with uniform weights; cost ``‖x−y‖²``, so
    ``S_ε → W2²`` (squared) as ``ε → 0``. ``S_ε >= 0`` and ``S_ε(x, x) = 0``. Differentiable in
    ``x`` and ``y``. Keyword arguments go to :func:`entropic_ot`. ``eps`` is in squared units
    of the data.
    """
    return entropic_ot(x, y, eps, **kwargs) - 0.5 * entropic_ot(x, x, eps, **kwargs) \
        - 0.5 * entropic_ot(y, y, eps, **kwargs)


def sliced_w2(x: torch.Tensor, y: torch.Tensor, n_projections: int = 256, generator=None,
              squared: bool = False) -> torch.Tensor:
    """Sliced Wasserstein-2 between two samples of equal size ``(n, d)``.

    ``SW2² = E_θ W2²(θᵀx, θᵀy)`` over directions ``θ`` uniform on the sphere, estimated with
    ``n_projections`` directions drawn from ``generator`` (pass a seeded one for a fixed metric);
    1-D ``W2²`` by sorting. Returns ``SW2`` (or ``SW2²`` with ``squared=True``). Cost ``‖x−y‖²``.
    """
    _check_samples(x, "x")
    _check_samples(y, "y", x.shape[1])
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same number of rows, got {x.shape[0]} and {y.shape[0]}")
    theta = torch.randn(x.shape[1], n_projections, generator=generator, dtype=x.dtype,
                        device="cpu" if generator is None else generator.device).to(x.device)
    theta = theta / theta.norm(dim=0, keepdim=True)
    px, _ = torch.sort(x @ theta, dim=0)
    py, _ = torch.sort(y @ theta, dim=0)
    sw2 = ((px - py) ** 2).mean()
    return sw2 if squared else sw2.clamp_min(0).sqrt()


# ----------------------------------------------------------------------------- WGAN-GP
def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, generator=None) -> torch.Tensor:
    """WGAN-GP penalty ``E (‖∇critic(x̂)‖ − 1)²`` at random points ``x̂`` between ``real`` and ``fake`` (same shape)."""
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    t = torch.rand(real.shape[0], 1, generator=generator, dtype=real.dtype,
                   device="cpu" if generator is None else generator.device).to(real.device)
    xh = (t * real + (1 - t) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(xh).sum(), xh, create_graph=True)
    return ((grad.norm(dim=1) - 1) ** 2).mean()


def critic_step(critic, optimizer, real: torch.Tensor, fake: torch.Tensor, gp_weight: float = 10.0,
                generator=None) -> float:
    """One critic update; returns the Wasserstein estimate ``E critic(real) − E critic(fake)``.

    ``fake`` is detached: the map is not updated here. The map's own loss is then
    ``-critic(T(x)).mean()`` (minimised with the critic fixed).
    """
    fake = fake.detach()
    optimizer.zero_grad(set_to_none=True)
    w = critic(real).mean() - critic(fake).mean()
    loss = -w + gp_weight * gradient_penalty(critic, real, fake, generator)
    loss.backward()
    optimizer.step()
    return float(w.detach())


from .models._critics import Critic  # noqa: E402  (re-exported: the critic of gradient_penalty)
