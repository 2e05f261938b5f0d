"""The semi-dual of optimal transport with the map *as* the potential's gradient.

:func:`fit_w2_semidual` learns ``T = ∇φ: P -> Q`` (cost ``½‖x − y‖²``) from samples by
minimising the semi-dual ``E_P φ(x) + E_Q φ*(y)`` over the convex potentials ``φ`` of a monotone
gradient network. No critic: the conjugate ``φ*(y) = ⟨x*, y⟩ − φ(x*)`` is computed at the exact
inverse ``x* = T⁻¹(y)``, found by damped Newton steps with the network's closed-form Jacobian,
and ``φ`` itself by Gauss-Legendre quadrature of ``T`` along the segment from the origin
(:func:`mgn_utils.autodiff.line_integral_potential`). This is the semi-dual of Amos (2023) with
the conjugate solved exactly instead of amortised, which an MGN allows because its Jacobian is
known and symmetric positive definite.

Conventions: batch-first row vectors ``(B, d)``; cost ``½‖x − y‖²``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from .._validation import check_callable, check_int
from ..training import (
    _device_of,
    check_callbacks,
    end_callbacks,
    monitor_history,
    run_callbacks,
    start_callbacks,
)

__all__ = ["fit_w2_semidual", "SemidualResult", "newton_inverse", "semidual_loss", "semidual_value"]


@torch.no_grad()
def newton_inverse(T: nn.Module, y: torch.Tensor, x: torch.Tensor, steps: int = 3):
    """Solve ``T(x) = y`` row by row by damped Newton steps from the start ``x``.

    ``T`` needs ``T.jacobian(x) -> (B, d, d)`` (symmetric positive definite for an MGN);
    ``y`` and ``x`` are ``(B, d)``. Each step halves its length (at most 6 times, per row)
    until the residual ``‖T(x) − y‖`` does not grow; a row whose residual still grows keeps
    its point, so no row ends farther from a solution than it started (a near-singular
    Jacobian would otherwise throw it far away). Returns ``(x, residual)`` with the residual
    norms ``(B,)`` at the returned points.
    """
    steps = check_int(steps, "steps", minimum=0)
    if y.shape != x.shape or y.ndim != 2:
        raise ValueError(f"y and x must both be (B, d); got {tuple(y.shape)} and {tuple(x.shape)}")
    r = T(x) - y
    for _ in range(steps):
        dx = torch.linalg.solve(T.jacobian(x), r.unsqueeze(-1)).squeeze(-1)
        t = torch.ones(len(x), 1, dtype=x.dtype, device=x.device)
        for _ in range(6):
            x_new = x - t * dx
            r_new = T(x_new) - y
            worse = r_new.norm(dim=1) > r.norm(dim=1)
            if not worse.any():
                break
            t = torch.where(worse[:, None], t / 2, t)
        keep = (r_new.norm(dim=1) > r.norm(dim=1))[:, None]
        x, r = torch.where(keep, x, x_new), torch.where(keep, r, r_new)
    return x, r.norm(dim=1)


def semidual_loss(T: nn.Module, x, y, y_start, *, newton_steps: int = 3, nodes: int = 4):
    """The semi-dual training loss on one batch, and the Newton residuals.

    ``x`` ``(B, d)`` from ``P``, ``y`` ``(B', d)`` from ``Q``, ``y_start`` ``(B', d)`` where
    Newton starts for ``T⁻¹(y)``. Returns ``(loss, residual)``: the scalar
    ``mean φ(x) − mean φ(x*)`` with ``x* = T⁻¹(y)`` held fixed (its gradient in the weights is
    that of the semi-dual ``E_P φ + E_Q φ*``, by the envelope theorem), and the residual norms
    ``‖T(x*) − y‖`` ``(B',)``. ``φ`` is the line integral of ``T`` from the origin.
    """
    from ..autodiff import line_integral_potential

    x_star, resid = newton_inverse(T, y, y_start, newton_steps)
    loss = (
        line_integral_potential(T, x, n_nodes=nodes).mean()
        - line_integral_potential(T, x_star, n_nodes=nodes).mean()
    )
    return loss, resid


def semidual_value(T: nn.Module, x, y, y_start, *, newton_steps: int = 8, nodes: int = 16):
    """The semi-dual objective ``mean φ(x) + mean φ*(y)`` on held-out samples: a float.

    Lower is better; its minimum over convex ``φ`` is ``½ E‖x‖² + ½ E‖y‖² − ½ W2²`` (cost
    ``½‖x − y‖²``), reached at the Brenier potential, so it ranks maps without the true map
    (a validation criterion). ``φ*(y) = ⟨x*, y⟩ − φ(x*)`` at ``x* = T⁻¹(y)`` found by Newton
    from ``y_start``; ``φ`` by Gauss-Legendre quadrature of ``T`` from the origin (``nodes``).
    Every ``⟨x, y⟩ − φ(x)`` is a lower bound on ``φ*(y)``, so each row takes the largest of the
    bounds at ``x*``, at ``y_start`` and at the origin (``φ(0) = 0``): a row where Newton did
    not converge cannot pull the value below what its start already certifies.
    Shapes as in :func:`semidual_loss`.
    """
    from ..autodiff import line_integral_potential

    def bound(z):
        return (z * y).sum(1) - line_integral_potential(T, z, n_nodes=nodes)

    with torch.no_grad():
        x_star, _ = newton_inverse(T, y, y_start, newton_steps)
        phi_x = line_integral_potential(T, x, n_nodes=nodes)
        origin = torch.zeros(len(y), dtype=y.dtype, device=y.device)
        phi_star = torch.stack([bound(x_star), bound(y_start), origin]).amax(0)
    return float(phi_x.mean() + phi_star.mean())


@dataclass
class SemidualResult:
    """What :func:`fit_w2_semidual` returns: the losses per step, the largest Newton residual
    per step (``residuals``), ``{name: [(step, value), ...]}`` of every
    :class:`~mgn_utils.training.Monitor` among the callbacks (``history``), the steps done,
    the training wall time in seconds (callbacks excluded) and whether a callback stopped it."""

    losses: list = field(default_factory=list)
    residuals: list = field(default_factory=list)
    history: dict = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0
    stopped_early: bool = False


def fit_w2_semidual(
    T: nn.Module,
    sample_p,
    sample_q,
    *,
    steps: int | None = None,
    seconds: float | None = None,
    inverse_start=None,
    batch_size: int = 256,
    lr: float = 1e-2,
    lr_final_factor: float = 0.01,
    newton_steps: int = 3,
    nodes: int = 4,
    seed: int = 0,
    device=None,
    callbacks=(),
) -> SemidualResult:
    r"""Fit ``T = ∇φ`` to the optimal map ``P -> Q`` by the semi-dual, with an exact conjugate.

    The loss is ``E_P φ(x) − E_Q φ(x*(y))`` with ``x* = T⁻¹(y)`` held fixed: by the envelope
    theorem its gradient in the weights is that of ``E_P φ(x) + E_Q φ*(y)``, whose minimiser
    over convex ``φ`` is the Brenier potential (then ``T = ∇φ`` is the OT map).

    Args:
        T: a monotone gradient network with a ``jacobian`` method (``CMGN``, ``MMGN``), trained
            in place.
        sample_p, sample_q: ``sample(n, generator) -> (n, d)``, fresh samples of ``P`` and ``Q``
            (``generator`` is a CPU ``torch.Generator``; the samples are moved to ``device``).
        steps, seconds: the budget (optimiser steps, training wall time); training stops at
            whichever ends first. At least one must be given.
        inverse_start: ``y -> x``, where Newton starts (e.g. the inverse of a Gaussian map);
            default ``y`` itself.
        batch_size: samples of each measure per step.
        lr, lr_final_factor: Adam's learning rate, cosine-decayed to ``lr * lr_final_factor``
            over the budget (a factor, not a rate).
        newton_steps: Newton steps per batch for ``T⁻¹``.
        nodes: Gauss-Legendre nodes for ``φ`` (``φ`` only enters through differences of its
            values, so a few nodes suffice).
        seed: seeds the ``torch.Generator`` handed to the samplers.
        device: where to train (``T`` is moved there); default: the device of its parameters.
        callbacks: :class:`~mgn_utils.training.Callback` objects, called as
            ``callback(step, T, losses)`` every ``callback.every`` steps (not timed); one
            returning ``True`` stops training; a :class:`~mgn_utils.training.Monitor` records
            ``fn(T)`` into ``history``.
    Returns a :class:`SemidualResult`. Raises ``FloatingPointError`` if the loss is not finite.
    """
    if not hasattr(T, "jacobian"):
        raise TypeError(
            "T needs a closed-form jacobian(x) -> (B, d, d) for the Newton conjugate "
            "(an MGN such as CMGN or MMGN)"
        )
    check_callable(sample_p, "sample_p")
    check_callable(sample_q, "sample_q")
    if steps is None and seconds is None:
        raise ValueError("give steps=, seconds= or both")
    if steps is not None:
        steps = check_int(steps, "steps", minimum=0)
    if (steps is not None and steps < 0) or (seconds is not None and not seconds > 0):
        raise ValueError(f"need steps >= 0 and seconds > 0; got {steps}, {seconds}")
    if batch_size < 2 or newton_steps < 0 or nodes < 1:
        raise ValueError(
            f"need batch_size >= 2, newton_steps >= 0, nodes >= 1; got {batch_size}, "
            f"{newton_steps}, {nodes}"
        )
    if not 0.0 < lr_final_factor <= 1.0:
        raise ValueError(f"lr_final_factor must be in (0, 1], got {lr_final_factor!r}")
    callbacks = check_callbacks(callbacks)
    if device is not None:
        T.to(device)
    device = _device_of(T)
    start = inverse_start if inverse_start is not None else (lambda y: y)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(T.parameters(), lr=lr)
    res, done, clock = SemidualResult(), 0, 0.0

    def progress():
        p = done / max(steps, 1) if steps is not None else 0.0
        if steps == 0:
            p = 1.0
        return max(p, clock / seconds) if seconds is not None else p

    start_callbacks(callbacks, 0, T)
    while progress() < 1.0:
        t0 = time.perf_counter()
        factor = lr_final_factor + (1 - lr_final_factor) * 0.5 * (
            1 + math.cos(math.pi * progress())
        )
        for g in opt.param_groups:
            g["lr"] = lr * factor
        x, y = sample_p(batch_size, gen).to(device), sample_q(batch_size, gen).to(device)
        loss, resid = semidual_loss(T, x, y, start(y), newton_steps=newton_steps, nodes=nodes)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise FloatingPointError(f"the semi-dual loss is not finite at step {done}")
        res.losses.append(value)
        res.residuals.append(float(resid.max()))
        done += 1
        if x.device.type == "cuda":
            torch.cuda.synchronize(x.device)
        clock += time.perf_counter() - t0
        if run_callbacks(callbacks, done, T, res.losses):  # not timed
            res.stopped_early = True
            break
    end_callbacks(callbacks, done, T)
    res.steps, res.seconds, res.history = done, clock, monitor_history(callbacks)
    return res
