"""Monotone gradient networks (C-MGN, M-MGN) with closed-form Jacobians.

Conventions used throughout the package:

* Inputs and outputs are batch-first row vectors: a map takes ``x`` of shape
  ``(B, d)`` and returns ``(B, d)``.
* A monotone gradient network (MGN) is a map ``T = ∇φ`` with ``φ`` convex, so its
  Jacobian ``J_T(x) = ∇²φ(x)`` is symmetric positive semidefinite for every ``x``.
  Both networks below add ``(VᵀV + εI) x`` so that ``J_T(x) ⪰ εI``: the map is
  strictly monotone, hence invertible, and ``log det J_T`` is finite.

The chapter "Monotone gradient networks" derives the two Jacobians used here:

* C-MGN (cascaded):  ``J(x) = Wᵀ D(x) W + VᵀV + εI`` with ``D(x)`` diagonal and
  nonnegative (sums of products of activation derivatives).
* M-MGN (modular):   ``J(x) = VᵀV + εI + Σ_k [ s_k(z_k) W_kᵀ diag(σ_k'(z_k)) W_k
  + (W_kᵀ σ_k(z_k)) (W_kᵀ σ_k(z_k))ᵀ ]`` with ``z_k = W_k x + b_k``, which is PSD when
  ``s_k`` is convex and nonnegative and ``σ_k = ∇s_k``. Here ``s_k(z) = Σ_i log cosh z_i``
  and ``σ_k = tanh``.

The file ends with the baselines the chapter "Learning gradients of convex functions" compares
against, with the same ``(B, d) -> (B, d)`` interface: ``ICNN`` (gradient of an input convex
neural network, by autograd), ``ICGN`` (input convex gradient network: a line integral of a PSD
Jacobian) and ``MLPMap`` (an unconstrained MLP).

Rank: ``Wᵀ D(x) W`` has rank at most the hidden width, so without the ``VᵀV`` term a
network narrower than ``d`` has a singular Jacobian (``log det = -∞``) everywhere. The
same low rank is what makes ``log det J`` cheap: when the total hidden rank ``r`` is
below ``d`` we use the matrix-determinant lemma, ``det(A + Uᵀ C U) = det(A) det(I_r +
C^{1/2} U A^{-1} Uᵀ C^{1/2})`` with ``A = VᵀV + εI`` (one ``d×d`` Cholesky per call, then
one ``r×r`` Cholesky per sample) instead of a ``d×d`` factorisation per sample.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import check_float, check_int, check_model_input, in_functorch

__all__ = [
    "AffineStart",
    "MonotoneGradientNet",
    "CMGN",
    "MMGN",
    "ACTIVATIONS",
    "init_affine",
    "logdet_spd",
]

# Activation functions with their derivatives. Every derivative is >= 0, which is what
# makes D(x) nonnegative in the C-MGN Jacobian. softplus mirrors torch's threshold of 20:
# above it torch returns the input itself, whose derivative is exactly 1.
ACTIVATIONS = {
    "softplus": (F.softplus, lambda z: torch.where(z > 20, torch.ones_like(z), torch.sigmoid(z))),
    "sigmoid": (torch.sigmoid, lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z))),
    "tanh": (torch.tanh, lambda z: 1 - torch.tanh(z) ** 2),
    "relu": (F.relu, lambda z: (z > 0).to(z.dtype)),
}

_SQRT_EPS = 1e-12  # keeps sqrt(c) differentiable where an activation derivative underflows to 0


class _LogdetSPD(torch.autograd.Function):
    """``log det K`` of a batch of symmetric positive definite matrices by Cholesky.

    The backward uses ``d log det K = tr(K⁻¹ dK)`` with ``K⁻¹`` from the saved factor
    (``cholesky_inverse``): about twice as fast as differentiating through
    ``torch.linalg.cholesky``. First derivatives only. The forward/``setup_context`` split and
    ``generate_vmap_rule`` make it usable under ``torch.func`` (``grad``, ``vmap``).
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(K):
        L, info = torch.linalg.cholesky_ex(K)
        return 2 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1), L, info

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, L, info = output
        ctx.mark_non_differentiable(L, info)
        ctx.save_for_backward(L)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad, _grad_L, _grad_info):
        (L,) = ctx.saved_tensors
        return grad[..., None, None] * torch.cholesky_inverse(L)


