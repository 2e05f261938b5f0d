"""Training loops: :func:`fit` (one model, one loss) and :func:`fit_adversarial` (a map against a
critic), with callbacks, any ``torch.optim.lr_scheduler``, devices and resumable checkpoints.

Introduced in chapter 00 ("Quick start") and used by every chapter that trains.

Losses stay on the device: they are read back (one host synchronisation) every ``log_every``
steps, which is also when a non-finite loss is detected.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import torch
from tqdm.auto import tqdm

from ._validation import check_float, check_int

__all__ = [
    "fit",
    "fit_adversarial",
    "FitResult",
    "AdversarialResult",
    "Callback",
    "Monitor",
    "EarlyStopping",
    "Checkpoint",
    "exponential_lr",
]


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    losses : list of float
        The loss at every step (including steps run before a resume).
    steps : int
        Steps run by this call.
    seconds : float
        Wall time of this call (callbacks included).
    stopped_early : bool
        Whether a callback stopped the run.
    history : dict
        ``{callback name: [(step, value), ...]}`` for every :class:`Monitor`.
    """

    losses: list = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    stopped_early: bool = False
    history: dict = field(default_factory=dict)

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else float("nan")


class Callback:
    """Called every ``every`` steps (after the optimiser step) with ``(step, model, losses)``.

    ``step`` counts completed steps (1-based); ``losses`` is the list of losses read so far.
    Return ``True`` to stop training. Subclasses override :meth:`__call__`.
    """

    every: int = 1
    name: str = "callback"

    def __call__(self, step: int, model: torch.nn.Module, losses: list) -> bool | None:
        raise NotImplementedError


class Monitor(Callback):
    """Record ``fn(model)`` every ``every`` steps into ``history`` (e.g. a validation metric).

    ``fn`` runs under ``torch.no_grad()`` with the model in eval mode; any value may be returned.
    """

    def __init__(self, fn: Callable, every: int = 100, name: str = "monitor"):
        self.fn, self.every, self.name = fn, check_int(every, "every"), name
        self.history: list = []

    def __call__(self, step, model, losses):
        was_training = model.training
        model.eval()
        with torch.no_grad():
            self.history.append((step, self.fn(model)))
        model.train(was_training)


class EarlyStopping(Callback):
    """Stop when the mean loss of the last ``window`` steps has not improved by ``min_delta``
    (relative) over ``patience`` checks, one check every ``every`` steps."""

    def __init__(
        self, patience: int = 5, min_delta: float = 1e-3, window: int = 100, every: int = 100
    ):
        self.patience = check_int(patience, "patience")
        self.min_delta = check_float(min_delta, "min_delta", nonnegative=True)
        self.window, self.every = check_int(window, "window"), check_int(every, "every")
        self.name, self.best, self.bad = "early_stopping", math.inf, 0

    def __call__(self, step, model, losses):
        recent = losses[-self.window :]
        if not recent:
            return False
        value = sum(recent) / len(recent)
        if value < self.best - self.min_delta * abs(self.best if math.isfinite(self.best) else 0):
            self.best, self.bad = value, 0
        else:
            self.bad += 1
        return self.bad >= self.patience


class Checkpoint(Callback):
    """Save the training state (model, optimiser, scheduler, generator, losses) to ``path``
    every ``every`` steps and at the end; :func:`fit` with ``resume=True`` restores it."""

    def __init__(self, path: str | os.PathLike, every: int = 1000):
        self.path, self.every, self.name = Path(path), check_int(every, "every"), "checkpoint"
        self._save = None  # bound by fit

    def __call__(self, step, model, losses):
        if self._save is not None:
            self._save(step)


