"""Baselines with the maps' ``(B, d) -> (B, d)`` interface: ICNN, ICGN and an unconstrained MLP.

Used by the chapters "Learning gradients of convex functions" (03), "Transport losses" (04) and
the W2 benchmark (09).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import check_int, check_model_input
from ._mgn import ACTIVATIONS, AffineStart

__all__ = ["ICNN", "ICGN", "MLPMap"]


def _check_dim(dim) -> int:
    return check_int(dim, "dim")


def _check_sizes(dim, hidden, layers) -> tuple[int, int, int]:
    """``dim``, ``hidden`` and ``layers`` as positive Python ints (clear errors otherwise)."""
    return _check_dim(dim), check_int(hidden, "hidden"), check_int(layers, "layers")


def _inverse_softplus(y: torch.Tensor) -> torch.Tensor:
    """``softplus⁻¹(y) = log(exp(y) - 1)`` for ``y > 0``."""
    return y + torch.log(-torch.expm1(-y))


class ICNN(AffineStart, nn.Module):
    r"""Input convex neural network (Amos, Xu & Kolter, 2017) used as a gradient map.

    The potential ``φ: (B, d) -> (B,)`` has ``L = layers`` hidden layers of width ``h``::

        z_1     = softplus(W_0 x + b_0)
        z_{k+1} = softplus(U_k z_k + W_k x + b_k)      k = 1, ..., L-1
        φ(x)    = u_outᵀ z_L + w_outᵀ x  (+ ½ ‖V x‖² with quadratic=True)

    ``φ`` is convex in ``x`` because every ``U_k`` and ``u_out`` is elementwise nonnegative
    (stored as ``softplus`` of an unconstrained parameter) and softplus is convex and
    non-decreasing: a nonnegative combination of convex functions composed with a convex
    non-decreasing function stays convex; the ``W_k x`` "passthrough" (skip) terms are affine.
    The map is ``T(x) = ∇φ(x)``, back-propagated through the layers in :meth:`forward`
    (checked against ``torch.func.grad``), so gradients flow to the parameters and the map
    composes with ``torch.func`` transforms. A constant added to ``φ`` would not
    change ``T``, so there is no output bias.

    With ``quadratic=True`` the potential has the convex quadratic term ``½ ‖V x‖²``
    (``V`` of shape ``(d, d)``, started at the identity), so the map has the linear part
    ``VᵀV x`` of the dense ICNNs of Korotin et al. (2021) and OTT-JAX; this is what
    ``identity_start`` and ``gaussian_start`` (inherited from
    :class:`~mgn_utils.models.AffineStart`) need to start the map at the identity or at the
    Gaussian OT map between two samples.

    Parameter count: ``(d + 1) h + (L - 1)(h² + (d + 1) h) + h + d`` (``+ d²`` with
    ``quadratic=True``).

    Parameters
    ----------
    dim : int
        Input dimension ``d``.
    hidden : int
        Width ``h`` of every hidden layer.
    layers : int
        Number ``L >= 1`` of hidden layers.
    quadratic : bool
        Add the quadratic term ``½ ‖V x‖²`` to the potential.
    """

    check_finite: bool = False

    _affine_start_kwargs = {"quadratic": True}
    eps: float = 0.0  # the linear part is VᵀV + eps·I (the contract of AffineStart)

    def __init__(self, dim: int, hidden: int, layers: int = 2, quadratic: bool = False):
        super().__init__()
        if not isinstance(quadratic, bool):
            raise ValueError(f"quadratic must be True or False, got {quadratic!r}")
        dim, hidden, layers = _check_sizes(dim, hidden, layers)
        self.dim, self.hidden, self.layers = dim, hidden, layers
        self.W = nn.ParameterList()  # passthrough weights W_k: (h, d)
        self.b = nn.ParameterList()
        for _ in range(layers):
            lin = nn.Linear(dim, hidden)  # PyTorch's default (uniform) initialisation
            self.W.append(nn.Parameter(lin.weight.detach().clone()))
            self.b.append(nn.Parameter(lin.bias.detach().clone()))
        # U_k = softplus(U_raw_k) >= 0, started at small positive values ~ U(0, 1/h).
        self.U_raw = nn.ParameterList(
            nn.Parameter(_inverse_softplus(torch.rand(hidden, hidden).clamp_min(1e-3) / hidden))
            for _ in range(layers - 1)
        )
        self.u_raw = nn.Parameter(_inverse_softplus(torch.rand(hidden).clamp_min(1e-3) / hidden))
        self.w_out = nn.Parameter(torch.zeros(dim))
        self.V = nn.Parameter(torch.eye(dim)) if quadratic else None

    def _check_input(self, x):
        check_model_input(self, x)

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        """The convex potential ``φ(x)``: ``(B, d) -> (B,)``."""
        self._check_input(x)
        z = F.softplus(x @ self.W[0].T + self.b[0])
        for k in range(1, self.layers):
            z = F.softplus(z @ F.softplus(self.U_raw[k - 1]).T + x @ self.W[k].T + self.b[k])
        phi = z @ F.softplus(self.u_raw) + x @ self.w_out
        if self.V is not None:
            phi = phi + 0.5 * (x @ self.V.T).pow(2).sum(1)
        return phi

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``T(x) = ∇φ(x)``: ``(B, d) -> (B, d)``, differentiable w.r.t. the parameters.

        The gradient is back-propagated by hand through the layers (``a_k`` the
        pre-activations, ``s = softplus' = sigmoid``)::

            δ_L = u_out ⊙ s(a_L),   δ_k = (U_kᵀ δ_{k+1}) ⊙ s(a_k),
            ∇φ(x) = w_out + Σ_k W_{k-1}ᵀ δ_k

        which equals ``torch.func.grad(φ)`` (tested) without nesting an autograd transform
        in every training step.
        """
        self._check_input(x)
        dact = ACTIVATIONS["softplus"][1]  # mirrors torch's softplus threshold (20)
        pre, z = [], None
        for k in range(self.layers):
            a = x @ self.W[k].T + self.b[k]
            if k > 0:
                a = a + z @ F.softplus(self.U_raw[k - 1]).T
            pre.append(a)
            z = F.softplus(a)
        delta = F.softplus(self.u_raw) * dact(pre[-1])  # (B, h)
        out = self.w_out + delta @ self.W[-1]
        for k in range(self.layers - 1, 0, -1):
            delta = (delta @ F.softplus(self.U_raw[k - 1])) * dact(pre[k - 1])
            out = out + delta @ self.W[k - 1]
        if self.V is not None:
            out = out + (x @ self.V.T) @ self.V
        return out

    def jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """``J_T(x) = ∇²φ(x)`` by autograd (``mgn_utils.autodiff.hessian``): ``(B, d, d)``,
        symmetric PSD."""
        from ..autodiff import hessian

        self._check_input(x)
        return hessian(self.potential, x)