def logdet_spd(K: torch.Tensor) -> torch.Tensor:
    """``log det K`` for symmetric positive definite ``K``.

    Parameters
    ----------
    K : Tensor, shape ``(..., n, n)``
        Symmetric positive definite matrices.

    Returns
    -------
    Tensor, shape ``(...)``

    Raises
    ------
    ValueError
        When ``K`` is not a floating tensor of shape ``(..., n, n)``.
    torch.linalg.LinAlgError
        When the Cholesky factorisation fails (``K`` not positive definite in its precision);
        not checked inside ``torch.func`` transforms.
    """
    if not torch.is_tensor(K) or not K.is_floating_point():
        raise TypeError(f"K must be a floating torch.Tensor of shape (..., n, n), got {K!r:.60}")
    if K.ndim < 2 or K.shape[-1] != K.shape[-2]:
        raise ValueError(f"K must have shape (..., n, n) (square matrices), got {tuple(K.shape)}")
    logdet, _, info = _LogdetSPD.apply(K)
    if not in_functorch() and bool((info != 0).any()):
        raise torch.linalg.LinAlgError(
            "logdet_spd needs symmetric positive definite matrices: the Cholesky factorisation "
            f"failed on {int((info != 0).sum())} of {info.numel()} matrices"
        )
    return logdet


def _logcosh(z: torch.Tensor) -> torch.Tensor:
    """Numerically stable ``log cosh z`` (elementwise, ``>= 0``)."""
    a = z.abs()
    return a + F.softplus(-2 * a) - math.log(2.0)


class AffineStart:
    """Affine starts for maps of the form ``(VᵀV + εI) x + bias + (non-linear part)``.

    Mixed into the MGNs and into :class:`~mgn_utils.models.ICNN` (with ``quadratic=True``).
    The class needs parameters ``V`` of shape ``(d, d)``, a float ``eps`` and an output bias
    (``b_out``, ``a`` or ``w_out``).
    """

    #: constructor options that :meth:`gaussian_start` and :meth:`identity_start` need
    _affine_start_kwargs: dict = {}

    def init_affine(self, A, b, x, n_jacobian: int = 512):
        """Start the map close to the affine map ``x ↦ x A + b`` (row vectors), in place.

        The non-linear part is kept, but its average Jacobian over the first ``n_jacobian``
        rows of ``x`` is compensated through ``V`` (so that ``VᵀV + εI = A − M``, eigenvalues
        floored at ``0.05 λ_min(A)``), then the output bias is shifted so that the mean of
        ``T(x) − (x A + b)`` over ``x`` is zero: first-order agreement on average over the data.

        Parameters
        ----------
        A : Tensor, shape ``(d, d)``
            Symmetric positive definite.
        b : Tensor, shape ``(d,)``
        x : Tensor, shape ``(n, d)``
            Source samples where the agreement is sought.
        n_jacobian : int
            How many rows of ``x`` estimate the average Jacobian.

        Returns
        -------
        self
        """
        return init_affine(self, A, b, x, n_jacobian)

    @classmethod
    def gaussian_start(cls, xs, xt, *args, n_jacobian: int = 512, **kwargs):
        """A new network started at the Gaussian (Bures) OT map between two samples.

        The affine map ``x ↦ x A + b`` between the moment-matched Gaussians of ``xs`` and ``xt``
        (POT's ``ot.gaussian.empirical_bures_wasserstein_mapping``, cost ``‖x−y‖²``) is the
        optimal map when both measures are Gaussian; :meth:`init_affine` then starts the
        network there.

        Parameters
        ----------
        xs : Tensor, shape ``(n, d)``
            Source samples.
        xt : Tensor, shape ``(m, d)``
            Target samples (unpaired).
        *args, **kwargs
            The constructor's arguments (``dim`` is taken from the samples).

        Returns
        -------
        nn.Module
            An instance of the class the method is called on.
        """
        from ..distributions import empirical_gaussian_map

        A, b = empirical_gaussian_map(xs, xt)
        xs = torch.as_tensor(xs)
        kwargs = {**cls._affine_start_kwargs, **kwargs}
        model = cls(xs.shape[1], *args, **kwargs).to(device=xs.device)
        if xs.is_floating_point():
            model = model.to(dtype=xs.dtype)
        return model.init_affine(A, b, xs, n_jacobian=n_jacobian)

    @classmethod
    def identity_start(cls, xs, *args, n_jacobian: int = 512, **kwargs):
        """A new network started close to the identity map on the samples ``xs``.

        :meth:`init_affine` with ``A = I`` and ``b = 0``; the standard start of input convex
        networks in the W2 literature (Korotin et al., 2021, who pretrain to it).

        Parameters
        ----------
        xs : Tensor, shape ``(n, d)``
            Source samples where the agreement is sought.
        *args, **kwargs
            The constructor's arguments (``dim`` is taken from the samples).
        """
        xs = torch.as_tensor(xs)
        d = xs.shape[1]
        eye = torch.eye(d, dtype=torch.float64, device=xs.device)
        kwargs = {**cls._affine_start_kwargs, **kwargs}
        model = cls(d, *args, **kwargs).to(device=xs.device)
        if xs.is_floating_point():
            model = model.to(dtype=xs.dtype)
        return model.init_affine(eye, torch.zeros(d, dtype=torch.float64), xs, n_jacobian)