def exponential_lr(lr: float, lr_final: float, steps: int) -> Callable:
    """A scheduler factory: the learning rate decays exponentially from ``lr`` at step 0 to
    ``lr_final`` (an absolute rate, not a factor) at step ``steps - 1`` (GradNetOT's schedule).

    Returns ``optimizer -> torch.optim.lr_scheduler.LambdaLR``, to pass as ``scheduler=``.
    """
    lr = check_float(lr, "lr", positive=True)
    lr_final = check_float(lr_final, "lr_final", positive=True)
    ratio, span = lr_final / lr, max(steps - 1, 1)
    return lambda opt: torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: ratio ** (min(t, span) / span)
    )


def _device_of(model: torch.nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _optimizer(params, optimizer: str, lr: float, weight_decay: float, betas):
    opts = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
    if optimizer not in opts:
        raise ValueError(f"optimizer must be one of {sorted(opts)}, got {optimizer!r}")
    kwargs = {}
    if betas is not None:
        if optimizer == "sgd":
            raise ValueError("betas apply to 'adam' and 'adamw' only")
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        kwargs["betas"] = (float(b1), float(b2))
    return opts[optimizer](params, lr=lr, weight_decay=weight_decay, **kwargs)


def _make_scheduler(scheduler, opt):
    if scheduler is None:
        return None
    sched = scheduler(opt) if callable(scheduler) and not hasattr(scheduler, "step") else scheduler
    if not hasattr(sched, "step") or not hasattr(sched, "state_dict"):
        raise TypeError(
            "scheduler must be a torch.optim.lr_scheduler instance or a function "
            "optimizer -> scheduler"
        )
    return sched


def fit(
    model: torch.nn.Module,
    loss_fn,
    steps: int,
    lr: float = 1e-3,
    *,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    clip_grad_norm: float | None = None,
    seed: int = 0,
    lr_final: float | None = None,
    scheduler=None,
    betas: tuple[float, float] | None = None,
    device=None,
    callbacks: Iterable[Callback] = (),
    log_every: int = 10,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    progress: bool = True,
    desc: str | None = None,
) -> FitResult:
    """Minimise ``loss_fn`` over ``model``'s parameters for ``steps`` optimiser steps.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place (moved to ``device`` first when one is given).
    loss_fn : callable
        ``loss_fn(model, generator) -> scalar tensor``. Draw all random numbers (minibatches)
        from ``generator``, a ``torch.Generator`` on the model's device seeded with ``seed``:
        that makes runs reproducible and resumable.
    steps : int
        Total number of steps (a resumed run continues up to this number).
    lr, optimizer, weight_decay, betas
        ``"adam"``, ``"adamw"`` or ``"sgd"`` and its settings; ``betas=None`` keeps torch's.
    lr_final : float, optional
        Shorthand for ``scheduler=exponential_lr(lr, lr_final, steps)``: an absolute final rate.
    scheduler : LRScheduler or callable, optional
        Any ``torch.optim.lr_scheduler`` (or ``optimizer -> scheduler``), stepped once per step.
    device : str or torch.device, optional
        Move the model there; default: where its parameters are.
    callbacks : iterable of :class:`Callback`
        E.g. :class:`Monitor`, :class:`EarlyStopping`, :class:`Checkpoint`.
    log_every : int
        Losses are read from the device every ``log_every`` steps (one synchronisation).
    checkpoint, checkpoint_every, resume
        Shorthand for a :class:`Checkpoint` callback; with ``resume=True`` an existing file is
        restored and training continues, giving the same result as an uninterrupted run.
    clip_grad_norm : float, optional
        Clip the global gradient norm to this value.
    progress, desc
        A ``tqdm`` bar with the current loss.

    Returns
    -------
    FitResult

    Raises
    ------
    FloatingPointError
        When a loss is NaN or infinite (detected at the next read, naming the step).
    """
    steps = check_int(steps, "steps", minimum=0)
    lr = check_float(lr, "lr", nonnegative=True)
    log_every = check_int(log_every, "log_every")
    if lr_final is not None:
        if scheduler is not None:
            raise ValueError("give either lr_final or scheduler, not both")
        if not lr > 0:
            raise ValueError(f"lr_final needs lr > 0, got lr={lr}")
        scheduler = exponential_lr(lr, lr_final, steps)
    if device is not None:
        model.to(device)
    opt = _optimizer(model.parameters(), optimizer, lr, weight_decay, betas)
    sched = _make_scheduler(scheduler, opt)
    dev = _device_of(model)
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed)
    callbacks = list(callbacks)
    if checkpoint is not None:
        callbacks.append(Checkpoint(checkpoint, checkpoint_every or max(steps, 1)))
    ckpts = [c for c in callbacks if isinstance(c, Checkpoint)]
    losses, start = [], 0
    ckpt = ckpts[0].path if ckpts else None
    if resume and ckpt is not None and ckpt.exists():
        state = torch.load(ckpt, map_location=dev, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if sched is not None and state.get("scheduler") is not None:
            sched.load_state_dict(state["scheduler"])
        gen.set_state(state["generator"].cpu())
        losses, start = list(state["losses"]), int(state["step"])

    def save(step):
        for c in ckpts:
            c.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = c.path.with_suffix(c.path.suffix + ".tmp")
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": None if sched is None else sched.state_dict(),
                    "generator": gen.get_state(),
                    "losses": losses,
                    "step": step,
                },
                tmp,
            )
            os.replace(tmp, c.path)

    for c in ckpts:
        c._save = save

    pending: list[torch.Tensor] = []

    def flush(step):
        if not pending:
            return
        values = torch.stack(pending).tolist()
        first = step - len(values)
        pending.clear()
        for i, v in enumerate(values):
            if not math.isfinite(v):
                raise FloatingPointError(
                    f"loss is {v} at step {first + i}; lower lr or check the data"
                )
        losses.extend(values)

    t0 = time.perf_counter()
    bar = tqdm(
        range(start, steps), initial=start, total=steps, disable=not progress, desc=desc, leave=True
    )
    stopped = False
    model.train()
    for step in bar:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model, gen)
        if not torch.is_tensor(loss) or loss.numel() != 1:
            raise TypeError("loss_fn must return a scalar tensor")
        loss.backward()
        if clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
        opt.step()
        if sched is not None:
            sched.step()
        pending.append(loss.detach().reshape(()))
        done = step + 1
        if done % log_every == 0 or done == steps or any(done % c.every == 0 for c in callbacks):
            flush(done)
            if losses:
                bar.set_postfix(loss=f"{losses[-1]:.4g}", refresh=False)
        for c in callbacks:
            if done % c.every == 0 and not (isinstance(c, Checkpoint) and done == steps):
                if c(done, model, losses):
                    stopped = True
        if stopped:
            break
    bar.close()
    run = len(losses) - start
    if ckpts and run > 0:
        save(start + run)
    history = {c.name: c.history for c in callbacks if isinstance(c, Monitor)}
    return FitResult(
        losses=losses,
        steps=run,
        seconds=time.perf_counter() - t0,
        stopped_early=stopped,
        history=history,
    )


