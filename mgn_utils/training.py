"""A small, seeded training loop with a progress bar and resumable checkpoints."""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

__all__ = ["fit", "FitResult"]


@dataclass
class FitResult:
    """What :func:`fit` returns.

    ``losses[i]`` is the loss at step ``i`` (all steps, including those run before a
    resume); ``seconds`` is the wall time of this call only.
    """

    losses: list = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else float("nan")


def _default_device(model):
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def fit(model: torch.nn.Module, loss_fn, steps: int, lr: float = 1e-3, *, optimizer: str = "adam",
        weight_decay: float = 0.0, clip_grad_norm: float | None = None, seed: int = 0,
        lr_final: float | None = None, betas: tuple[float, float] | None = None,
        checkpoint: str | os.PathLike | None = None, checkpoint_every: int | None = None,
        resume: bool = False, progress: bool = True, desc: str | None = None) -> FitResult:
    """Minimise ``loss_fn`` over ``model``'s parameters for ``steps`` optimiser steps.

    Args:
        model: the module to train (its parameters are updated in place).
        loss_fn: ``loss_fn(model, generator) -> scalar tensor``. Draw all random numbers
            (minibatches) from ``generator``, a ``torch.Generator`` on the model's device
            seeded with ``seed``: that is what makes runs reproducible and resumable.
        steps: total number of steps (a resumed run continues up to this number).
        lr, optimizer, weight_decay: ``"adam"``, ``"adamw"`` or ``"sgd"`` and its settings.
        lr_final: if set, the learning rate decays exponentially from ``lr`` at step 0 to
            ``lr_final`` at the last step ``steps - 1``: ``lr_t = lr (lr_final / lr)^(t / (steps - 1))``
            (the schedule GradNetOT uses). It depends only on the step index and ``steps``, so
            a resumed run follows the same schedule as an uninterrupted one.
        betas: Adam's ``(beta1, beta2)`` (``"adam"``/``"adamw"`` only); ``None`` keeps torch's
            default ``(0.9, 0.999)``. A smaller ``beta2`` (e.g. 0.99) lets the step size grow
            back sooner when the gradients shrink during training.
        clip_grad_norm: if set, clip the global gradient norm to this value.
        checkpoint: file to save the training state to (model, optimiser, generator,
            losses) every ``checkpoint_every`` steps and at the end.
        resume: if ``True`` and ``checkpoint`` exists, restore that state and continue;
            the result equals that of an uninterrupted run.
        progress: show a ``tqdm`` bar with the current loss.

    Raises ``FloatingPointError`` when the loss becomes NaN or infinite, naming the step.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    opts = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
    if optimizer not in opts:
        raise ValueError(f"optimizer must be one of {sorted(opts)}, got {optimizer!r}")
    if lr_final is not None and not (lr_final > 0 and lr > 0):
        raise ValueError(f"lr_final needs lr > 0 and lr_final > 0, got lr={lr}, lr_final={lr_final}")
    kwargs = {}
    if betas is not None:
        if optimizer == "sgd":
            raise ValueError("betas apply to 'adam' and 'adamw' only")
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        kwargs["betas"] = (float(b1), float(b2))
    opt = opts[optimizer](model.parameters(), lr=lr, weight_decay=weight_decay, **kwargs)
    device = _default_device(model)
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    losses, start = [], 0
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if resume and ckpt is not None and ckpt.exists():
        state = torch.load(ckpt, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"].cpu())
        losses, start = list(state["losses"]), int(state["step"])

    def save(step):
        if ckpt is None:
            return
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        tmp = ckpt.with_suffix(ckpt.suffix + ".tmp")
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                    "generator": gen.get_state(), "losses": losses, "step": step}, tmp)
        os.replace(tmp, ckpt)

    t0 = time.perf_counter()
    bar = tqdm(range(start, steps), initial=start, total=steps, disable=not progress, desc=desc,
               leave=True)
    refresh = max(1, (steps - start) // 100)
    model.train()
    for step in bar:
        if lr_final is not None:
            lr_t = lr * (lr_final / lr) ** (step / max(steps - 1, 1))
            for group in opt.param_groups:
                group["lr"] = lr_t
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model, gen)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise FloatingPointError(f"loss is {value} at step {step}; lower lr or check the data")
        loss.backward()
        if clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
        opt.step()
        losses.append(value)
        if step % refresh == 0:
            bar.set_postfix(loss=f"{value:.4g}")
        if checkpoint_every and (step + 1) % checkpoint_every == 0:
            save(step + 1)
    bar.close()
    if steps > start:
        save(steps)
    return FitResult(losses=losses, steps=steps - start, seconds=time.perf_counter() - t0)
