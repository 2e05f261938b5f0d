"""A ready-to-use Wasserstein-2 map solver from samples: :func:`fit_w2_map`.

It packages the recipe of chapter 09: a deep C-MGN started *at* the Gaussian (Bures) map
between the two samples, then trained by one of two games, chosen by the dimension as the
chapter's equal-budget comparison advises:

* ``"semidual"`` (the default for ``d <= 16``): the C-MGN is the gradient of the potential in
  the semi-dual, with the exact conjugate by Newton steps
  (:func:`~mgn_utils.solvers.fit_w2_semidual`); no critic;
* ``"minimax"`` (the default above): the C-MGN is the inner player of the reversed minimax
  dual (:func:`~mgn_utils.solvers.fit_w2_minimax`) against a convex critic with rank-one
  quadratic units (:class:`~mgn_utils.models.QuadraticConvexPotential`) whose quadratic part
  starts at the conjugate of that Gaussian map.

The budget is a number of steps, a wall-clock time, or both (whichever ends first); the
learning rates follow a cosine decay over the budget.
"""

from __future__ import annotations

import torch

__all__ = ["fit_w2_map", "W2MAP_DEFAULTS"]

#: the chapter's defaults (``width``, ``lr_map`` and the method depend on the dimension ``d``)
W2MAP_DEFAULTS = dict(
    n_init=16384,  # samples of each measure for the Gaussian start
    layers=8,  # C-MGN hidden states
    activation="tanh",
    w_scale=0.1,  # small ridge weights: the start is the Gaussian map, not just near it
    semidual_max_dim=16,  # method "semidual" up to this d, "minimax" above
    # the semi-dual
    semidual_batch=256,
    semidual_lr=1e-2,
    newton_steps=3,
    nodes=4,
    # the minimax game
    critic_layers=3,
    inner_steps=5,  # map steps per critic step
    batch=512,
    lr_potential=1e-2,
    lr_final_factor=0.01,  # cosine decay to lr * lr_final_factor (a factor, not a rate)
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
    callbacks=(),
    method: str | None = None,
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
        Optimiser steps of the semi-dual, or outer (critic) steps of the minimax game, each
        with ``inner_steps`` map steps.
    seconds : float, optional
        Wall-clock budget of the training loop (the Gaussian start is not counted). With both
        ``steps`` and ``seconds`` training stops at whichever comes first; with neither,
        ``W2MAP_DEFAULTS["steps"]`` steps.
    seed : int
        Seeds the initial weights and the sample stream.
    device : str or torch.device, optional
        Where to train (default: the device of the first samples).
    callbacks : iterable of :class:`~mgn_utils.training.Callback`
        Called as ``callback(step, T, losses)`` every ``callback.every`` (outer) steps, not
        timed; one returning ``True`` stops training. ``T.history`` holds
        ``{name: [(step, value), ...]}`` of every :class:`~mgn_utils.training.Monitor`, e.g.
        ``Monitor(lambda T: error(T), every=25, ends=True)`` for a curve from the start.
    method : {"semidual", "minimax"}, optional
        The game (see the module docstring); default ``"semidual"`` for ``dim <= 16``, else
        ``"minimax"``.

    Returns
    -------
    CMGN
        The trained map, a monotone gradient network (the gradient of a convex function by
        construction), with the attributes ``steps_done`` (outer steps), ``seconds``
        (training wall time), ``history`` (the monitors' values) and ``critic`` (the trained
        convex critic ``f``, kept as a plain attribute: not a submodule of the map).
    """
    from .._validation import check_callable
    from ..models import CMGN, QuadraticConvexPotential
    from ._minimax import fit_w2_minimax, sample_gaussian_map
    from ._semidual import fit_w2_semidual

    check_callable(sample_p, "sample_p")
    check_callable(sample_q, "sample_q")
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive int, got {dim!r}")
    if steps is not None and (not isinstance(steps, int) or steps < 0):
        raise ValueError(f"steps must be a non-negative int or None, got {steps!r}")
    if seconds is not None and not seconds > 0:
        raise ValueError(f"seconds must be positive or None, got {seconds!r}")
    cfg, d = W2MAP_DEFAULTS, dim
    if method is None:
        method = "semidual" if d <= cfg["semidual_max_dim"] else "minimax"
    if method not in ("semidual", "minimax"):
        raise ValueError(f"method must be 'semidual' or 'minimax', got {method!r}")
    if steps is None and seconds is None:
        steps = cfg["steps"]
    gen = torch.Generator().manual_seed(seed)
    x0 = sample_p(cfg["n_init"], gen)
    device = torch.device(device) if device is not None else x0.device

    def draw(sampler, n, g):
        x = sampler(n, g).to(device=device, dtype=torch.float32)
        if x.shape != (n, d):
            raise ValueError(f"a sampler returned shape {tuple(x.shape)}, expected {(n, d)}")
        return x

    x0 = x0.to(device=device, dtype=torch.float32)
    y0 = draw(sample_q, cfg["n_init"], gen)
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
    A_inv = torch.linalg.inv(A.double())
    A_inv = ((A_inv + A_inv.T) / 2).float()
    sp = lambda n, g: draw(sample_p, n, g)  # noqa: E731
    sq = lambda n, g: draw(sample_q, n, g)  # noqa: E731
    common = dict(steps=steps, seconds=seconds, seed=seed, callbacks=callbacks)
    f = None
    if method == "semidual":
        res = fit_w2_semidual(
            T,
            sp,
            sq,
            inverse_start=lambda y: (y - b) @ A_inv,  # the inverse Gaussian map
            batch_size=cfg["semidual_batch"],
            lr=cfg["semidual_lr"],
            lr_final_factor=cfg["lr_final_factor"],
            newton_steps=cfg["newton_steps"],
            nodes=cfg["nodes"],
            **common,
        )
    else:
        f = QuadraticConvexPotential(d, hidden=_width(d), layers=cfg["critic_layers"]).to(device)
        f.set_quadratic(A_inv, -(b.float() @ A_inv))  # conjugate of the Gaussian map's potential
        res = fit_w2_minimax(
            T,
            f,
            sp,
            sq,
            inner_steps=cfg["inner_steps"],
            batch_size=cfg["batch"],
            lr_map=_lr_map(d),
            lr_potential=cfg["lr_potential"],
            lr_final_factor=cfg["lr_final_factor"],
            progress=False,
            **common,
        )
        f.requires_grad_(False)
    T.steps_done, T.seconds, T.history, T.method = res.steps, res.seconds, res.history, method
    T.__dict__["critic"] = f  # plain attribute, outside T.parameters()
    return T
