"""The softmax mGradNet-M of GradNetOT's image morphing (chapter 08)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import check_float, check_int, check_model_input

__all__ = ["SoftmaxMGradNetM"]


class SoftmaxMGradNetM(nn.Module):
    r"""mGradNet-M with softmax-type activations (Chaudhari et al., GradNets; GradNetOT's morphing
    model).

    ``T(x) = c + s G((x - c)/s)`` with ``G(u) = β_0 + Σ_k α_k W_kᵀ σ_k(γ_k (W_k u + b_k))`` and
    ``σ_k(z) = A_k softmax(z) − B_k softmin(z)``, where ``α_k, γ_k, A_k, B_k`` are softplus of free
    parameters. ``σ_k`` is the gradient of the convex ``A_k LSE(z) + B_k LSE(−z)``, so every module
    is the gradient of a convex function of ``x`` and the Jacobian

    ``J(x) = Σ_k α_k γ_k W_kᵀ [A_k (diag p − p pᵀ) + B_k (diag q − q qᵀ)] W_k``,
    ``p = softmax(z_k)``, ``q = softmax(−z_k)``, is symmetric PSD for every ``x`` and parameter
    value.
    ``c`` (centre) and ``s`` (scale) are fixed: they put the unit square at unit scale around 0, the
    range the initialisation (Xavier-uniform ``W_k``, as in the authors' code) expects.

    The potential is ``φ(x) = cᵀx + s² g((x − c)/s)`` with
    ``g(u) = β_0ᵀu + Σ_k (α_k/γ_k) [A_k LSE(z_k) + B_k LSE(−z_k)]``, ``z_k = γ_k (W_k u + b_k)``
    (:meth:`potential`; ``T = ∇φ`` is tested against autograd).

    Parameters
    ----------
    modules : int
        Number ``K`` of modules.
    hidden : int
        Units ``h`` per module.
    dim : int
        Dimension ``d``.
    center, scale : float
        The fixed ``c`` and ``s > 0``.

    Maps ``(B, d) -> (B, d)``; :meth:`jacobian` ``(B, d) -> (B, d, d)``;
    :meth:`logdet_jacobian` and :meth:`potential` ``(B, d) -> (B,)``.
    """

    check_finite: bool = False

    def __init__(
        self,
        modules: int = 16,
        hidden: int = 32,
        dim: int = 2,
        center: float = 0.5,
        scale: float = 0.2,
    ):
        super().__init__()
        modules, hidden, dim = (
            check_int(modules, "modules"),
            check_int(hidden, "hidden"),
            check_int(dim, "dim"),
        )
        scale = check_float(scale, "scale", positive=True)
        center = check_float(center, "center")
        self.dim = dim
        bound = math.sqrt(6.0 / (hidden + dim))
        self.W = nn.Parameter((torch.rand(modules, hidden, dim) * 2 - 1) * bound)
        self.b = nn.Parameter(torch.zeros(modules, hidden))
        self.gamma = nn.Parameter(torch.rand(modules))
        self.alpha = nn.Parameter(torch.rand(modules))
        self.act_a = nn.Parameter(torch.full((modules,), 0.5))
        self.act_b = nn.Parameter(torch.full((modules,), 0.5))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.center, self.scale = float(center), float(scale)

    def _z(self, x):
        check_model_input(self, x)
        u = (x - self.center) / self.scale
        return F.softplus(self.gamma)[None, :, None] * (
            torch.einsum("khd,bd->bkh", self.W, u) + self.b
        )

    def _parts(self, x):
        z = self._z(x)
        return torch.softmax(z, -1), torch.softmax(-z, -1)

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        """The convex potential ``φ(x)`` in closed form: ``(B, d) -> (B,)``."""
        z = self._z(x)  # (B, K, h)
        u = (x - self.center) / self.scale
        lse = F.softplus(self.act_a) * torch.logsumexp(z, -1) + F.softplus(
            self.act_b
        ) * torch.logsumexp(-z, -1)  # (B, K)
        g = u @ self.bias + lse @ (F.softplus(self.alpha) / F.softplus(self.gamma))
        return x @ torch.full_like(self.bias, self.center) + self.scale**2 * g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``T(x)``: ``(B, d) -> (B, d)``."""
        p, q = self._parts(x)
        sig = F.softplus(self.act_a)[:, None] * p - F.softplus(self.act_b)[:, None] * q  # (B, K, h)
        g = torch.einsum("k,bkh,khd->bd", F.softplus(self.alpha), sig, self.W) + self.bias
        return self.center + self.scale * g

    def jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """Closed-form Jacobian ``(B, d) -> (B, d, d)``, symmetric PSD."""
        p, q = self._parts(x)
        c = F.softplus(self.alpha) * F.softplus(self.gamma)
        WW = self.W[..., :, None] * self.W[..., None, :]  # (K, h, d, d)

        def curvature(pp):  # W_kᵀ (diag pp − pp ppᵀ) W_k, (B, K, d, d)
            u = torch.einsum("bkh,khd->bkd", pp, self.W)
            return torch.einsum("bkh,khij->bkij", pp, WW) - u[..., :, None] * u[..., None, :]

        return torch.einsum("k,bkij->bij", c * F.softplus(self.act_a), curvature(p)) + torch.einsum(
            "k,bkij->bij", c * F.softplus(self.act_b), curvature(q)
        )

    def logdet_jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """``log det J(x)`` ``(B,)``; in the plane ``det J = J11 J22 − J12²``
        (``dim = 2``; slogdet otherwise)."""
        J = self.jacobian(x)
        if J.shape[-1] != 2:
            return torch.linalg.slogdet(J)[1]
        return torch.log((J[:, 0, 0] * J[:, 1, 1] - J[:, 0, 1] ** 2).clamp_min(1e-30))
