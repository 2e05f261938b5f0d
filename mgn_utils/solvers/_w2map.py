"""A ready-to-use Wasserstein-2 map solver from samples: :func:`fit_w2_map`.

It packages the recipe of chapter 09: a deep C-MGN started *at* the Gaussian (Bures) map
between the two samples, trained as the inner player of the reversed minimax dual
(:func:`~mgn_utils.solvers.fit_w2_minimax`) against a convex critic with rank-one quadratic
units (:class:`~mgn_utils.models.QuadraticConvexPotential`) whose quadratic part starts at the
conjugate of that Gaussian map. The budget is a number of outer steps, a wall-clock time, or
both (whichever ends first); the learning rates follow a cosine decay over the budget.
"""

from __future__ import annotations

import math
import time

import torch

__all__ = ["fit_w2_map", "W2MAP_DEFAULTS"]

#: the chapter's defaults (``width`` and ``lr_map`` depend on the dimension ``d``)
W2MAP_DEFAULTS = dict(
    n_init=16384,  # samples of each measure for the Gaussian start
    layers=8,  # C-MGN hidden states
    activation="tanh",
    w_scale=0.1,  # small ridge weights: the start is the Gaussian map, not just near it
    critic_layers=3,
    inner_steps=5,  # map steps per critic step
    batch=512,
    lr_potential=1e-2,
    lr_final=0.01,  # cosine decay to lr * lr_final
    steps=1500,  # used when neither steps nor seconds is given
)


def _width(d: int) -> int:
    return max(128, 2 * d)


def _lr_map(d: int) -> float:
    return 1e-2 if d <= 16 else 3e-3


def fit_w2_map(
    sample_p,
    sample_q,
    dim: int,
    *,
    steps: int | None = None,
    seconds: float | None = None,
    seed: int = 0,
    device=None,
    callback=None,
    callback_every: int = 0,
):
    """Learn the optimal transport map ``T: P -> Q`` (cost ``½‖x − y‖²``) from samples only.

    Parameters
    ----------
    sample_p, sample_q : callable
        ``sample(n, generator) -> Tensor (n, dim)``: fresh samples of ``P`` and of ``Q``
        (``generator`` is a CPU ``torch.Generator``); the samples are moved to ``device``.
    dim : int
        The dimension ``d``.
    steps : int, optional
        Outer (critic) steps, each with ``inner_steps`` map steps.
    seconds : float, optional
        Wall-clock budget of the training loop (the Gaussian start is not counted). With both
        ``steps`` and ``seconds`` training stops at whichever comes first; with neither,
        ``W2MAP_DEFAULTS["steps"]`` steps.
    seed : int
        Seeds the initial weights and the sample stream.
    device : str or torch.device, optional
        Where to train (default: the device of the first samples).
    callback : callable, optional
        ``callback(step, T) -> value``, called every ``callback_every`` outer steps and at the
        end (not timed); the ``(step, value)`` pairs are stored in ``T.history``.

    Returns
    -------
    CMGN
        The trained map, a monotone gradient network (the gradient of a convex function by
        construction), with the attributes ``steps_done`` (outer steps), ``seconds``
        (training wall time), ``history`` (the callback's values) and ``critic`` (the trained
        convex critic ``f``, kept as a plain attribute: not a submodule of the map).
    """
    from ..models import CMGN, QuadraticConvexPotential
    from ._minimax import sample_gaussian_map

    if not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive int, got {dim!r}")
    if steps is not None and (not isinstance(steps, int) or steps < 0):
        raise ValueError(f"steps must be a non-negative int or None, got {steps!r}")
    if seconds is not None and not seconds > 0:
        raise ValueError(f"seconds must be positive or None, got {seconds!r}")
    if steps is None and seconds is None:
        steps = W2MAP_DEFAULTS["steps"]
    cfg, d = W2MAP_DEFAULTS, dim
    gen = torch.Generator().manual_seed(seed)
    x0 = sample_p(cfg["n_init"], gen)
    device = torch.device(device) if device is not None else x0.device

    def draw(sampler, n):
        x = sampler(n, gen).to(device=device, dtype=torch.float32)
        if x.shape != (n, d):
            raise ValueError(f"a sampler returned shape {tuple(x.shape)}, expected {(n, d)}")
        return x

    x0 = x0.to(device=device, dtype=torch.float32)
    y0 = draw(sample_q, cfg["n_init"])
    A, b = sample_gaussian_map(x0, y0)
    torch.manual_seed(seed)
    T = CMGN.gaussian_start(
        x0,
        y0,
        hidden=_width(d),
        layers=cfg["layers"],
        activation=cfg["activation"],
        w_scale=cfg["w_scale"],
    ).to(device)
    f = QuadraticConvexPotential(d, hidden=_width(d), layers=cfg["critic_layers"]).to(device)
    A_inv = torch.linalg.inv(A.double())
    A_inv = ((A_inv + A_inv.T) / 2).float()
    f.set_quadratic(A_inv, -(b.float() @ A_inv))  # conjugate of the Gaussian map's potential

    lr_map, lr_f = _lr_map(d), cfg["lr_potential"]
    opt_T = torch.optim.Adam(T.parameters(), lr=lr_map)
    opt_f = torch.optim.Adam(f.parameters(), lr=lr_f)
    n, done, clock = cfg["batch"], 0, 0.0

    def progress():
        p = 0.0
        if steps is not None:
            p = max(p, done / max(steps, 1) if steps else 1.0)
        if seconds is not None:
            p = max(p, clock / seconds)
        return p

    history = []
    while progress() < 1.0:
        if callback is not None and callback_every and done % callback_every == 0:
            history.append((done, callback(done, T)))
        t0 = time.perf_counter()
        lf = cfg["lr_final"] + (1 - cfg["lr_final"]) * 0.5 * (1 + math.cos(math.pi * progress()))
        for opt, base in ((opt_T, lr_map), (opt_f, lr_f)):
            for g in opt.param_groups:
                g["lr"] = base * lf
        f.requires_grad_(False)
        for _ in range(cfg["inner_steps"]):  # the map maximises E_P[<x, T(x)> - f(T(x))]
            x = draw(sample_p, n)
            y = T(x)
            loss_T = (f(y) - (x * y).sum(-1)).mean()
            opt_T.zero_grad(set_to_none=True)
            loss_T.backward()
            opt_T.step()
        f.requires_grad_(True)
        x, yq = draw(sample_p, n), draw(sample_q, n)  # the critic minimises E_Q f - E_P f(T x)
        with torch.no_grad():
            y = T(x)
        loss_f = f(yq).mean() - f(y).mean()
        opt_f.zero_grad(set_to_none=True)
        loss_f.backward()
        opt_f.step()
        if not math.isfinite(float(loss_f.detach())):
            raise FloatingPointError(f"the critic's loss is not finite at step {done}")
        done += 1
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        clock += time.perf_counter() - t0
    if callback is not None:
        history.append((done, callback(done, T)))
    T.steps_done, T.seconds, T.history = done, clock, history
    T.__dict__["critic"] = f.requires_grad_(False)  # plain attribute, outside T.parameters()
    return T
