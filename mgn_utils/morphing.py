"""Image morphing by the Monge-Ampère loss (GradNetOT, sec. VI-B): the softmax mGradNet-M and its trainer.

Conventions: points are batch-first row vectors ``(B, 2)`` in the unit square (``x`` right, ``y`` up,
as in :class:`mgn_utils.distributions.ImageKDE`); the MSE to a reference map is the mean over samples
*and* coordinates (``sklearn.metrics.mean_squared_error``, what the authors' code reports).
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .distributions import ImageKDE
from .metrics import barycentric_projection

__all__ = ["SoftmaxMGradNetM", "train_morphing", "morphing_reference", "map_mse", "MORPH_DEFAULTS"]

#: The configuration used by the chapter "Monge-Ampère image morphing" and ``scripts/train_morphing.py``.
MORPH_DEFAULTS = dict(modules=16, hidden=32, batch=500, steps=1500, lr=1.0, lr_gamma=0.5, lr_drops=10,
                      weight_decay=1e-4, clip=10.0, h_start=1e-2, h_final=1e-3, center=0.5, scale=0.2, seed=0)


class SoftmaxMGradNetM(nn.Module):
    r"""mGradNet-M with softmax-type activations (Chaudhari et al., GradNets; GradNetOT's morphing model).

    ``T(x) = c + s G((x - c)/s)`` with ``G(u) = β_0 + Σ_k α_k W_kᵀ σ_k(γ_k (W_k u + b_k))`` and
    ``σ_k(z) = A_k softmax(z) − B_k softmin(z)``, where ``α_k, γ_k, A_k, B_k`` are softplus of free
    parameters. ``σ_k`` is the gradient of the convex ``A_k LSE(z) + B_k LSE(−z)``, so every module
    is the gradient of a convex function of ``x`` and the Jacobian

    ``J(x) = Σ_k α_k γ_k W_kᵀ [A_k (diag p − p pᵀ) + B_k (diag q − q qᵀ)] W_k``,
    ``p = softmax(z_k)``, ``q = softmax(−z_k)``, is symmetric PSD for every ``x`` and parameter value.
    ``c`` (centre) and ``s`` (scale) are fixed: they put the unit square at unit scale around 0, the
    range the initialisation (Xavier-uniform ``W_k``, as in the authors' code) expects.

    Args: ``modules`` K, ``hidden`` h (units per module), ``dim`` d, ``center`` c, ``scale`` s.
    Maps ``(B, d) -> (B, d)``; :meth:`jacobian` ``(B, d) -> (B, d, d)``; :meth:`logdet_jacobian` ``(B,)``.
    """

    def __init__(self, modules: int = 16, hidden: int = 32, dim: int = 2, center: float = 0.5,
                 scale: float = 0.2):
        super().__init__()
        bound = math.sqrt(6.0 / (hidden + dim))
        self.W = nn.Parameter((torch.rand(modules, hidden, dim) * 2 - 1) * bound)
        self.b = nn.Parameter(torch.zeros(modules, hidden))
        self.gamma = nn.Parameter(torch.rand(modules))
        self.alpha = nn.Parameter(torch.rand(modules))
        self.act_a = nn.Parameter(torch.full((modules,), 0.5))
        self.act_b = nn.Parameter(torch.full((modules,), 0.5))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.center, self.scale = float(center), float(scale)

    def _parts(self, x):
        u = (x - self.center) / self.scale
        z = F.softplus(self.gamma)[None, :, None] * (torch.einsum("khd,bd->bkh", self.W, u) + self.b)
        return torch.softmax(z, -1), torch.softmax(-z, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p, q = self._parts(x)
        sig = F.softplus(self.act_a)[:, None] * p - F.softplus(self.act_b)[:, None] * q  # (B, K, h)
        g = torch.einsum("k,bkh,khd->bd", F.softplus(self.alpha), sig, self.W) + self.bias
        return self.center + self.scale * g

    def jacobian(self, x: torch.Tensor) -> torch.Tensor:
        p, q = self._parts(x)
        c = F.softplus(self.alpha) * F.softplus(self.gamma)
        WW = self.W[..., :, None] * self.W[..., None, :]  # (K, h, d, d)

        def curvature(pp):  # W_kᵀ (diag pp − pp ppᵀ) W_k, (B, K, d, d)
            u = torch.einsum("bkh,khd->bkd", pp, self.W)
            return torch.einsum("bkh,khij->bkij", pp, WW) - u[..., :, None] * u[..., None, :]

        return (torch.einsum("k,bkij->bij", c * F.softplus(self.act_a), curvature(p))
                + torch.einsum("k,bkij->bij", c * F.softplus(self.act_b), curvature(q)))

    def logdet_jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """``log det J(x)`` ``(B,)``; in the plane ``det J = J11 J22 − J12²`` (needs ``dim = 2``)."""
        J = self.jacobian(x)
        if J.shape[-1] != 2:
            return torch.linalg.slogdet(J)[1]
        return torch.log((J[:, 0, 0] * J[:, 1, 1] - J[:, 0, 1] ** 2).clamp_min(1e-30))


def train_morphing(source_image, target_image, config: dict | None = None, progress: bool = False):
    """Fit ``T: p -> q`` (KDEs of two images) with the L1 Monge-Ampère loss; returns ``(net, losses, seconds)``.

    Schedule (``config``, defaults :data:`MORPH_DEFAULTS`): AdamW at ``lr``, multiplied by ``lr_gamma``
    ``lr_drops`` times at equal intervals (the authors' code: lr 1, halved every 1,000 of 10,000 steps),
    gradient norm clipped to ``clip``; with ``lr_schedule="exp"`` (not in the defaults) the learning rate
    instead decays exponentially from ``lr`` to ``lr_final`` (the schedule the paper's text states); bandwidth annealed exponentially ``h_start -> h_final``; a batch of
    ``batch`` fresh source samples per step, drawn at the current bandwidth from a generator seeded ``seed``.
    """
    cfg = {**MORPH_DEFAULTS, **(config or {})}
    torch.manual_seed(cfg["seed"])
    net = SoftmaxMGradNetM(cfg["modules"], cfg["hidden"], center=cfg["center"], scale=cfg["scale"])
    p, q = ImageKDE(source_image), ImageKDE(target_image)
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
        p.bandwidth = q.bandwidth = cfg["h_start"] * (cfg["h_final"] / cfg["h_start"]) ** (it / max(steps - 1, 1))
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


def morphing_reference(source_image, target_image, n: int = 1000, bandwidth: float = 1e-4, seed: int = 1):
    """Exact-OT reference: ``(x, T1, T2)`` with ``x`` ``n`` source samples and ``T1``, ``T2`` the barycentric
    projections of ``ot.emd`` onto two independent ``n``-sample target sets (float64, ``(n, 2)``)."""
    p, q = ImageKDE(source_image, bandwidth), ImageKDE(target_image, bandwidth)
    g = torch.Generator().manual_seed(seed)
    x, y1, y2 = p.sample(n, g), q.sample(n, g), q.sample(n, g)
    return x, barycentric_projection(x, y1), barycentric_projection(x, y2)


def map_mse(a, b) -> float:
    """Mean over rows *and* columns of ``(a − b)²`` (sklearn's ``mean_squared_error`` convention)."""
    a = torch.as_tensor(a).double()
    b = torch.as_tensor(b).double()
    return float(((a - b) ** 2).mean())
