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

from ._validation import check_callable, check_float, check_int

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
    "wgan_gp_losses",
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
    """The one callback protocol of the package's training loops.

    :func:`fit`, :func:`fit_adversarial` and the solvers (:func:`~mgn_utils.solvers.fit_w2_minimax`,
    :func:`~mgn_utils.solvers.fit_w2_semidual`, :func:`~mgn_utils.solvers.fit_w2_map`) call
    ``callback(step, model, losses)`` every ``every`` steps, after that step's update: ``step``
    counts completed steps (1-based), ``model`` is the map being trained and ``losses`` the list
    of its losses read so far. Return ``True`` to stop training; ``None`` (or ``False``)
    continues. Every callback due at a step is called before the loop stops.

    Subclasses override :meth:`__call__`, and may override :meth:`start` (called once before the
    first step, with the step training starts from) and :meth:`end` (called once after the last
    step). A plain function ``f(step, model, losses)`` is accepted too and runs every step.
    """

    every: int = 1
    name: str = "callback"

    def __call__(self, step: int, model: torch.nn.Module, losses: list) -> bool | None:
        raise NotImplementedError

    def start(self, step: int, model: torch.nn.Module) -> None:
        """Called once before training (``step`` is 0, or the resumed step)."""

    def end(self, step: int, model: torch.nn.Module) -> None:
        """Called once after the last step (``step`` steps completed)."""


class Monitor(Callback):
    """Record ``fn(model)`` every ``every`` steps into ``history`` (e.g. a validation metric).

    ``fn`` runs under ``torch.no_grad()`` with the model in eval mode; any value may be returned.
    With ``ends=True`` it also records before the first step and after the last one (a learning
    curve from the start to the final model). The loops return ``{name: history}``.
    """

    def __init__(self, fn: Callable, every: int = 100, name: str = "monitor", ends: bool = False):
        if not callable(fn):
            raise TypeError(f"fn must be callable model -> value, got {type(fn).__name__}")
        self.fn, self.every, self.name = fn, check_int(every, "every"), name
        self.ends = bool(ends)
        self.history: list = []

    def _record(self, step, model):
        was_training = model.training
        model.eval()
        with torch.no_grad():
            self.history.append((step, self.fn(model)))
        model.train(was_training)

    def __call__(self, step, model, losses):
        self._record(step, model)

    def start(self, step, model):
        if self.ends:
            self._record(step, model)

    def end(self, step, model):
        if self.ends and (not self.history or self.history[-1][0] != step):
            self._record(step, model)


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


def check_module(model, name: str = "model") -> None:
    """Raise ``TypeError`` unless ``model`` is a ``torch.nn.Module``."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")


def _device_of(model: torch.nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


# --- callbacks: checked once, then run by every loop -------------------------------------------


def check_callbacks(callbacks) -> list:
    """The callbacks as a list, each checked: a :class:`Callback` or a function ``(step, model,
    losses)``, with a positive int ``every`` (default 1). Used by every training loop."""
    if callable(callbacks) or isinstance(callbacks, (str, bytes)):
        raise TypeError("callbacks must be an iterable of callbacks, e.g. [Monitor(fn)]")
    out = list(callbacks)
    for c in out:
        if not callable(c):
            raise TypeError(
                f"a callback must be callable (step, model, losses), got {type(c).__name__}"
            )
        check_int(getattr(c, "every", 1), "a callback's every")
    return out


def _due(callbacks: list, step: int) -> bool:
    return any(step % getattr(c, "every", 1) == 0 for c in callbacks)


def run_callbacks(callbacks: list, step: int, model, losses: list, skip=()) -> bool:
    """Call every callback due at ``step`` (``step % every == 0``) except those in ``skip``,
    all of them even when an earlier one asks to stop; return whether one did."""
    stop = False
    for c in callbacks:
        if step % getattr(c, "every", 1) == 0 and c not in skip and c(step, model, losses):
            stop = True
    return stop


def start_callbacks(callbacks: list, step: int, model) -> None:
    for c in callbacks:
        if hasattr(c, "start"):
            c.start(step, model)


def end_callbacks(callbacks: list, step: int, model) -> None:
    for c in callbacks:
        if hasattr(c, "end"):
            c.end(step, model)


def monitor_history(callbacks: list) -> dict:
    """``{name: [(step, value), ...]}`` of every :class:`Monitor` among ``callbacks``."""
    return {c.name: c.history for c in callbacks if isinstance(c, Monitor)}


# --- the pieces of a training loop -------------------------------------------------------------


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


class _LossLog:
    """Losses kept on the device, read back in one synchronisation by :meth:`flush`, which also
    raises on the first non-finite one."""

    def __init__(self, values: list, what: str = "loss", unit: str = "step", hint: str = ""):
        self.values, self.what, self.unit, self.hint = values, what, unit, hint
        self.pending: list[torch.Tensor] = []

    def add(self, loss: torch.Tensor) -> None:
        self.pending.append(loss.detach().reshape(()))

    def flush(self) -> None:
        if not self.pending:
            return
        values = torch.stack(self.pending).tolist()
        self.pending.clear()
        for i, v in enumerate(values):
            if not math.isfinite(v):
                n = len(self.values) + i
                raise FloatingPointError(f"{self.what} is {v} at {self.unit} {n}; {self.hint}")
        self.values.extend(values)


def _train_step(model, loss_fn, gen, opt, sched, clip_grad_norm) -> torch.Tensor:
    """One optimiser step on ``loss_fn(model, gen)``; returns the loss (still on the device)."""
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
    return loss


def _save_state(path: Path, model, opt, sched, gen, losses: list, step: int) -> None:
    """Write the training state atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
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
    os.replace(tmp, path)


