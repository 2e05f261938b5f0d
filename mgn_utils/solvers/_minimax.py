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

from .._validation import check_callable, check_int
from ..training import (
    _device_of,
    check_callbacks,
    check_module,
    end_callbacks,
    monitor_history,
    run_callbacks,
    start_callbacks,
)

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
    ``history``: ``{name: [(step, value), ...]}`` of every
    :class:`~mgn_utils.training.Monitor` among the ``callbacks``; ``steps``: outer steps done;
    ``seconds``: wall time of training (callbacks excluded); ``stopped_early``: whether a
    callback stopped the run.
    """

    map_losses: list = field(default_factory=list)
    potential_losses: list = field(default_factory=list)
    w2_half: list = field(default_factory=list)
    history: dict = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0
    stopped_early: bool = False


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
    steps: int | None,
    *,
    seconds: float | None = None,
    inner_steps: int = 10,
    batch_size: int = 1024,
    lr_map: float = 1e-3,
    lr_potential: float = 1e-3,
    betas=(0.9, 0.999),
    lr_final_factor: float = 0.1,
    seed: int = 0,
    device=None,
    callbacks=(),
    progress: bool = True,
    desc: str | None = None,
    expectile: float = 0.0,
    expectile_weight: float = 1.0,
    conjugate_iters: int = 0,
    amortisation: str = "objective",
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
        sample_p, sample_q: ``sample(n, generator) -> (n, d)`` draws fresh samples of ``P``, ``Q``
            (``generator`` is a CPU ``torch.Generator``; the samples are moved to ``device``).
        steps: outer steps (potential updates); ``None`` with ``seconds`` for a time budget.
        seconds: training wall time (callbacks excluded); with ``steps`` too, training stops at
            whichever ends first, and the learning-rate schedule follows the larger fraction.
        inner_steps: map updates per outer step, each on a fresh batch.
        batch_size: samples per batch (both measures).
        lr_map, lr_potential, betas: Adam settings; both learning rates decay with a cosine
            schedule from their value to ``lr_final_factor`` times it over the budget.
        seed: seeds the ``torch.Generator`` handed to the samplers.
        device: where to train (``T`` and ``potential`` are moved there); default: the device
            of ``T``'s parameters.
        callbacks: :class:`~mgn_utils.training.Callback` objects, called as
            ``callback(step, T, map_losses)`` every ``callback.every`` outer steps (not timed);
            one returning ``True`` stops training. A
            :class:`~mgn_utils.training.Monitor` records ``fn(T)`` into ``history``.
        expectile, expectile_weight: ENOT's regulariser (Buzun et al., 2024): with ``τ =
            expectile > 0`` the potential's loss gains ``expectile_weight`` times the expectile
            losses ``L_τ(r) = |τ − 1[r < 0]| r²`` of the Fenchel-Young gaps on the pairs
            ``(x_i, y_i)`` of the batch, ``r = ⟨x_i, y_i⟩ − f(y_i) − f̂*(x_i)`` (positive where
            ``f(y) + f*(x) ≥ ⟨x, y⟩`` is violated), once with ``f̂*`` held and once with ``f(y)``
            held; ``f̂*(x) = ⟨x, T(x)⟩ − f(T(x))``. ``0`` switches it off.
        conjugate_iters: when ``> 0``, the potential's step uses ``y*(x) = argmax_y ⟨x, y⟩ −
            f(y)`` refined from ``T(x)`` by this many L-BFGS iterations (Amos, 2023) instead
            of ``T(x)``.
        amortisation: the map's loss: ``"objective"`` (maximise ``⟨x, T(x)⟩ − f(T(x))``, as
            above) or ``"regression"`` (``‖T(x) − y*(x)‖²`` onto the refined conjugate; needs
            ``conjugate_iters > 0``).
    Returns a :class:`MinimaxResult`.
    Raises ``FloatingPointError`` when a loss becomes NaN or infinite.
    """
    check_module(T, "T")
    check_module(potential, "potential")
    check_callable(sample_p, "sample_p")
    check_callable(sample_q, "sample_q")
    if steps is None and seconds is None:
        raise ValueError("give steps=, seconds= or both")
    if steps is not None:
        steps = check_int(steps, "steps", minimum=0)
    if (steps is not None and steps < 0) or inner_steps < 1 or batch_size < 2:
        raise ValueError(
            f"need steps >= 0, inner_steps >= 1, batch_size >= 2; got {steps}, "
            f"{inner_steps}, {batch_size}"
        )
    if seconds is not None and not seconds > 0:
        raise ValueError(f"seconds must be positive or None, got {seconds!r}")
    if amortisation not in ("objective", "regression"):
        raise ValueError(f"amortisation must be 'objective' or 'regression', got {amortisation!r}")
    if amortisation == "regression" and conjugate_iters < 1:
        raise ValueError("amortisation='regression' needs conjugate_iters >= 1")
    if not 0.0 <= expectile < 1.0:
        raise ValueError(f"expectile must be in [0, 1), got {expectile!r}")
    if not 0.0 < lr_final_factor <= 1.0:
        raise ValueError(f"lr_final_factor must be in (0, 1], got {lr_final_factor!r}")
    callbacks = check_callbacks(callbacks)
    if device is not None:
        T.to(device)
        potential.to(device)
    device = _device_of(T)
    f = _potential_fn(potential)
    gen = torch.Generator().manual_seed(seed)

    def draw(sample):
        return sample(batch_size, gen).to(device)

    opt_T = torch.optim.Adam(T.parameters(), lr=lr_map, betas=betas)
    opt_f = torch.optim.Adam(potential.parameters(), lr=lr_potential, betas=betas)

    res, done, clock = MinimaxResult(), 0, 0.0

    def progress_fraction():
        p = (done / steps if steps else 1.0) if steps is not None else 0.0
        return max(p, clock / seconds) if seconds is not None else p

    def lr_factor():
        return lr_final_factor + (1 - lr_final_factor) * 0.5 * (
            1 + math.cos(math.pi * progress_fraction())
        )

    def refine(x, y0):  # y*(x) = argmax_y <x, y> - f(y), by L-BFGS from y0 (f held fixed)
        y = y0.detach().clone().requires_grad_(True)
        lbfgs = torch.optim.LBFGS(
            [y], lr=1, max_iter=conjugate_iters, line_search_fn="strong_wolfe"
        )

        def closure():
            lbfgs.zero_grad()
            obj = (f(y) - (x * y).sum(-1)).sum()  # separable: one problem per row
            obj.backward()
            return obj

        lbfgs.step(closure)
        return y.detach()

    def expectile_loss(r):
        return (torch.where(r >= 0, expectile, 1 - expectile) * r**2).mean()

    bar = tqdm(total=steps, disable=not progress, desc=desc, leave=True)
    refresh = max(1, (steps or 1000) // 50)
    start_callbacks(callbacks, 0, T)
    while progress_fraction() < 1.0:
        step = done
        t0 = time.perf_counter()
        for g, base in ((opt_T, lr_map), (opt_f, lr_potential)):
            for pg in g.param_groups:
                pg["lr"] = base * lr_factor()
        # inner player: the map
        for p in potential.parameters():
            p.requires_grad_(False)
        for _ in range(inner_steps):
            x = draw(sample_p)
            y = T(x)
            if amortisation == "regression":
                loss_T = ((y - refine(x, y)) ** 2).sum(-1).mean()
            else:
                loss_T = (f(y) - (x * y).sum(-1)).mean()
            opt_T.zero_grad(set_to_none=True)
            loss_T.backward()
            opt_T.step()
            res.map_losses.append(float(loss_T.detach()))
        # outer player: the potential
        x, yq = draw(sample_p), draw(sample_q)
        with torch.no_grad():
            y = T(x)
        if conjugate_iters:
            y = refine(x, y)
        for p in potential.parameters():
            p.requires_grad_(True)
        fy, fq = f(y), f(yq)
        loss_f = fq.mean() - fy.mean()
        if expectile:
            xy = (x * yq).sum(-1)
            f_star = (x * y).sum(-1) - fy  # f*(x) estimated at y = T(x) or y*(x)
            loss_f = loss_f + expectile_weight * (
                expectile_loss(xy - f_star.detach() - fq)
                + expectile_loss((xy - fq).detach() - f_star)
            )
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
        done += 1
        if x.device.type == "cuda":
            torch.cuda.synchronize(x.device)
        clock += time.perf_counter() - t0
        bar.update(1)
        if step % refresh == 0:
            bar.set_postfix(W2sq_half=f"{res.w2_half[-1]:.4g}")
        if run_callbacks(callbacks, done, T, res.map_losses):  # not timed
            res.stopped_early = True
            break
    bar.close()
    end_callbacks(callbacks, done, T)
    res.steps, res.seconds, res.history = done, clock, monitor_history(callbacks)
    return res
