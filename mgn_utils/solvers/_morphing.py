"""Image morphing by the Monge-Ampère loss (GradNetOT, sec. VI-B): the softmax mGradNet-M and its
trainer.

Conventions: points are batch-first row vectors ``(B, 2)`` in the unit square (``x`` right,
``y`` up,
as in :class:`mgn_utils.distributions.ImageKDE`); the MSE to a reference map is the mean over
samples
*and* coordinates (``sklearn.metrics.mean_squared_error``, what the authors' code reports).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from .._validation import check_int
from ..distributions import ImageKDE
from ..metrics import barycentric_projection
from ..models import SoftmaxMGradNetM

__all__ = ["SoftmaxMGradNetM", "train_morphing", "morphing_reference", "map_mse", "MORPH_DEFAULTS"]

#: The configuration used by the chapter "Monge-Ampère image morphing" and
#: ``scripts/train_morphing.py``.
MORPH_DEFAULTS = dict(
    modules=16,
    hidden=32,
    batch=500,
    steps=1500,
    lr=1.0,
    lr_gamma=0.5,
    lr_drops=10,
    weight_decay=1e-4,
    clip=10.0,
    h_start=1e-2,
    h_final=1e-3,
    center=0.5,
    scale=0.2,
    seed=0,
)


def train_morphing(
    source_image,
    target_image,
    config: dict | None = None,
    progress: bool = False,
    device=None,
):
    """Fit ``T: p -> q`` (KDEs of two images) with the L1 Monge-Ampère loss.

    Schedule (``config``, defaults :data:`MORPH_DEFAULTS`): AdamW at ``lr``, multiplied by
    ``lr_gamma`` ``lr_drops`` times at equal intervals (the authors' code: lr 1, halved every
    1,000 of 10,000 steps), gradient norm clipped to ``clip``; with ``lr_schedule="exp"`` (not
    in the defaults) the learning rate instead decays exponentially from ``lr`` to ``lr_final``
    (an absolute rate: the schedule the paper's text states); bandwidth annealed exponentially
    ``h_start -> h_final``; a batch of ``batch`` fresh source samples ``(batch, 2)`` per step,
    drawn at the current bandwidth from a CPU generator seeded ``seed``.

    ``device`` (default cpu) is where the network and both densities live; the numbers drawn
    are the same on every device. Returns ``(net, losses, seconds)``: the trained
    :class:`~mgn_utils.models.SoftmaxMGradNetM` (on ``device``), the loss at every step (a numpy
    array) and the training wall time.
    """
    cfg = {**MORPH_DEFAULTS, **(config or {})}
    unknown = set(cfg) - set(MORPH_DEFAULTS) - {"lr_schedule", "lr_final"}
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)}; expected keys of MORPH_DEFAULTS")
    if cfg.get("lr_schedule", "step") not in ("step", "exp"):
        raise ValueError(f"lr_schedule must be 'step' or 'exp', got {cfg['lr_schedule']!r}")
    if cfg.get("lr_schedule") == "exp" and "lr_final" not in cfg:
        raise ValueError("lr_schedule='exp' needs lr_final (an absolute final learning rate)")
    device = torch.device("cpu" if device is None else device)
    torch.manual_seed(cfg["seed"])
    net = SoftmaxMGradNetM(cfg["modules"], cfg["hidden"], center=cfg["center"], scale=cfg["scale"])
    net.to(device)
    p, q = ImageKDE(source_image).to(device), ImageKDE(target_image).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    gen = torch.Generator().manual_seed(cfg["seed"])
    steps, every = cfg["steps"], max(1, cfg["steps"] // cfg["lr_drops"])
    losses = []
    bar = range(steps)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(bar, desc="Monge-Ampère", leave=True)
    t0 = time.perf_counter()
    for it in bar:
        if cfg.get("lr_schedule", "step") == "exp":
            lr = cfg["lr"] * (cfg["lr_final"] / cfg["lr"]) ** (it / max(steps - 1, 1))
        else:
            lr = cfg["lr"] * cfg["lr_gamma"] ** (it // every)
        for group in opt.param_groups:
            group["lr"] = lr
        p.bandwidth = q.bandwidth = cfg["h_start"] * (cfg["h_final"] / cfg["h_start"]) ** (
            it / max(steps - 1, 1)
        )
        x = p.sample(cfg["batch"], gen)
        opt.zero_grad(set_to_none=True)
        loss = (net.logdet_jacobian(x) - p.log_prob(x) + q.log_prob(net(x))).abs().mean()
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"loss is {loss.item()} at step {it}")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), cfg["clip"])
        opt.step()
        losses.append(loss.item())
    return net, np.array(losses), time.perf_counter() - t0


def morphing_reference(
    source_image, target_image, n: int = 1000, bandwidth: float = 1e-4, seed: int = 1
):
    """Exact-OT reference: ``(x, T1, T2)`` with ``x`` ``n`` source samples and ``T1``, ``T2`` the
    barycentric
    projections of ``ot.emd`` onto two independent ``n``-sample target sets
    (float64, ``(n, 2)``)."""
    n = check_int(n, "n")
    p, q = ImageKDE(source_image, bandwidth), ImageKDE(target_image, bandwidth)
    g = torch.Generator().manual_seed(seed)
    x, y1, y2 = p.sample(n, g), q.sample(n, g), q.sample(n, g)
    return x, barycentric_projection(x, y1), barycentric_projection(x, y2)


def map_mse(a, b) -> float:
    """Mean over rows *and* columns of ``(a − b)²`` (sklearn's ``mean_squared_error``
    convention)."""
    a = torch.as_tensor(a).double()
    b = torch.as_tensor(b).double()
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape (n, 2); got {tuple(a.shape)}, {tuple(b.shape)}"
        )
    return float(((a - b) ** 2).mean())
