"""Optimal transport solvers built from the package's parts.

:func:`fit_w2_minimax` learns the optimal transport map ``T: P -> Q`` for the cost ``½‖x − y‖²``
from samples only, with the map as the *inner* player of the minimax dual (Makkuva et al., 2020,
with the roles reversed as in the "MM:R" solver of Korotin et al., 2021). Any map
``(B, d) -> (B, d)`` can play; a monotone gradient network (C-MGN, M-MGN) is the natural choice
because the optimal inner map is the gradient of a convex function.

Conventions: batch-first row vectors ``(B, d)``; cost ``½‖x − y‖²``, so the value the dual
estimates is ``W2²/2``; the same ``T*`` is optimal for ``‖x − y‖²``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

__all__ = ["fit_w2_minimax", "MinimaxResult", "affine_init", "sample_gaussian_map"]


def sample_gaussian_map(x: torch.Tensor, y: torch.Tensor):
    """The Gaussian (Bures) OT map between the moment-matched Gaussians of two samples.

    ``x`` ``(n, d)`` from ``P``, ``y`` ``(m, d)`` from ``Q``. Returns ``(A, b)`` in ``x``'s
    dtype for ``T(x) = x A + b``: :func:`mgn_utils.distributions.empirical_gaussian_map`.
    """
    from ..distributions import empirical_gaussian_map

    A, b = empirical_gaussian_map(x, y)
    return A.to(x.dtype), b.to(x.dtype)


def affine_init(
    T: nn.Module, A: torch.Tensor, b: torch.Tensor, x: torch.Tensor, n_jacobian: int = 512
) -> nn.Module:
    """Start a map with a PSD linear term close to ``x ↦ x A + b``
    (:func:`mgn_utils.models.init_affine`)."""
    from ..models import init_affine

    return init_affine(T, A, b, x, n_jacobian=n_jacobian)


@dataclass
class MinimaxResult:
    """What :func:`fit_w2_minimax` returns.

    ``map_losses``: the map's loss ``E_p[f(T(x)) − ⟨x, T(x)⟩]`` at each inner step;
    ``potential_losses``: the potential's loss ``E_q[f(y)] − E_p[f(T(x))]`` at each outer step;
    ``w2_half``: the running estimate of ``W2²/2`` (cost ``½‖x−y‖²``) at each outer step,
    ``½E‖x‖² + ½E‖y‖² − E_q f(y) − E_p[⟨x, T(x)⟩ − f(T(x))]`` on that step's batches;
    ``history``: ``(step, value)`` pairs from the ``callback``; ``seconds``: wall time
    of training (callbacks excluded).
    """

    map_losses: list = field(default_factory=list)
    potential_losses: list = field(default_factory=list)
    w2_half: list = field(default_factory=list)
    history: list = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0


def _potential_fn(potential):
    """``(B, d) -> (B,)``: an ICNN's ``.potential`` when it has one (its ``forward`` is the gradient
    map), else the module itself."""
    fn = potential.potential if hasattr(potential, "potential") else potential

    def f(y):
        out = fn(y)
        return out.squeeze(-1) if out.ndim == 2 else out

    return f


def fit_w2_minimax(
    T: nn.Module,
    potential: nn.Module,
    sample_p,
    sample_q,
    steps: int,
    *,
    inner_steps: int = 10,
    batch_size: int = 1024,
    lr_map: float = 1e-3,
    lr_potential: float = 1e-3,
    betas=(0.9, 0.999),
    lr_final: float = 0.1,
    seed: int = 0,
    callback=None,
    callback_every: int = 0,
    progress: bool = True,
    desc: str | None = None,
) -> MinimaxResult:
    r"""Fit the OT map ``T: P -> Q`` (cost ``½‖x−y‖²``) by the reversed minimax dual ("MM:R").

    With the potential ``f`` on the target side and its convex conjugate
    ``f*(x) = sup_y ⟨x, y⟩ − f(y)`` (the supremum is attained at ``y = ∇f*(x)``)::

        W2²(P, Q)/2 = ½E_P‖x‖² + ½E_Q‖y‖² − min_f { E_Q f(y) + E_P f*(x) }
                    = ½E_P‖x‖² + ½E_Q‖y‖² − min_f max_T { E_Q f(y) + E_P[⟨x, T(x)⟩ − f(T(x))] }

    At the solution ``f = ψ**`` is the conjugate of the Brenier potential ``ψ`` and the inner
    maximiser is the OT map ``T = ∇ψ``. The two players minimise:

    * map ``T`` (inner, ``inner_steps`` Adam steps per outer step): ``E_P[f(T(x)) − ⟨x, T(x)⟩]``,
      i.e. it *maximises* ``E_P[⟨x, T(x)⟩ − f(T(x))]``; its pointwise gradient ``∇f(T(x)) − x``
      vanishes when ``T = (∇f)^{-1} = ∇f*``;
    * potential ``f`` (outer, one Adam step): ``E_Q[f(y)] − E_P[f(T(x))]``, i.e. it *maximises*
      ``E_P[f(T(x))] − E_Q[f(y)]``: ``f`` is pushed down on the data ``y ~ Q`` and up where the
      map puts its mass, like a WGAN critic, until ``T♯P = Q``.

    Makkuva et al. (2020) put the potential on the source side and the map on the inverse
    direction; with the roles reversed ("MM:R" in Korotin et al., 2021) the inner map is the
    forward map ``P -> Q`` itself, which is what is scored. ``f`` need not be convex (replacing
    it by ``f**`` never increases the objective); an ICNN makes it so.

    Args:
        T: the map ``(B, d) -> (B, d)`` (e.g. ``CMGN``, ``MMGN``, ``ICNN``), trained in place.
        potential: ``f``: a module ``(B, d) -> (B,)`` (or ``(B, 1)``), or a model with a
            ``.potential`` method (``ICNN``: then ``.potential`` is used, not its gradient map).
        sample_p, sample_q: ``sample(n, generator) -> (n, d)`` draws fresh samples of ``P``, ``Q``.
        steps: outer steps (potential updates).
        inner_steps: map updates per outer step, each on a fresh batch.
        batch_size: samples per batch (both measures).
        lr_map, lr_potential, betas: Adam settings; both learning rates decay with a cosine
            schedule from their value to ``lr_final`` times it over the ``steps``.
        seed: seeds the ``torch.Generator`` handed to the samplers.
        callback: ``callback(step, T, potential) -> value`` (any value, e.g. a float or a dict)
            called every ``callback_every`` outer steps and at the end (not timed); the
            ``(step, value)`` pairs go to ``history``.
    Returns a :class:`MinimaxResult`.
    Raises ``FloatingPointError`` when a loss becomes NaN or infinite.
    """
    if steps < 0 or inner_steps < 1 or batch_size < 2:
        raise ValueError(
            f"need steps >= 0, inner_steps >= 1, batch_size >= 2; got {steps}, "
            f"{inner_steps}, {batch_size}"
        )
    f = _potential_fn(potential)
    gen = torch.Generator().manual_seed(seed)
    opt_T = torch.optim.Adam(T.parameters(), lr=lr_map, betas=betas)
    opt_f = torch.optim.Adam(potential.parameters(), lr=lr_potential, betas=betas)

    def lr_factor(step):
        return lr_final + (1 - lr_final) * 0.5 * (1 + math.cos(math.pi * step / max(steps, 1)))

    res = MinimaxResult()
    bar = tqdm(range(steps), disable=not progress, desc=desc, leave=True)
    refresh = max(1, steps // 50)
    clock = 0.0
    for step in bar:
        t0 = time.perf_counter()
        if callback is not None and callback_every and step % callback_every == 0:
            t1 = time.perf_counter()
            res.history.append((step, callback(step, T, potential)))
            t0 += time.perf_counter() - t1
        for g, base in ((opt_T, lr_map), (opt_f, lr_potential)):
            for pg in g.param_groups:
                pg["lr"] = base * lr_factor(step)
        # inner player: the map
        for p in potential.parameters():
            p.requires_grad_(False)
        for _ in range(inner_steps):
            x = sample_p(batch_size, gen)
            y = T(x)
            loss_T = (f(y) - (x * y).sum(-1)).mean()
            opt_T.zero_grad(set_to_none=True)
            loss_T.backward()
            opt_T.step()
            res.map_losses.append(float(loss_T.detach()))
        for p in potential.parameters():
            p.requires_grad_(True)
        # outer player: the potential
        x, yq = sample_p(batch_size, gen), sample_q(batch_size, gen)
        with torch.no_grad():
            y = T(x)
        fy, fq = f(y), f(yq)
        loss_f = fq.mean() - fy.mean()
        opt_f.zero_grad(set_to_none=True)
        loss_f.backward()
        opt_f.step()
        value = float(loss_f.detach())
        if not (math.isfinite(value) and math.isfinite(res.map_losses[-1])):
            raise FloatingPointError(
                f"loss is not finite at outer step {step} (potential {value}, map "
                f"{res.map_losses[-1]}); lower the learning rates"
            )
        res.potential_losses.append(value)
        with torch.no_grad():
            dual = float(fq.mean() + ((x * y).sum(-1) - fy).mean())
            res.w2_half.append(
                float(0.5 * (x**2).sum(-1).mean() + 0.5 * (yq**2).sum(-1).mean()) - dual
            )
        clock += time.perf_counter() - t0
        if step % refresh == 0:
            bar.set_postfix(W2sq_half=f"{res.w2_half[-1]:.4g}")
    bar.close()
    if callback is not None and callback_every:
        res.history.append((steps, callback(steps, T, potential)))
    res.steps, res.seconds = steps, clock
    return res