def _load_state(path: Path, model, opt, sched, gen) -> tuple[list, int]:
    """Restore what :func:`_save_state` wrote; return ``(losses, step)``."""
    state = torch.load(path, map_location=gen.device, weights_only=True)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    if sched is not None and state.get("scheduler") is not None:
        sched.load_state_dict(state["scheduler"])
    gen.set_state(state["generator"].cpu())
    return list(state["losses"]), int(state["step"])


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
        E.g. :class:`Monitor`, :class:`EarlyStopping`, :class:`Checkpoint` (see :class:`Callback`).
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
    # the public boundary: everything is checked here, the pieces above assume checked input
    check_module(model, "model")
    check_callable(loss_fn, "loss_fn")
    steps = check_int(steps, "steps", minimum=0)
    lr = check_float(lr, "lr", nonnegative=True)
    log_every = check_int(log_every, "log_every")
    if lr_final is not None:
        if scheduler is not None:
            raise ValueError("give either lr_final or scheduler, not both")
        if not lr > 0:
            raise ValueError(f"lr_final needs lr > 0, got lr={lr}")
        scheduler = exponential_lr(lr, lr_final, steps)
    callbacks = check_callbacks(callbacks)
    if checkpoint is not None:
        callbacks.append(Checkpoint(checkpoint, checkpoint_every or max(steps, 1)))

    # build: device, optimiser, scheduler, generator
    if device is not None:
        model.to(device)
    opt = _optimizer(model.parameters(), optimizer, lr, weight_decay, betas)
    sched = _make_scheduler(scheduler, opt)
    gen = torch.Generator(device=_device_of(model))
    gen.manual_seed(seed)

    # checkpoints: resume from the first one, save to all of them
    ckpts = [c for c in callbacks if isinstance(c, Checkpoint)]
    losses, start = [], 0
    if resume and ckpts and ckpts[0].path.exists():
        losses, start = _load_state(ckpts[0].path, model, opt, sched, gen)

    def save(step):
        for c in ckpts:
            _save_state(c.path, model, opt, sched, gen, losses, step)

    for c in ckpts:
        c._save = save
    log = _LossLog(losses, hint="lower lr or check the data")

    # the loop: one step, then (when due) read the losses and call the callbacks
    t0 = time.perf_counter()
    bar = tqdm(
        range(start, steps), initial=start, total=steps, disable=not progress, desc=desc, leave=True
    )
    stopped = False
    model.train()
    start_callbacks(callbacks, start, model)
    for step in bar:
        log.add(_train_step(model, loss_fn, gen, opt, sched, clip_grad_norm))
        done = step + 1
        if done % log_every == 0 or done == steps or _due(callbacks, done):
            log.flush()
            if losses:
                bar.set_postfix(loss=f"{losses[-1]:.4g}", refresh=False)
        final_ckpts = ckpts if done == steps else ()  # saved once, below
        if run_callbacks(callbacks, done, model, losses, skip=final_ckpts):
            stopped = True
            break
    bar.close()
    run = len(losses) - start
    if ckpts and run > 0:
        save(start + run)
    end_callbacks(callbacks, start + run, model)
    return FitResult(
        losses=losses,
        steps=run,
        seconds=time.perf_counter() - t0,
        stopped_early=stopped,
        history=monitor_history(callbacks),
    )


@dataclass
class AdversarialResult:
    """What :func:`fit_adversarial` returns: per-update losses of both players (``map_losses``,
    ``critic_losses``), the rounds run (``steps``), wall time, ``{name: [(round, value)]}`` of
    every :class:`Monitor` (``history``) and whether a callback stopped the run."""

    map_losses: list = field(default_factory=list)
    critic_losses: list = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    history: dict = field(default_factory=dict)
    stopped_early: bool = False