class MonotoneGradientNet(AffineStart, nn.Module):
    """Common parts of C-MGN and M-MGN: the ``(VᵀV + εI) x`` term, input checks, log-det.

    Subclasses implement ``forward``, ``potential``, ``jacobian``, ``hidden_rank`` and
    ``_lowrank_gram``. Set ``model.check_finite = True`` to have every call check that its
    input is finite (off by default: the check synchronises a GPU with the host).
    """

    check_finite: bool = False

    def __init__(self, dim: int, eps: float = 1e-6, v_rank: int | None = None):
        super().__init__()
        dim = check_int(dim, "dim")
        eps = check_float(eps, "eps", nonnegative=True)
        if v_rank is not None:
            v_rank = check_int(v_rank, "v_rank (None for a full (d, d) V)", 1, dim)
        self.dim = dim
        self.eps = float(eps)
        # V is (r, d): VᵀV has rank <= r. r = d (default) starts at VᵀV = I, well conditioned
        # (a Gaussian V gives cond(VᵀV) up to 1e8 at d = 784); r < d starts at an orthogonal
        # projection and saves (d - r) d
        # parameters (784-D images), but A = VᵀV + εI is then nearly singular: fine for
        # sample-based losses, not for the log-det.
        self.V = nn.Parameter(torch.empty(v_rank or dim, dim))
        nn.init.orthogonal_(self.V)

    # -- helpers -----------------------------------------------------------------------
    def linear_part(self) -> torch.Tensor:
        """The constant PSD matrix ``A = VᵀV + εI`` of shape ``(d, d)``."""
        eye = torch.eye(self.dim, dtype=self.V.dtype, device=self.V.device)
        return self.V.T @ self.V + self.eps * eye

    def _check_input(self, x: torch.Tensor) -> None:
        check_model_input(self, x)

    def _lowrank_gram(self, x: torch.Tensor, L: torch.Tensor):
        """Return ``(G, c)`` with ``J(x) = A + Uᵀ diag(c) U`` and ``G = U A⁻¹ Uᵀ``.

        ``L`` is the Cholesky factor of ``A = VᵀV + εI``. ``G`` is ``(r, r)`` when ``U`` does
        not depend on ``x`` (C-MGN) and ``(B, r, r)`` otherwise; ``c`` is ``(B, r)``, ``>= 0``.
        """
        raise NotImplementedError

    def hidden_rank(self) -> int:
        """Upper bound ``r`` on ``rank(J(x) - A)``; the lemma is used when ``r < d``."""
        raise NotImplementedError

    def logdet_jacobian(self, x: torch.Tensor, method: str = "auto") -> torch.Tensor:
        """``log det J_T(x)`` for each row of ``x``: shape ``(B, d) -> (B,)``, in closed form.

        ``method``: ``"lemma"`` (matrix-determinant lemma, cost ``O(d³ + B r³)``),
        ``"cholesky"`` (closed-form Jacobian then a ``d×d`` Cholesky per sample, cost
        ``O(B d³)``), or ``"auto"`` (lemma when the hidden rank ``r`` is below ``d``).
        Both are exact; ``J ⪰ εI`` guarantees the Cholesky factorisations exist.
        """
        self._check_input(x)
        if method == "auto":
            method = "lemma" if self.hidden_rank() < self.dim else "cholesky"
        if method == "cholesky":
            return logdet_spd(self.jacobian(x))
        if method != "lemma":
            raise ValueError(f"method must be 'auto', 'lemma' or 'cholesky', got {method!r}")
        L = torch.linalg.cholesky(self.linear_part())
        logdet_a = 2 * torch.log(torch.diagonal(L)).sum()
        G, c = self._lowrank_gram(x, L)
        sc = torch.sqrt(c + _SQRT_EPS)  # (B, r)
        K = sc.unsqueeze(-1) * G * sc.unsqueeze(-2)
        K = K + torch.eye(K.shape[-1], dtype=K.dtype, device=K.device)
        return logdet_a + logdet_spd(K)