@dataclass
class AdversarialResult:
    """What :func:`fit_adversarial` returns: per-step losses of both players, wall time."""

    map_losses: list = field(default_factory=list)
    critic_losses: list = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    history: dict = field(default_factory=dict)


def fit_adversarial(
    model: torch.nn.Module,
    critic: torch.nn.Module,
    map_loss,
    critic_loss,
    steps: int,
    *,
    critic_steps: int = 5,
    map_steps: int = 1,
    lr_map: float = 1e-4,
    lr_critic: float = 1e-4,
    betas=(0.5, 0.9),
    scheduler_map=None,
    scheduler_critic=None,
    seed: int = 0,
    device=None,
    callbacks: Iterable[Callback] = (),
    log_every: int = 10,
    progress: bool = True,
    desc: str | None = None,
) -> AdversarialResult:
    """Alternate ``critic_steps`` critic updates and ``map_steps`` map updates, ``steps`` times.

    The loop behind WGAN-GP training (chapters 04, 06, 07: ``critic_loss`` from
    :func:`mgn_utils.losses.gradient_penalty`) and the minimax dual (chapter 09).

    Parameters
    ----------
    model, critic : torch.nn.Module
        The map (generator) and its adversary, trained in place (moved to ``device``).
    map_loss : callable
        ``map_loss(model, critic, generator) -> scalar tensor``, minimised over the map with
        the critic's parameters frozen.
    critic_loss : callable
        ``critic_loss(model, critic, generator) -> scalar tensor``, minimised over the critic
        (compute the map's output under ``torch.no_grad()`` inside it).
    steps : int
        Outer rounds.
    critic_steps, map_steps : int
        Updates of each player per round.
    lr_map, lr_critic, betas
        Adam settings of each player.
    scheduler_map, scheduler_critic
        As ``scheduler`` in :func:`fit`, stepped once per round.
    seed, device, callbacks, log_every, progress, desc
        As in :func:`fit`; callbacks see the round number and the map.

    Returns
    -------
    AdversarialResult

    Raises
    ------
    FloatingPointError
        When a loss of either player is NaN or infinite.
    """
    steps = check_int(steps, "steps", minimum=0)
    critic_steps = check_int(critic_steps, "critic_steps", minimum=0)
    map_steps = check_int(map_steps, "map_steps", minimum=0)
    if device is not None:
        model.to(device)
        critic.to(device)
    opt_m = _optimizer(model.parameters(), "adam", lr_map, 0.0, betas)
    opt_c = _optimizer(critic.parameters(), "adam", lr_critic, 0.0, betas)
    sm, sc = _make_scheduler(scheduler_map, opt_m), _make_scheduler(scheduler_critic, opt_c)
    gen = torch.Generator(device=_device_of(model))
    gen.manual_seed(seed)
    res = AdversarialResult()
    pend_m: list[torch.Tensor] = []
    pend_c: list[torch.Tensor] = []

    def flush(rnd):
        for pend, out, who in (
            (pend_m, res.map_losses, "map"),
            (pend_c, res.critic_losses, "critic"),
        ):
            if pend:
                values = torch.stack(pend).tolist()
                pend.clear()
                if not all(math.isfinite(v) for v in values):
                    raise FloatingPointError(
                        f"{who} loss is not finite by round {rnd}; lower the learning rates"
                    )
                out.extend(values)

    model_params, critic_params = list(model.parameters()), list(critic.parameters())

    def step_player(opt, params_off, loss):
        for p in params_off:
            p.requires_grad_(False)
        opt.zero_grad(set_to_none=True)
        loss_value = loss(model, critic, gen)
        loss_value.backward()
        opt.step()
        for p in params_off:
            p.requires_grad_(True)
        return loss_value.detach().reshape(())

    callbacks = list(callbacks)
    t0 = time.perf_counter()
    bar = tqdm(range(steps), disable=not progress, desc=desc, leave=True)
    model.train()
    critic.train()
    for rnd in bar:
        for _ in range(critic_steps):
            pend_c.append(step_player(opt_c, model_params, critic_loss))
        for _ in range(map_steps):
            pend_m.append(step_player(opt_m, critic_params, map_loss))
        for s in (sm, sc):
            if s is not None:
                s.step()
        done = rnd + 1
        if done % log_every == 0 or done == steps:
            flush(done)
            if res.critic_losses:
                bar.set_postfix(critic=f"{res.critic_losses[-1]:.4g}", refresh=False)
        if any(done % c.every == 0 and c(done, model, res.map_losses) for c in callbacks):
            flush(done)
            break
    flush(steps)
    bar.close()
    res.steps, res.seconds = steps, time.perf_counter() - t0
    res.history = {c.name: c.history for c in callbacks if isinstance(c, Monitor)}
    return res