class ICGN(nn.Module):
    r"""Input convex gradient network (Richter-Powell, Lorraine & Amos, 2021), one layer.

    The network parametrises the Jacobian (the Hessian of the potential) and integrates it::

        V(y) = diag(σ'(W y + b)) W                 (h, d): Jacobian of y ↦ σ(W y + b)
        H(y) = V(y)ᵀ V(y) = Wᵀ diag(σ'(W y + b)²) W
        T(x) = ∫₀¹ H(t x) x dt + c

    ``H(y)`` is symmetric PSD for every ``y`` (a Gram matrix). It is also a valid Hessian
    field: ``∂_k H_ij = Σ_m 2 σ'σ''(·)_m W_mi W_mj W_mk`` is symmetric in ``(i, j, k)``, so the
    line integral from 0 is path independent and ``T = ∇φ`` with ``∇²φ = H ⪰ 0``: ``φ`` is
    convex. (For deeper ``V`` networks that symmetry fails, which is why ICGNs are one layer.)
    The integral is computed with ``quadrature`` Gauss-Legendre nodes on ``[0, 1]``::

        T(x) ≈ Wᵀ [ (Σ_i w_i σ'(t_i W x + b)²) ⊙ (W x) ] + c

    Its autograd Jacobian is ``Wᵀ diag(c̃(x)) W``: exactly symmetric, and equal to ``H(x)``
    up to the quadrature error (``c̃ → σ'(Wx + b)²`` as nodes are added; a coarse rule can make
    an entry of ``c̃`` slightly negative where ``σ'²`` is tiny). :meth:`jacobian` returns the
    exact ``H(x)``. With ``σ = tanh`` the integral has the closed form
    ``T(x) = Wᵀ [G(W x + b) − G(b)] + c``, ``G = tanh − tanh³/3``: a one-layer ICGN is a
    ridge-function gradient ``Wᵀ ψ(W x + b)`` with ``ψ`` increasing.

    Parameter count: ``h d + h`` (+ ``d`` with ``bias=True``).

    Args:
        dim: input dimension ``d``.
        hidden: width ``h`` (rows of ``W``).
        activation: ``"tanh"``, ``"sigmoid"`` or ``"softplus"`` (``σ``; only ``σ'`` is used).
        quadrature: number of Gauss-Legendre nodes.
        bias: learn the output offset ``c`` (``T(0) = c``); without it ``T(0) = 0``.
        w_scale: ``W`` and ``b`` are drawn from ``N(0, w_scale²/d)`` and ``N(0, w_scale²)``.
    """

    check_finite: bool = False

    def __init__(
        self,
        dim: int,
        hidden: int,
        activation: str = "tanh",
        quadrature: int = 16,
        bias: bool = True,
        w_scale: float = 1.0,
    ):
        super().__init__()
        dim, hidden = _check_dim(dim), check_int(hidden, "hidden")
        quadrature = check_int(quadrature, "quadrature")
        if hidden < 1 or quadrature < 1:
            raise ValueError(
                f"hidden and quadrature must be >= 1, got hidden={hidden}, quadrature={quadrature}"
            )
        if activation not in ("tanh", "sigmoid", "softplus"):
            raise ValueError(
                f"activation must be 'tanh', 'sigmoid' or 'softplus', got {activation!r}"
            )
        self.dim, self.hidden, self.activation, self.quadrature = (
            dim,
            hidden,
            activation,
            quadrature,
        )
        self.W = nn.Parameter(torch.randn(hidden, dim) * (w_scale / math.sqrt(dim)))
        self.b = nn.Parameter(torch.randn(hidden) * w_scale)
        self.c = nn.Parameter(torch.zeros(dim)) if bias else None
        import numpy as np

        nodes, weights = np.polynomial.legendre.leggauss(quadrature)  # on [-1, 1], float64
        self._t, self._w = (nodes + 1) / 2, weights / 2  # kept in float64, cast per call

    def nodes(self, dtype=torch.float64, device=None):
        """Gauss-Legendre nodes ``t_i`` and weights ``w_i`` on ``[0, 1]`` (``Σ w_i = 1``)."""
        return (
            torch.as_tensor(self._t, dtype=dtype, device=device),
            torch.as_tensor(self._w, dtype=dtype, device=device),
        )

    def _check_input(self, x):
        check_model_input(self, x)

    def _dact(self, z):
        return ACTIVATIONS[self.activation][1](z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``T(x)`` by Gauss-Legendre quadrature: ``(B, d) -> (B, d)``."""
        self._check_input(x)
        t, w = self.nodes(self.W.dtype, self.W.device)
        u = x @ self.W.T  # (B, h)
        z = t[:, None, None] * u + self.b  # (n, B, h)
        coef = (w[:, None, None] * self._dact(z) ** 2).sum(0)  # ≈ ∫₀¹ σ'(t u + b)² dt
        out = (coef * u) @ self.W
        return out + self.c if self.c is not None else out

    def jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """Exact ``H(x) = Wᵀ diag(σ'(W x + b)²) W``: ``(B, d) -> (B, d, d)``, symmetric PSD.

        The quadrature map's autograd Jacobian equals this up to the quadrature error."""
        self._check_input(x)
        D = self._dact(x @ self.W.T + self.b) ** 2
        return torch.einsum("hi,bh,hj->bij", self.W, D, self.W)


class MLPMap(nn.Module):
    """Unconstrained multilayer perceptron ``(B, d) -> (B, d)``: the baseline without structure.

    ``layers`` hidden layers of width ``hidden`` with ``activation`` (``"tanh"``,
    ``"softplus"`` or ``"relu"``), PyTorch's default initialisation. Its Jacobian is in general
    neither symmetric nor PSD, so it is not the gradient of any (convex) function.
    Parameter count (one hidden layer): ``h d + h + d h + d``.
    """

    check_finite: bool = False

    def __init__(self, dim: int, hidden: int, layers: int = 1, activation: str = "tanh"):
        super().__init__()
        dim, hidden, layers = _check_sizes(dim, hidden, layers)
        acts = {"tanh": nn.Tanh, "softplus": nn.Softplus, "relu": nn.ReLU}
        if activation not in acts:
            raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}")
        self.dim, self.hidden, self.layers = dim, hidden, layers
        mods, width = [], dim
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), acts[activation]()]
            width = hidden
        mods.append(nn.Linear(width, dim))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``T(x)``: ``(B, d) -> (B, d)``."""
        check_model_input(self, x)
        return self.net(x)

    def jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """Jacobian by autograd (``mgn_utils.autodiff.jacobian``): ``(B, d, d)``, not symmetric."""
        from ..autodiff import jacobian

        check_model_input(self, x)
        return jacobian(self, x)