def wgan_gp_losses(sample_source, sample_target, batch_size: int, gp_weight: float = 10.0):
    """The two losses of WGAN-GP for :func:`fit_adversarial`: ``(map_loss, critic_loss)``.

    Each call draws, from the loop's generator, ``batch_size`` fresh points of each measure
    (``sample(n, generator) -> (n, d)``, moved to the model's device).

    * critic (one update): ``−(E c(y) − E c(T(x))) + gp_weight · GP`` with ``T(x)`` computed
      without gradients, then ``y`` drawn, then the penalty's interpolation
      (:func:`mgn_utils.losses.gradient_penalty`): the same numbers, in the same order, as
      :func:`mgn_utils.losses.critic_step` on ``fake = T(sample_source(B, g))``,
      ``real = sample_target(B, g)``;
    * map: ``−E c(T(x))`` on a fresh source batch.
    """
    from .losses import gradient_penalty

    batch_size = check_int(batch_size, "batch_size", minimum=1)
    gp_weight = check_float(gp_weight, "gp_weight", nonnegative=True)
    check_callable(sample_source, "sample_source")
    check_callable(sample_target, "sample_target")

    def draw(sample, model, g):
        return sample(batch_size, g).to(_device_of(model))

    def critic_loss(model, critic, g):
        with torch.no_grad():
            fake = model(draw(sample_source, model, g))
        real = draw(sample_target, model, g)
        w = critic(real).mean() - critic(fake).mean()
        return -w + gp_weight * gradient_penalty(critic, real, fake, g)

    def map_loss(model, critic, g):
        return -critic(model(draw(sample_source, model, g))).mean()

    return map_loss, critic_loss


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

    The loop behind WGAN-GP training (chapters 04 and 07: the two losses from
    :func:`wgan_gp_losses`) and the minimax dual (chapter 09).

    Parameters
    ----------
    model, critic : torch.nn.Module
        The map (generator) and its adversary, trained in place (moved to ``device``).
    map_loss : callable
        ``map_loss(model, critic, generator) -> scalar tensor``, minimised over the map with
        the critic's parameters frozen.
    critic_loss : callable
        ``critic_loss(model, critic, generator) -> scalar tensor``, minimised over the critic
        with the map's parameters frozen.
    steps : int
        Outer rounds (each: the critic's updates, then the map's).
    critic_steps, map_steps : int
        Updates of each player per round.
    lr_map, lr_critic, betas
        Adam settings of each player.
    scheduler_map, scheduler_critic
        As ``scheduler`` in :func:`fit` (e.g. :func:`exponential_lr`), stepped once per round.
    seed, device, callbacks, log_every, progress, desc
        As in :func:`fit`: the generator is on the model's device; callbacks see the round
        number, the map and the map's losses (e.g. a weight average updated every round).

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
    lr_map = check_float(lr_map, "lr_map", nonnegative=True)
    lr_critic = check_float(lr_critic, "lr_critic", nonnegative=True)
    log_every = check_int(log_every, "log_every")
    check_module(model, "model")
    check_module(critic, "critic")
    check_callable(map_loss, "map_loss")
    check_callable(critic_loss, "critic_loss")
    callbacks = check_callbacks(callbacks)
    if device is not None:
        model.to(device)
        critic.to(device)
    opt_m = _optimizer(model.parameters(), "adam", lr_map, 0.0, betas)
    opt_c = _optimizer(critic.parameters(), "adam", lr_critic, 0.0, betas)
    sm, sc = _make_scheduler(scheduler_map, opt_m), _make_scheduler(scheduler_critic, opt_c)
    gen = torch.Generator(device=_device_of(model))
    gen.manual_seed(seed)
    res = AdversarialResult()
    hint = "lower the learning rates"
    log_m = _LossLog(res.map_losses, "the map loss", "map update", hint)
    log_c = _LossLog(res.critic_losses, "the critic loss", "critic update", hint)
    model_params, critic_params = list(model.parameters()), list(critic.parameters())

    def update(opt, frozen, loss_fn):
        for p in frozen:
            p.requires_grad_(False)
        try:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model, critic, gen)
            if not torch.is_tensor(loss) or loss.numel() != 1:
                raise TypeError("map_loss and critic_loss must return scalar tensors")
            loss.backward()
            opt.step()
        finally:
            for p in frozen:
                p.requires_grad_(True)
        return loss

    t0 = time.perf_counter()
    bar = tqdm(range(steps), disable=not progress, desc=desc, leave=True)
    model.train()
    critic.train()
    start_callbacks(callbacks, 0, model)
    done = 0
    for rnd in bar:
        for _ in range(critic_steps):
            log_c.add(update(opt_c, model_params, critic_loss))
        for _ in range(map_steps):
            log_m.add(update(opt_m, critic_params, map_loss))
        for s in (sm, sc):
            if s is not None:
                s.step()
        done = rnd + 1
        if done % log_every == 0 or done == steps or _due(callbacks, done):
            log_c.flush()
            log_m.flush()
            if res.critic_losses:
                bar.set_postfix(critic=f"{res.critic_losses[-1]:.4g}", refresh=False)
        if run_callbacks(callbacks, done, model, res.map_losses):
            res.stopped_early = True
            break
    log_c.flush()
    log_m.flush()
    bar.close()
    end_callbacks(callbacks, done, model)
    res.steps, res.seconds = done, time.perf_counter() - t0
    res.history = monitor_history(callbacks)
    return res