class CMGN(MonotoneGradientNet):
    r"""Cascaded monotone gradient network (Chaudhari, Pranav & Moura, 2023).

    With one shared weight ``W`` of shape ``(hidden, dim)``::

        z_0 = W x + b_0
        z_l = W x + σ(z_{l-1}) + b_l            l = 1, ..., L-1
        T(x) = Wᵀ σ(z_{L-1}) + (VᵀV + εI) x + b_L

    Jacobian (derived in chapter 2): ``J(x) = Wᵀ D(x) W + VᵀV + εI`` where ``D(x)`` is
    diagonal with ``D = σ'(z_{L-1}) Q_{L-1}``, ``Q_0 = 1``, ``Q_l = 1 + σ'(z_{l-1}) Q_{l-1}``
    (elementwise). ``σ' >= 0`` makes ``D >= 0``, so ``J`` is symmetric PSD (``⪰ εI``) and
    ``T`` is the gradient of a convex function. ``rank(Wᵀ D W) <= hidden``.

    Args:
        dim: input and output dimension ``d``.
        hidden: width ``h`` of ``W``.
        layers: number ``L >= 1`` of hidden states ``z_0, ..., z_{L-1}``.
        activation: one of ``"softplus"``, ``"sigmoid"``, ``"tanh"``, ``"relu"``.
        eps: the ``ε`` of ``εI`` (strict monotonicity; kept tiny).
        w_scale: ``W`` is drawn from ``N(0, (w_scale/√h)²)`` so the map starts near the
            identity (``N(0, 1/d)`` would make ``Wᵀσ(z)`` dominate); ``V`` starts orthogonal,
            so ``VᵀV = I``.
        v_rank: number of rows ``r`` of ``V`` (default ``d``). ``r < d`` gives a low-rank
            ``VᵀV`` and ``(d − r) d`` fewer parameters; the Jacobian stays symmetric PSD.
    """

    def __init__(
        self,
        dim: int,
        hidden: int,
        layers: int = 3,
        activation: str = "softplus",
        eps: float = 1e-6,
        w_scale: float = 0.3,
        v_rank: int | None = None,
    ):
        super().__init__(dim, eps, v_rank)
        dim, hidden, layers = self.dim, check_int(hidden, "hidden"), check_int(layers, "layers")
        w_scale = check_float(w_scale, "w_scale", nonnegative=True)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.hidden, self.layers, self.activation = hidden, layers, activation
        self.W = nn.Parameter(torch.randn(hidden, dim) * (w_scale / math.sqrt(hidden)))
        self.b = nn.Parameter(torch.zeros(layers, hidden))
        self.b_out = nn.Parameter(torch.zeros(dim))

    def _hidden(self, x):
        """Return the list of pre-activations ``[z_0, ..., z_{L-1}]``, each ``(B, h)``."""
        act = ACTIVATIONS[self.activation][0]
        wx = x @ self.W.T
        zs = [wx + self.b[0]]
        for l in range(1, self.layers):
            zs.append(wx + act(zs[-1]) + self.b[l])
        return zs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``T(x)``: ``(B, d) -> (B, d)``."""
        self._check_input(x)
        return self._map(x)

    def _map(self, x: torch.Tensor) -> torch.Tensor:
        """The kernel of :meth:`forward` (checked input)."""
        act = ACTIVATIONS[self.activation][0]
        z_last = self._hidden(x)[-1]
        return act(z_last) @ self.W + x @ self.linear_part() + self.b_out

    def diag_D(self, x: torch.Tensor) -> torch.Tensor:
        """The nonnegative diagonal ``D(x)`` of the Jacobian, shape ``(B, h)``."""
        dact = ACTIVATIONS[self.activation][1]
        q = torch.ones(x.shape[0], self.hidden, dtype=x.dtype, device=x.device)
        zs = self._hidden(x)
        for z in zs[:-1]:
            q = 1 + dact(z) * q
        return dact(zs[-1]) * q

    def jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """Closed-form ``J(x) = Wᵀ D(x) W + VᵀV + εI``: ``(B, d) -> (B, d, d)``, symmetric."""
        self._check_input(x)
        D = self.diag_D(x)
        return torch.einsum("hi,bh,hj->bij", self.W, D, self.W) + self.linear_part()

    def hidden_rank(self) -> int:
        return self.hidden

    def potential(self, x: torch.Tensor, n_nodes: int = 32) -> torch.Tensor:
        """The convex potential ``φ(x) − φ(0)`` with ``T = ∇φ``: ``(B, d) -> (B,)``.

        The cascade has no elementary antiderivative, so ``φ`` is the line integral
        ``∫₀¹ ⟨T(t x), x⟩ dt`` by ``n_nodes``-point Gauss-Legendre quadrature
        (:func:`mgn_utils.autodiff.line_integral_potential`; error below 1e-10 for smooth
        activations at unit scale). Chapter 02 introduces it.
        """
        from ..autodiff import _line_integral

        self._check_input(x)  # once: the quadrature nodes go to the unchecked kernel
        x0 = torch.zeros(self.dim, dtype=x.dtype, device=x.device)
        return _line_integral(self._map, x, check_int(n_nodes, "n_nodes"), x0)

    def _lowrank_gram(self, x, L):
        M = torch.linalg.solve_triangular(L, self.W.T, upper=False)  # L⁻¹Wᵀ, (d, h)
        return M.T @ M, self.diag_D(x)


class MMGN(MonotoneGradientNet):
    r"""Modular monotone gradient network (Chaudhari, Pranav & Moura, 2023).

    ``K = modules`` modules, each with ``W_k`` of shape ``(hidden, dim)``::

        z_k = W_k x + b_k
        T(x) = a + (VᵀV + εI) x + Σ_k s_k(z_k) W_kᵀ σ_k(z_k)

    with ``s_k(z) = Σ_i log cosh z_i`` (convex, nonnegative) and ``σ_k = tanh = ∇s_k``.
    Each module is the gradient of ``½ s_k(W_k x + b_k)²``, a convex function because it is
    the square of a convex nonnegative function: that, not "σ_k and s_k non-decreasing", is
    the condition that makes the Jacobian PSD. Jacobian:
    ``VᵀV + εI + Σ_k [s_k W_kᵀ diag(σ_k') W_k + (W_kᵀσ_k)(W_kᵀσ_k)ᵀ]``; its low-rank part
    has rank at most ``K (hidden + 1)``.

    Args:
        dim: input and output dimension ``d``.
        hidden: width ``h`` of each ``W_k``.
        modules: number ``K`` of modules.
        eps: the ``ε`` of ``εI``.
        w_scale: ``W_k`` drawn from ``N(0, w_scale²/h)``; default ``(0.1/(K d))^{1/4}``, which
            starts the map near the identity for unit-scale inputs. ``V`` starts orthogonal.
        v_rank: number of rows ``r`` of ``V`` (default ``d``), as in :class:`CMGN`.
    """

    def __init__(
        self,
        dim: int,
        hidden: int,
        modules: int = 4,
        eps: float = 1e-6,
        w_scale: float | None = None,
        v_rank: int | None = None,
    ):
        super().__init__(dim, eps, v_rank)
        dim, hidden, modules = self.dim, check_int(hidden, "hidden"), check_int(modules, "modules")
        self.hidden, self.modules_count = hidden, modules
        # For x ~ N(0, I) the module sum is about ½ K (h w²)² d · x (cubic in W). The default
        # w = (0.1 / (K d))^{1/4} / √h makes it about 5% of x: the map starts near the identity.
        if w_scale is None:
            w_scale = (0.1 / (modules * dim)) ** 0.25
        w_scale = check_float(w_scale, "w_scale", nonnegative=True)
        self.W = nn.Parameter(torch.randn(modules, hidden, dim) * (w_scale / math.sqrt(hidden)))
        self.b = nn.Parameter(torch.zeros(modules, hidden))
        self.a = nn.Parameter(torch.zeros(dim))

    def _pre(self, x):
        K, h = self.modules_count, self.hidden
        z = x @ self.W.reshape(K * h, self.dim).T + self.b.reshape(K * h)  # (B, K h)
        s = _logcosh(z).reshape(-1, K, h).sum(-1)  # (B, K)
        return z, s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``T(x)``: ``(B, d) -> (B, d)``."""
        self._check_input(x)
        K, h = self.modules_count, self.hidden
        z, s = self._pre(x)
        weighted = torch.tanh(z) * s.repeat_interleave(h, dim=1)  # s_k σ_k(z_k), (B, K h)
        return self.a + x @ self.linear_part() + weighted @ self.W.reshape(K * h, self.dim)

    def jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """Closed-form Jacobian ``(B, d) -> (B, d, d)``, symmetric PSD (``⪰ εI``)."""
        self._check_input(x)
        K, h = self.modules_count, self.hidden
        z, s = self._pre(x)
        t = torch.tanh(z)
        c = s.repeat_interleave(h, dim=1) * (1 - t**2)  # s_k σ_k'(z_k) >= 0, (B, K h)
        Wf = self.W.reshape(K * h, self.dim)
        u = torch.einsum("bkh,khd->bkd", t.reshape(-1, K, h), self.W)  # W_kᵀ σ_k, (B, K, d)
        return torch.einsum("ri,br,rj->bij", Wf, c, Wf) + u.transpose(1, 2) @ u + self.linear_part()

    def hidden_rank(self) -> int:
        return self.modules_count * (self.hidden + 1)

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        """Closed-form convex potential ``φ(x) = aᵀx + ½ xᵀ(VᵀV + εI)x + Σ_k ½ s_k(W_k x + b_k)²``.

        ``T = ∇φ`` exactly (chapter 02 derives it): ``(B, d) -> (B,)``.
        """
        self._check_input(x)
        _, s = self._pre(x)
        quad = 0.5 * ((x @ self.linear_part()) * x).sum(-1)
        return x @ self.a + quad + 0.5 * (s**2).sum(-1)

    def _lowrank_gram(self, x, L):
        K, h = self.modules_count, self.hidden
        z, s = self._pre(x)
        t = torch.tanh(z)
        c_w = s.repeat_interleave(h, dim=1) * (1 - t**2)  # (B, K h)
        Mw = torch.linalg.solve_triangular(
            L, self.W.reshape(K * h, self.dim).T, upper=False
        )  # (d, K h)
        # L⁻¹ u_k = L⁻¹ W_kᵀ σ_k = Mw_k σ_k: (B, d, K)
        mu = torch.einsum("dkh,bkh->bdk", Mw.reshape(self.dim, K, h), t.reshape(-1, K, h))
        # G = [[MwᵀMw, Mwᵀmu], [muᵀMw, muᵀmu]]: only the K last rows/columns depend on x.
        g11 = (Mw.T @ Mw).expand(x.shape[0], -1, -1)
        g12 = torch.einsum("dr,bdk->brk", Mw, mu)
        g22 = mu.transpose(1, 2) @ mu
        G = torch.cat([torch.cat([g11, g12], 2), torch.cat([g12.transpose(1, 2), g22], 2)], 1)
        c = torch.cat([c_w, torch.ones_like(s)], dim=1)
        return G, c


def init_affine(T: nn.Module, A, b, x, n_jacobian: int = 512) -> nn.Module:
    """Start a map ``T`` with a PSD linear term close to ``x ↦ x A + b``, in place.

    ``T`` is any module used as ``(VᵀV + εI) x + bias + (non-linear part)`` with parameters
    ``V`` ``(d, d)``, ``eps`` and ``b_out`` (or ``a``, or ``w_out``) — the MGNs, the ICNN with
    ``quadratic=True``, or a chapter's own variant. See :meth:`AffineStart.init_affine`.
    Returns ``T``.
    """
    from ..autodiff import jacobian
    from ..distributions import sqrtm_psd

    if getattr(T, "V", None) is None:
        raise ValueError(
            f"init_affine needs a linear part V: {type(T).__name__} has none "
            "(for an ICNN, build it with quadratic=True)"
        )
    dim = T.V.shape[1]
    A = torch.as_tensor(A, dtype=torch.float64, device=T.V.device)
    b = torch.as_tensor(b, dtype=torch.float64, device=T.V.device).reshape(-1)
    x = torch.as_tensor(x, device=T.V.device).to(T.V.dtype)
    if A.shape != (dim, dim) or b.shape != (dim,):
        raise ValueError(
            f"A must have shape ({dim}, {dim}) and b ({dim},), "
            f"got {tuple(A.shape)} and {tuple(b.shape)}"
        )
    if T.V.shape[0] != dim:
        raise ValueError("init_affine needs a full V (v_rank=None)")
    eye = torch.eye(dim, dtype=A.dtype, device=A.device)
    J = jacobian(T, x[:n_jacobian]).detach().mean(0).to(A.dtype)
    with torch.no_grad():
        lin = (T.V.T @ T.V).to(A.dtype) + T.eps * eye
        C = A - (J - lin)
        C = (C + C.T) / 2
        evals, evecs = torch.linalg.eigh(C)
        floor = 0.05 * float(torch.linalg.eigvalsh(A).min())
        C = evecs @ torch.diag(evals.clamp_min(floor)) @ evecs.T
        T.V.copy_(sqrtm_psd(C - T.eps * eye).to(T.V))
        bias = next(getattr(T, n) for n in ("b_out", "a", "w_out") if hasattr(T, n))
        shift = (x.to(A.dtype) @ A + b - T(x).to(A.dtype)).mean(0)
        bias.add_(shift.to(bias))
    return T
