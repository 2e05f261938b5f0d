"""Potentials ``(B, d) -> (B,)``: an MLP, and two input-convex networks (the W2 benchmark's
dense quadratic ICNN among them). Critics/duals of chapter 09's minimax solver."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import check_int, check_model_input

__all__ = ["PotentialMLP", "ConvexPotential", "QuadraticConvexPotential"]


def _logcosh(z: torch.Tensor) -> torch.Tensor:
    """Numerically stable ``log cosh z`` (convex, even, gradient ``tanh z``)."""
    a = z.abs()
    return a + F.softplus(-2 * a) - math.log(2.0)


class PotentialMLP(nn.Module):
    """A scalar potential ``f: (B, d) -> (B,)`` that is *not* constrained to be convex::

        f(y) = ½ yᵀ (LᵀL) y + cᵀ y + MLP(y)

    The quadratic part (``L`` starts as the identity, ``c`` at zero) holds the bulk of a
    transport potential (``∇f`` is affine for Gaussians); the MLP (``layers`` hidden layers of
    width ``hidden``, smooth ``activation``: ``"softplus"``, ``"celu"`` or ``"tanh"``) adds the
    non-linear part and starts small (last layer scaled by ``out_scale``). A smooth activation
    keeps ``∇f`` continuous, which the minimax solver relies on: the inner map is trained to
    satisfy ``∇f(T(x)) = x``. Because ``f`` need not be convex, the maximiser of
    ``⟨x, y⟩ − f(y)`` can jump as ``f`` changes, which a continuous monotone map (an MGN)
    cannot follow; with an MGN map prefer :class:`ConvexPotential`.
    """

    def __init__(
        self,
        dim: int,
        hidden: int = 64,
        layers: int = 2,
        activation: str = "softplus",
        out_scale: float = 0.1,
    ):
        super().__init__()
        acts = {"softplus": nn.Softplus, "celu": nn.CELU, "tanh": nn.Tanh}
        if activation not in acts:
            raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}")
        dim, hidden, layers = (
            check_int(dim, "dim"),
            check_int(hidden, "hidden"),
            check_int(layers, "layers"),
        )
        self.dim = dim
        self.L = nn.Parameter(torch.eye(dim))
        self.c = nn.Parameter(torch.zeros(dim))
        mods, width = [], dim
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), acts[activation]()]
            width = hidden
        last = nn.Linear(width, 1)
        with torch.no_grad():
            last.weight.mul_(out_scale)
            last.bias.zero_()
        self.mlp = nn.Sequential(*mods, last)

    def set_quadratic(self, A: torch.Tensor, c: torch.Tensor | None = None) -> PotentialMLP:
        """Set the quadratic part to ``½ yᵀ A y + cᵀ y`` (``A`` symmetric positive definite)."""
        with torch.no_grad():
            self.L.copy_(torch.linalg.cholesky(A.to(self.L)).T)
            if c is not None:
                self.c.copy_(c.to(self.c))
        return self

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """``f(y)``: ``(B, d) -> (B,)``."""
        check_model_input(self, y)
        Ly = y @ self.L.T
        return 0.5 * (Ly**2).sum(-1) + y @ self.c + self.mlp(y).squeeze(-1)


class ConvexPotential(nn.Module):
    r"""A convex potential ``f: (B, d) -> (B,)`` built to train fast as a minimax critic::

        z_1  = softplus(W_1 y + b_1)
        z_l  = softplus(|U_l| z_{l-1} + W_l y + b_l)          l = 2, ..., layers
        f(y) = ½ ‖L y‖² + cᵀ y + |a|ᵀ z_layers

    Convex in ``y``: ``z_1`` is convex; ``|U_l| >= 0`` and softplus convex non-decreasing keep each
    ``z_l`` convex; ``|a| >= 0``. Non-negativity comes from an absolute value, not from a
    softplus or an exponential of a raw parameter: with those, a weight that starts small grows
    only geometrically under Adam (its step is proportional to its size), so the non-linear part
    of the critic hardly moves for hundreds of steps. The quadratic part starts at ``½‖y‖²``
    (set it with :meth:`set_quadratic`); the rest starts at about ``out_scale`` of it.
    """

    def __init__(
        self,
        dim: int,
        hidden: int = 64,
        layers: int = 1,
        out_scale: float = 0.1,
        first: str = "softplus",
    ):
        super().__init__()
        dim, hidden, layers = (
            check_int(dim, "dim"),
            check_int(hidden, "hidden"),
            check_int(layers, "layers"),
        )
        if first not in ("softplus", "logcosh"):
            raise ValueError(f"first must be 'softplus' or 'logcosh', got {first!r}")
        self.dim, self.hidden, self.layers, self.first = dim, hidden, layers, first
        self.L = nn.Parameter(torch.eye(dim))
        self.c = nn.Parameter(torch.zeros(dim))
        self.W = nn.ParameterList(
            nn.Parameter(torch.randn(hidden, dim) / math.sqrt(dim)) for _ in range(layers)
        )
        self.b = nn.ParameterList(nn.Parameter(torch.randn(hidden) * 0.5) for _ in range(layers))
        self.U = nn.ParameterList(
            nn.Parameter(torch.randn(hidden, hidden) / hidden) for _ in range(layers - 1)
        )
        self.a = nn.Parameter(torch.randn(hidden) * (out_scale / hidden))

    set_quadratic = PotentialMLP.set_quadratic

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """``f(y)``: ``(B, d) -> (B,)``."""
        check_model_input(self, y)
        Ly = y @ self.L.T
        z = y @ self.W[0].T + self.b[0]
        z = F.softplus(z) if self.first == "softplus" else _logcosh(z)
        for l in range(1, self.layers):
            z = F.softplus(z @ self.U[l - 1].abs().T + y @ self.W[l].T + self.b[l])
        return 0.5 * (Ly**2).sum(-1) + y @ self.c + z @ self.a.abs()


class QuadraticConvexPotential(nn.Module):
    r"""A convex potential ``f: (B, d) -> (B,)`` with rank-one *quadratic* units in every layer
    (the "dense ICNN" of Korotin et al., 2021, plus a quadratic part that holds the bulk)::

        g_l(y)_k = (q_{l,k}ᵀ y)² + (W_l y)_k + b_{l,k}          (convex in y)
        z_1  = g_1(y)                                           (no activation)
        z_l  = celu(|U_l| z_{l-1} + g_l(y))                     l = 2, ..., layers
        f(y) = ½ ‖L y‖² + cᵀ y + |a|ᵀ z_layers

    Convex in ``y``: each ``g_l`` is convex, ``|U_l| >= 0`` and ``|a| >= 0``, and celu is convex
    and non-decreasing. Unlike a sum of ridge functions (:class:`ConvexPotential`), its gradient
    contains terms ``gate(y) (qᵀy) q``: linear pieces switched on and off smoothly, the shape of
    the benchmark's own maps. As a minimax critic it lets the inner map get much closer to a
    non-linear OT map than the one-layer ridge critic. Non-negativity by absolute values (see
    :class:`ConvexPotential` for why). The quadratic part starts at ``½‖y‖²`` (set it with
    :meth:`set_quadratic`); the units start with ``q ~ N(0, 1/d)`` and ``|a|`` of total size about
    ``out_scale``.
    """

    def __init__(self, dim: int, hidden: int = 64, layers: int = 3, out_scale: float = 1.0):
        super().__init__()
        dim, hidden, layers = (
            check_int(dim, "dim"),
            check_int(hidden, "hidden"),
            check_int(layers, "layers"),
        )
        self.dim, self.hidden, self.layers = dim, hidden, layers
        self.L = nn.Parameter(torch.eye(dim))
        self.c = nn.Parameter(torch.zeros(dim))
        self.Q = nn.ParameterList(
            nn.Parameter(torch.randn(dim, hidden) / math.sqrt(dim)) for _ in range(layers)
        )
        self.W = nn.ParameterList(
            nn.Parameter(torch.randn(hidden, dim) / math.sqrt(dim)) for _ in range(layers)
        )
        self.b = nn.ParameterList(nn.Parameter(torch.zeros(hidden)) for _ in range(layers))
        self.U = nn.ParameterList(
            nn.Parameter(torch.rand(hidden, hidden) / hidden) for _ in range(layers - 1)
        )
        self.a = nn.Parameter(torch.rand(hidden) * (out_scale / hidden))

    set_quadratic = PotentialMLP.set_quadratic

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """``f(y)``: ``(B, d) -> (B,)``."""
        check_model_input(self, y)

        def g(l):
            return (y @ self.Q[l]) ** 2 + y @ self.W[l].T + self.b[l]

        z = g(0)
        for l in range(1, self.layers):
            z = F.celu(z @ self.U[l - 1].abs().T + g(l))
        Ly = y @ self.L.T
        return 0.5 * (Ly**2).sum(-1) + y @ self.c + z @ self.a.abs()
