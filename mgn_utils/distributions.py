"""Reference distributions and closed-form Gaussian optimal transport.

Conventions used throughout this module
---------------------------------------
* **Batch-first row vectors.** A batch of ``n`` points in ``R^d`` is a tensor of
  shape ``(n, d)``; ``sample(n)`` returns ``(n, d)`` and ``log_prob(x)`` takes
  ``(n, d)`` and returns ``(n,)``.
* **Dtypes.** Floating-point tensors keep their dtype and device. Other input
  goes through ``torch.as_tensor``: numpy float arrays keep their dtype
  (float64 stays float64), Python float lists become
  ``torch.get_default_dtype()``, and integer input is cast to
  ``torch.get_default_dtype()``. Inputs with different floating dtypes are
  promoted to the common one (``torch.promote_types``) and moved to the device
  of the first one.
* **Cost.** The optimal transport quantities here are for the quadratic cost
  ``c(x, y) = ||x - y||^2`` (the usual 2-Wasserstein distance). With the cost
  ``1/2 ||x - y||^2`` the optimal map is the same (Brenier map) and the optimal
  value is ``W2^2 / 2``.
* **W2 vs W2^2.** :func:`gaussian_w2` returns ``W2`` (the distance, *not*
  squared), like POT's ``ot.gaussian.bures_wasserstein_distance``.
* **Validation.** Bad shapes, non-finite values, non-symmetric or non positive
  definite covariances and weights not summing to one raise ``ValueError``
  with a message naming the expected shape.
"""

from __future__ import annotations

import math
import operator
from typing import Optional, Tuple

import torch

__all__ = [
    "Gaussian",
    "GaussianMixture",
    "gaussian_ot_map",
    "gaussian_w2",
    "sqrtm_psd",
]

_WEIGHT_SUM_TOL = 1e-6


# ----------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------
def _fmt(shape) -> str:
    """Format a shape as ``(a, b)`` / ``(a,)`` (like a Python tuple)."""
    return str(tuple(int(s) for s in shape))


def _as_float_tensor(x, name: str) -> torch.Tensor:
    """Tensor of a floating dtype; floating tensors keep dtype and device."""
    if isinstance(x, torch.Tensor):
        t = x
    else:
        try:
            t = torch.as_tensor(x)
        except Exception as exc:  # ragged lists, strings, ...
            raise ValueError(f"{name} could not be converted to a tensor: {exc}") from exc
    if t.is_complex():
        raise ValueError(f"{name} must be real; got dtype {t.dtype}")
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    return t


def _promote(*tensors: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    """Cast tensors to their common floating dtype and to the first one's device."""
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    device = tensors[0].device
    return tuple(t.to(device=device, dtype=dtype) for t in tensors)


def _check_finite(t: torch.Tensor, name: str, expected: str) -> None:
    if not bool(torch.isfinite(t.detach()).all()):
        raise ValueError(f"{name} (expected shape {expected}) contains NaN or infinite values")


def _sym_tol(S: torch.Tensor) -> torch.Tensor:
    """Absolute symmetry tolerance: sqrt(eps) times the largest entry (at least 1)."""
    scale = S.detach().abs().amax(dim=(-2, -1)).clamp_min(1.0)
    return math.sqrt(torch.finfo(S.dtype).eps) * scale


def _check_symmetric(S: torch.Tensor, name: str, expected: str) -> None:
    asym = (S.detach() - S.detach().transpose(-2, -1)).abs().amax(dim=(-2, -1))
    if bool((asym > _sym_tol(S)).any()):
        raise ValueError(
            f"{name} (expected shape {expected}) must be symmetric; "
            f"max |S - S^T| = {float(asym.max()):.3g}"
        )


def _symmetrize(S: torch.Tensor) -> torch.Tensor:
    return 0.5 * (S + S.transpose(-2, -1))


def _cholesky_or_raise(S: torch.Tensor, name: str, expected: str) -> torch.Tensor:
    L, info = torch.linalg.cholesky_ex(S)
    if bool((info != 0).any()):
        raise ValueError(
            f"{name} (expected shape {expected}) must be positive definite "
            "(Cholesky factorisation failed)"
        )
    return L


def _check_vector(m: torch.Tensor, name: str, d: Optional[int] = None) -> int:
    expected = "(d,)" if d is None else f"(d,) = ({d},)"
    if m.ndim != 1 or m.shape[0] == 0:
        raise ValueError(f"{name} must have shape {expected}; got shape {_fmt(m.shape)}")
    if d is not None and m.shape[0] != d:
        raise ValueError(f"{name} must have shape {expected}; got shape {_fmt(m.shape)}")
    _check_finite(m, name, expected)
    return int(m.shape[0])


def _check_square(S: torch.Tensor, name: str, d: int) -> str:
    expected = f"(d, d) = ({d}, {d})"
    if S.ndim != 2 or S.shape[0] != d or S.shape[1] != d:
        raise ValueError(f"{name} must have shape {expected}; got shape {_fmt(S.shape)}")
    _check_finite(S, name, expected)
    return expected


def _check_psd(S: torch.Tensor, name: str, expected: str) -> None:
    """Symmetric positive semi-definite within a relative tolerance."""
    evals = torch.linalg.eigvalsh(S.detach())
    tol = math.sqrt(torch.finfo(S.dtype).eps) * evals.abs().amax(dim=-1).clamp_min(1.0)
    if bool((evals.amin(dim=-1) < -tol).any()):
        raise ValueError(
            f"{name} (expected shape {expected}) must be positive semi-definite; "
            f"smallest eigenvalue {float(evals.min()):.3g}"
        )


def _check_n(n) -> int:
    try:
        if isinstance(n, bool):
            raise TypeError
        n = operator.index(n)
    except TypeError:
        raise ValueError(f"n must be a non-negative int; got {n!r}") from None
    if n < 0:
        raise ValueError(f"n must be a non-negative int; got {n}")
    return n


def _check_points(x, d: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    x = _as_float_tensor(x, "x")
    expected = f"(n, d) = (n, {d})"
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(f"x must have shape {expected}; got shape {_fmt(x.shape)}")
    return x.to(device=device, dtype=dtype)


# ----------------------------------------------------------------------------
# matrix square roots
# ----------------------------------------------------------------------------
def _sqrtm_sym(S: torch.Tensor, inverse_too: bool = False):
    """Square root of a symmetric matrix (no validation), eigenvalues clamped at 0.

    With ``inverse_too`` also returns ``S^{-1/2}`` (requires positive eigenvalues).
    """
    evals, evecs = torch.linalg.eigh(_symmetrize(S))
    evals = evals.clamp_min(0.0)
    sq = evals.sqrt()
    root = (evecs * sq.unsqueeze(-2)) @ evecs.transpose(-2, -1)
    root = _symmetrize(root)
    if not inverse_too:
        return root
    inv_root = _symmetrize((evecs / sq.unsqueeze(-2)) @ evecs.transpose(-2, -1))
    return root, inv_root


def sqrtm_psd(S) -> torch.Tensor:
    """Symmetric positive semi-definite square root ``S^{1/2}``.

    Parameters
    ----------
    S : tensor or array-like, shape ``(d, d)`` or batched ``(..., d, d)``
        Symmetric (within ``sqrt(eps) * max(1, max|S_ij|)``) real matrix, finite.

    Returns
    -------
    torch.Tensor, shape like ``S``, same floating dtype
        The unique symmetric PSD ``R`` with ``R @ R = S`` when ``S`` is PSD.
        Computed by ``torch.linalg.eigh`` of ``(S + S^T) / 2``; eigenvalues are
        clamped at 0 first, so slightly negative eigenvalues (round-off) are
        treated as 0 and the result is the root of the PSD part.

    Raises
    ------
    ValueError
        If ``S`` is not a square ``(..., d, d)`` matrix, is not finite or not symmetric.
    """
    S = _as_float_tensor(S, "S")
    expected = "(d, d) or (..., d, d)"
    if S.ndim < 2 or S.shape[-1] != S.shape[-2] or S.shape[-1] == 0:
        raise ValueError(f"S must have shape {expected}; got shape {_fmt(S.shape)}")
    _check_finite(S, "S", expected)
    _check_symmetric(S, "S", expected)
    return _sqrtm_sym(S)


# ----------------------------------------------------------------------------
# Gaussian
# ----------------------------------------------------------------------------
class Gaussian:
    """Multivariate normal distribution ``N(mean, cov)`` in ``R^d``.

    Parameters
    ----------
    mean : tensor or array-like, shape ``(d,)``
    cov : tensor or array-like, shape ``(d, d)``
        Symmetric (within ``sqrt(eps)`` relative) positive definite (Cholesky must
        succeed), finite. It is stored symmetrised, ``(cov + cov^T) / 2``.

    Floating tensors keep their dtype and device (mean and cov are promoted to a
    common dtype); other input is converted with ``torch.as_tensor`` (integers
    become ``torch.get_default_dtype()``).

    Attributes
    ----------
    dim : int
        ``d``.
    mean : torch.Tensor, shape ``(d,)``
    cov : torch.Tensor, shape ``(d, d)``
    scale_tril : torch.Tensor, shape ``(d, d)``
        Lower Cholesky factor ``L`` with ``L L^T = cov``.
    dtype, device
        Those of the stored tensors.

    Raises
    ------
    ValueError
        Wrong shapes (message names ``(d,)`` / ``(d, d)``), NaN/inf, a
        non-symmetric or non positive definite covariance.
    """

    def __init__(self, mean, cov):
        mean = _as_float_tensor(mean, "mean")
        cov = _as_float_tensor(cov, "cov")
        d = _check_vector(mean, "mean")
        expected = _check_square(cov, "cov", d)
        mean, cov = _promote(mean, cov)
        _check_symmetric(cov, "cov", expected)
        cov = _symmetrize(cov)
        self._L = _cholesky_or_raise(cov, "cov", expected)
        self._mean = mean
        self._cov = cov

    # -- properties ---------------------------------------------------------
    @property
    def dim(self) -> int:
        """Dimension ``d``."""
        return int(self._mean.shape[0])

    @property
    def mean(self) -> torch.Tensor:
        """Mean, shape ``(d,)``."""
        return self._mean

    @property
    def cov(self) -> torch.Tensor:
        """Covariance, shape ``(d, d)`` (symmetric positive definite)."""
        return self._cov

    @property
    def scale_tril(self) -> torch.Tensor:
        """Lower Cholesky factor ``L`` of the covariance, shape ``(d, d)``."""
        return self._L

    @property
    def dtype(self) -> torch.dtype:
        return self._mean.dtype

    @property
    def device(self) -> torch.device:
        return self._mean.device

    def __repr__(self) -> str:
        return f"Gaussian(dim={self.dim}, dtype={self.dtype}, device={self.device})"

    # -- methods ------------------------------------------------------------
    def to(self, device=None, dtype=None) -> "Gaussian":
        """New ``Gaussian`` with parameters moved/cast (re-validated)."""
        return Gaussian(
            self._mean.to(device=device, dtype=dtype), self._cov.to(device=device, dtype=dtype)
        )

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Draw ``n`` samples, shape ``(n, d)``, dtype/device of the distribution.

        ``x = mean + z @ L^T`` with ``z = torch.randn(n, d, generator=generator)``,
        so a seeded ``torch.Generator`` (on the same device) gives reproducible samples.
        """
        n = _check_n(n)
        z = torch.randn(n, self.dim, generator=generator, dtype=self.dtype, device=self.device)
        return self._mean + z @ self._L.transpose(-2, -1)

    def log_prob(self, x) -> torch.Tensor:
        """Log density at the rows of ``x``.

        Parameters
        ----------
        x : tensor or array-like, shape ``(n, d)``
            Cast to the distribution's dtype and device (gradients flow through).

        Returns
        -------
        torch.Tensor, shape ``(n,)``
            ``-1/2 (x-m)^T S^{-1} (x-m) - 1/2 log det S - d/2 log(2 pi)``, by a
            triangular solve with the Cholesky factor.
        """
        x = _check_points(x, self.dim, self.dtype, self.device)
        diff = (x - self._mean).transpose(-2, -1)  # (d, n)
        z = torch.linalg.solve_triangular(self._L, diff, upper=False)  # (d, n)
        half_logdet = torch.log(torch.diagonal(self._L)).sum()
        return -0.5 * (z * z).sum(dim=0) - half_logdet - 0.5 * self.dim * math.log(2 * math.pi)


# ----------------------------------------------------------------------------
# Gaussian mixture
# ----------------------------------------------------------------------------
class GaussianMixture:
    """Mixture ``sum_k w_k N(means[k], covs[k])`` of ``K`` Gaussians in ``R^d``.

    Parameters
    ----------
    weights : tensor or array-like, shape ``(K,)``
        Nonnegative, summing to 1 within ``1e-6`` (then renormalised exactly).
    means : tensor or array-like, shape ``(K, d)``
    covs : tensor or array-like, shape ``(K, d, d)``
        Each symmetric positive definite, finite.

    Dtype/device rules as for :class:`Gaussian` (all three promoted to a common dtype).

    Attributes
    ----------
    dim : int (``d``);  n_components : int (``K``)
    weights : ``(K,)``;  means : ``(K, d)``;  covs : ``(K, d, d)``
    mean : ``(d,)``, the mixture mean ``sum_k w_k m_k``
    cov : ``(d, d)``, the mixture covariance
        ``sum_k w_k (S_k + m_k m_k^T) - mean mean^T``

    Raises
    ------
    ValueError
        Wrong shapes (message names ``(K,)``, ``(K, d)``, ``(K, d, d)``), NaN/inf,
        negative weights or weights not summing to 1, a non-symmetric or non
        positive definite covariance.
    """

    def __init__(self, weights, means, covs):
        weights = _as_float_tensor(weights, "weights")
        means = _as_float_tensor(means, "means")
        covs = _as_float_tensor(covs, "covs")
        if weights.ndim != 1 or weights.shape[0] == 0:
            raise ValueError(f"weights must have shape (K,); got shape {_fmt(weights.shape)}")
        K = int(weights.shape[0])
        if means.ndim != 2 or means.shape[0] != K or means.shape[1] == 0:
            raise ValueError(
                f"means must have shape (K, d) = ({K}, d); got shape {_fmt(means.shape)}"
            )
        d = int(means.shape[1])
        expected_covs = f"(K, d, d) = ({K}, {d}, {d})"
        if covs.shape != (K, d, d):
            raise ValueError(f"covs must have shape {expected_covs}; got shape {_fmt(covs.shape)}")
        _check_finite(weights, "weights", f"(K,) = ({K},)")
        _check_finite(means, "means", f"(K, d) = ({K}, {d})")
        _check_finite(covs, "covs", expected_covs)
        weights, means, covs = _promote(weights, means, covs)
        if bool((weights < 0).any()):
            raise ValueError(f"weights (shape (K,) = ({K},)) must be nonnegative")
        total = float(weights.detach().sum())
        if abs(total - 1.0) > _WEIGHT_SUM_TOL:
            raise ValueError(
                f"weights (shape (K,) = ({K},)) must sum to 1 (tolerance {_WEIGHT_SUM_TOL:g}); "
                f"got sum {total:.9g}"
            )
        _check_symmetric(covs, "covs", expected_covs)
        covs = _symmetrize(covs)
        self._L = _cholesky_or_raise(covs, "covs", expected_covs)
        self._weights = weights / weights.sum()
        self._means = means
        self._covs = covs

    # -- properties ---------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self._means.shape[1])

    @property
    def n_components(self) -> int:
        return int(self._weights.shape[0])

    @property
    def weights(self) -> torch.Tensor:
        """Component weights, shape ``(K,)``, summing to 1."""
        return self._weights

    @property
    def means(self) -> torch.Tensor:
        """Component means, shape ``(K, d)``."""
        return self._means

    @property
    def covs(self) -> torch.Tensor:
        """Component covariances, shape ``(K, d, d)``."""
        return self._covs

    @property
    def scale_trils(self) -> torch.Tensor:
        """Lower Cholesky factors of the component covariances, shape ``(K, d, d)``."""
        return self._L

    @property
    def mean(self) -> torch.Tensor:
        """Mixture mean ``sum_k w_k m_k``, shape ``(d,)``."""
        return self._weights @ self._means

    @property
    def cov(self) -> torch.Tensor:
        """Mixture covariance ``sum_k w_k (S_k + m_k m_k^T) - mean mean^T``, shape ``(d, d)``."""
        m = self.mean
        second = torch.einsum("k,kij->ij", self._weights, self._covs) + torch.einsum(
            "k,ki,kj->ij", self._weights, self._means, self._means
        )
        return _symmetrize(second - torch.outer(m, m))

    @property
    def dtype(self) -> torch.dtype:
        return self._means.dtype

    @property
    def device(self) -> torch.device:
        return self._means.device

    def __repr__(self) -> str:
        return (
            f"GaussianMixture(n_components={self.n_components}, dim={self.dim}, "
            f"dtype={self.dtype}, device={self.device})"
        )

    # -- methods ------------------------------------------------------------
    def to(self, device=None, dtype=None) -> "GaussianMixture":
        """New ``GaussianMixture`` with parameters moved/cast (re-validated)."""
        return GaussianMixture(
            self._weights.to(device=device, dtype=dtype),
            self._means.to(device=device, dtype=dtype),
            self._covs.to(device=device, dtype=dtype),
        )

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Draw ``n`` samples, shape ``(n, d)``, dtype/device of the mixture.

        Component indices come from
        ``torch.multinomial(weights, n, replacement=True, generator=generator)``,
        then ``x = means[k] + L_k z`` with ``z = torch.randn(n, d, generator=generator)``.
        A seeded generator gives reproducible samples.
        """
        n = _check_n(n)
        if n == 0:
            return torch.empty(0, self.dim, dtype=self.dtype, device=self.device)
        idx = torch.multinomial(self._weights, n, replacement=True, generator=generator)
        z = torch.randn(n, self.dim, generator=generator, dtype=self.dtype, device=self.device)
        return self._means[idx] + torch.einsum("nij,nj->ni", self._L[idx], z)

    def component_log_prob(self, x) -> torch.Tensor:
        """Per-component log densities ``log N(x_i; m_k, S_k)``, shape ``(n, K)``.

        ``x`` : shape ``(n, d)``, cast to the mixture's dtype and device.
        """
        x = _check_points(x, self.dim, self.dtype, self.device)
        diff = (x.unsqueeze(0) - self._means.unsqueeze(1)).transpose(-2, -1)  # (K, d, n)
        z = torch.linalg.solve_triangular(self._L, diff, upper=False)  # (K, d, n)
        half_logdet = torch.log(torch.diagonal(self._L, dim1=-2, dim2=-1)).sum(-1)  # (K,)
        lp = -0.5 * (z * z).sum(dim=1) - half_logdet.unsqueeze(-1)  # (K, n)
        lp = lp - 0.5 * self.dim * math.log(2 * math.pi)
        return lp.transpose(0, 1)

    def log_prob(self, x) -> torch.Tensor:
        """Log density ``log sum_k w_k N(x; m_k, S_k)`` (by logsumexp), shape ``(n,)``.

        ``x`` : shape ``(n, d)``, cast to the mixture's dtype and device.
        Components with weight 0 contribute ``-inf`` inside the logsumexp.
        """
        lp = self.component_log_prob(x)
        return torch.logsumexp(lp + torch.log(self._weights), dim=-1)


# ----------------------------------------------------------------------------
# closed-form Gaussian optimal transport
# ----------------------------------------------------------------------------
def _check_gaussian_params(m1, S1, m2, S2, definite: bool):
    m1 = _as_float_tensor(m1, "m1")
    S1 = _as_float_tensor(S1, "S1")
    m2 = _as_float_tensor(m2, "m2")
    S2 = _as_float_tensor(S2, "S2")
    d = _check_vector(m1, "m1")
    _check_vector(m2, "m2", d)
    exp1 = _check_square(S1, "S1", d)
    exp2 = _check_square(S2, "S2", d)
    m1, S1, m2, S2 = _promote(m1, S1, m2, S2)
    for S, name, exp in ((S1, "S1", exp1), (S2, "S2", exp2)):
        _check_symmetric(S, name, exp)
        if definite:
            _cholesky_or_raise(_symmetrize(S), name, exp)
        else:
            _check_psd(_symmetrize(S), name, exp)
    return m1, _symmetrize(S1), m2, _symmetrize(S2)


def gaussian_ot_map(m1, S1, m2, S2) -> Tuple[torch.Tensor, torch.Tensor]:
    """Brenier (optimal transport) map from ``N(m1, S1)`` to ``N(m2, S2)``.

    The map is affine, ``T(x) = A x + b``; for batch-first row vectors
    ``x`` of shape ``(n, d)`` apply it as ``x @ A + b`` (the same, since ``A`` is
    symmetric). It is optimal for the cost ``||x - y||^2`` and equally for
    ``1/2 ||x - y||^2`` (it is the gradient of the convex potential
    ``1/2 x^T A x + b^T x``). Same convention as POT's
    ``ot.gaussian.bures_wasserstein_mapping`` (which returns ``A, b`` for ``x @ A + b``).

    ``A = S1^{-1/2} (S1^{1/2} S2 S1^{1/2})^{1/2} S1^{-1/2}``,  ``b = m2 - A m1``.
    Square roots by symmetric eigendecomposition (``torch.linalg.eigh``); ``A``
    is symmetrised at the end.

    Parameters
    ----------
    m1, m2 : tensor or array-like, shape ``(d,)``
    S1, S2 : tensor or array-like, shape ``(d, d)``
        Symmetric positive definite, finite.

    Returns
    -------
    A : torch.Tensor, shape ``(d, d)``, symmetric positive definite
    b : torch.Tensor, shape ``(d,)``
        Common floating dtype of the inputs.

    Raises
    ------
    ValueError
        Wrong or mismatched shapes (message names ``(d,)`` / ``(d, d)``), NaN/inf,
        non-symmetric or non positive definite covariances.
    """
    m1, S1, m2, S2 = _check_gaussian_params(m1, S1, m2, S2, definite=True)
    S1h, S1ih = _sqrtm_sym(S1, inverse_too=True)
    M = _sqrtm_sym(S1h @ S2 @ S1h)
    A = _symmetrize(S1ih @ M @ S1ih)
    b = m2 - A @ m1
    return A, b


def gaussian_w2(m1, S1, m2, S2) -> torch.Tensor:
    """2-Wasserstein distance ``W2`` (NOT squared) between ``N(m1, S1)`` and ``N(m2, S2)``.

    For the cost ``||x - y||^2`` (the usual W2):

    ``W2^2 = ||m1 - m2||^2 + tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2})``

    (the trace term is the squared Bures distance). Tiny negative values of
    ``W2^2`` from round-off are clamped to 0 before the square root. With the
    cost ``1/2 ||x - y||^2`` the optimal transport cost is ``W2^2 / 2``.
    Matches POT 0.9.7's ``ot.gaussian.bures_wasserstein_distance``, which also
    returns ``W2`` (not ``W2^2``).

    Parameters
    ----------
    m1, m2 : tensor or array-like, shape ``(d,)``
    S1, S2 : tensor or array-like, shape ``(d, d)``
        Symmetric positive semi-definite (degenerate Gaussians allowed), finite.

    Returns
    -------
    torch.Tensor, shape ``()`` (0-dim), common floating dtype of the inputs.

    Raises
    ------
    ValueError
        Wrong or mismatched shapes (message names ``(d,)`` / ``(d, d)``), NaN/inf,
        non-symmetric or indefinite covariances.
    """
    m1, S1, m2, S2 = _check_gaussian_params(m1, S1, m2, S2, definite=False)
    S1h = _sqrtm_sym(S1)
    cross = _sqrtm_sym(S1h @ S2 @ S1h)
    diff = m1 - m2
    w2_sq = diff @ diff + torch.trace(S1 + S2 - 2.0 * cross)
    return w2_sq.clamp_min(0.0).sqrt()


# ----------------------------------------------------------------------------
# banana
# ----------------------------------------------------------------------------
class Banana:
    r"""Banana-shaped density in ``R^2``: the push-forward of a Gaussian by a shear.

    With ``u ~ N(0, diag(s1^2, s2^2))`` (``scale = (s1, s2)``)::

        v = (u1, u2 + a (u1^2 - b))            (bend)
        y = R(angle) v + shift                 (rotate by ``angle`` radians, then shift)

    Both steps have Jacobian determinant 1 (the bend is triangular with unit diagonal,
    the rotation is orthogonal), so the exact log-density is that of the Gaussian at the
    inverse image::

        log q(y) = log N(u; 0, diag(s1^2, s2^2)),
        v = R(angle)^T (y - shift),  u = (v1, v2 - a (v1^2 - b)).

    Moments in closed form (``E u1^3 = 0``, ``Var u1^2 = 2 s1^4``): before rotation the mean
    is ``(0, a (s1^2 - b))`` and the covariance ``diag(s1^2, s2^2 + 2 a^2 s1^4)``.

    Parameters
    ----------
    a, b : float
        Bend strength and offset (``b = s1^2`` centres the banana at ``shift``).
    scale : pair of positive floats ``(s1, s2)``
    angle : float, radians (counter-clockwise)
    shift : pair of floats, shape ``(2,)``
    dtype : floating dtype of samples and parameters (default ``torch.get_default_dtype()``).

    Methods follow :class:`Gaussian`: ``sample(n, generator) -> (n, 2)``,
    ``log_prob(y: (n, 2)) -> (n,)``; properties ``dim`` (2), ``mean`` ``(2,)``, ``cov`` ``(2, 2)``.

    Raises
    ------
    ValueError
        Non-finite parameters, a non-positive scale, a shift not of shape ``(2,)``, or
        points not of shape ``(n, 2)``.
    """

    def __init__(self, a: float = 1.0, b: float = 1.0, scale=(1.0, 1.0), angle: float = 0.0,
                 shift=(0.0, 0.0), dtype: Optional[torch.dtype] = None):
        dtype = torch.get_default_dtype() if dtype is None else dtype
        vals = [float(a), float(b), float(angle)]
        if not all(math.isfinite(v) for v in vals):
            raise ValueError(f"a, b and angle must be finite; got a={a}, b={b}, angle={angle}")
        scale_t = _as_float_tensor(scale, "scale").to(dtype)
        shift_t = _as_float_tensor(shift, "shift").to(dtype)
        if scale_t.shape != (2,) or not bool(torch.isfinite(scale_t).all()) or bool((scale_t <= 0).any()):
            raise ValueError(f"scale must be two positive finite numbers (shape (2,)); got {scale!r}")
        _check_vector(shift_t, "shift", 2)
        self.a, self.b, self.angle = vals
        self._scale, self._shift, self._dtype = scale_t, shift_t, dtype
        c, s = math.cos(self.angle), math.sin(self.angle)
        self._R = torch.tensor([[c, -s], [s, c]], dtype=dtype)
        self._base = Gaussian(torch.zeros(2, dtype=dtype), torch.diag(scale_t**2))

    @property
    def dim(self) -> int:
        return 2

    @property
    def dtype(self) -> torch.dtype:
        return self._dtype

    @property
    def mean(self) -> torch.Tensor:
        """Mean, shape ``(2,)`` (closed form)."""
        s1 = self._scale[0]
        m0 = torch.stack([torch.zeros((), dtype=self._dtype), self.a * (s1**2 - self.b)])
        return self._R @ m0 + self._shift

    @property
    def cov(self) -> torch.Tensor:
        """Covariance, shape ``(2, 2)`` (closed form)."""
        s1, s2 = self._scale
        c0 = torch.diag(torch.stack([s1**2, s2**2 + 2 * self.a**2 * s1**4]))
        return _symmetrize(self._R @ c0 @ self._R.T)

    def __repr__(self) -> str:
        return (f"Banana(a={self.a}, b={self.b}, scale={tuple(self._scale.tolist())}, "
                f"angle={self.angle}, shift={tuple(self._shift.tolist())})")

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Draw ``n`` samples, shape ``(n, 2)``: ``u`` from the base Gaussian (``generator``), then bend, rotate, shift."""
        u = self._base.sample(_check_n(n), generator=generator)
        v = torch.stack([u[:, 0], u[:, 1] + self.a * (u[:, 0] ** 2 - self.b)], dim=1)
        return v @ self._R.T + self._shift

    def log_prob(self, y) -> torch.Tensor:
        """Exact log density at the rows of ``y`` ``(n, 2)``; returns ``(n,)`` (gradients flow through)."""
        y = _check_points(y, 2, self._dtype, self._shift.device)
        v = (y - self._shift) @ self._R
        u = torch.stack([v[:, 0], v[:, 1] - self.a * (v[:, 0] ** 2 - self.b)], dim=1)
        return self._base.log_prob(u)


__all__ += ["Banana"]


# ----------------------------------------------------------------------------
# image kernel density estimate (GradNetOT, eq. 9)
# ----------------------------------------------------------------------------
class ImageKDE:
    r"""A grey-scale image as a density on the plane: a Gaussian KDE over its pixel centres.

    For an image ``I`` of shape ``(H, W)`` with nonnegative intensities (not all zero),
    ``p(x) = Σ_k w_k N(x; c_k, h I₂)`` with ``w_k = I_k / Σ_j I_j`` (GradNetOT, eq. 9).

    Conventions:

    * Pixel centres: the pixel in row ``i`` (from the top, ``0..H-1``) and column ``j``
      (from the left, ``0..W-1``) sits at ``c = ((j + ½)/W, 1 − (i + ½)/H)``: the image fills
      the unit square ``[0, 1]²`` with **x to the right and y up** (row 0 is the top edge), so
      ``plt.imshow(image, extent=(0, 1, 0, 1))`` lines up with the points.
    * ``bandwidth`` is the **variance** ``h`` of each isotropic Gaussian (standard deviation
      ``√h``), in squared units of the unit square; GradNetOT anneals it from ``1e-2`` to
      ``1e-4``. It is a plain attribute and may be changed at any time (for annealing).
    * The density lives on all of ``R²`` (the Gaussians are not truncated to the square), so it
      integrates to 1 over the plane.
    * Only pixels with nonzero intensity enter the mixture (``n_components`` of them).

    Args:
        image: array-like ``(H, W)``, finite, ``>= 0``, with a positive sum (e.g. a ``uint8``
            MNIST digit).
        bandwidth: ``h > 0``.
        dtype: dtype of the centres, samples and log densities (default ``float32``).
    """

    def __init__(self, image, bandwidth: float = 1e-3, dtype: torch.dtype = torch.float32):
        import numpy as np  # local: the rest of the module does not need numpy

        img = torch.as_tensor(np.array(image, dtype=np.float64)) if not isinstance(image, torch.Tensor) \
            else image.detach().to(torch.float64)
        if img.ndim != 2 or img.shape[0] < 1 or img.shape[1] < 1:
            raise ValueError(f"image must have shape (H, W); got shape {_fmt(img.shape)}")
        if not bool(torch.isfinite(img).all()) or bool((img < 0).any()):
            raise ValueError("image intensities must be finite and >= 0")
        if not float(img.sum()) > 0:
            raise ValueError("image must have at least one pixel with positive intensity")
        H, W = img.shape
        rows, cols = torch.nonzero(img > 0, as_tuple=True)
        weights = img[rows, cols]
        self.image_shape = (int(H), int(W))
        self._dtype = dtype
        self.weights = (weights / weights.sum()).to(dtype)  # (P,)
        rows, cols = rows.to(torch.float64), cols.to(torch.float64)
        self.centers = torch.stack([(cols + 0.5) / W, 1.0 - (rows + 0.5) / H], dim=1).to(dtype)  # (P, 2)
        self._log_w = torch.log(self.weights)
        self.bandwidth = bandwidth

    @property
    def bandwidth(self) -> float:
        """Variance ``h`` of each Gaussian kernel (settable, must be > 0)."""
        return self._bandwidth

    @bandwidth.setter
    def bandwidth(self, h: float) -> None:
        h = float(h)
        if not (h > 0 and math.isfinite(h)):
            raise ValueError(f"bandwidth must be a positive finite number; got {h!r}")
        self._bandwidth = h

    @property
    def dim(self) -> int:
        return 2

    @property
    def dtype(self) -> torch.dtype:
        return self._dtype

    @property
    def n_components(self) -> int:
        """Number of pixels with nonzero intensity."""
        return int(self.weights.shape[0])

    @property
    def mean(self) -> torch.Tensor:
        """Mean ``Σ_k w_k c_k`` (the intensity-weighted centre), shape ``(2,)``."""
        return self.weights @ self.centers

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Draw ``n`` points ``(n, 2)``: a pixel ``k`` with probability ``w_k``, then ``c_k + √h ξ``."""
        n = _check_n(n)
        dev = "cpu" if generator is None else generator.device
        k = torch.multinomial(self.weights.to(dev), n, replacement=True, generator=generator) if n else \
            torch.zeros(0, dtype=torch.long, device=dev)
        noise = torch.randn(n, 2, generator=generator, dtype=self._dtype, device=dev)
        return self.centers.to(dev)[k] + math.sqrt(self._bandwidth) * noise

    def log_prob(self, x) -> torch.Tensor:
        """``log p(x)`` for the rows of ``x`` ``(n, 2)`` → ``(n,)``: a logsumexp over the
        ``n_components`` pixels (gradients flow through ``x``)."""
        x = _check_points(x, 2, self._dtype, self.centers.device)
        h = self._bandwidth
        sq = ((x.unsqueeze(1) - self.centers.unsqueeze(0)) ** 2).sum(-1)  # (n, P)
        return torch.logsumexp(self._log_w - sq / (2 * h), dim=1) - math.log(2 * math.pi * h)

    def __repr__(self) -> str:
        return (f"ImageKDE(image_shape={self.image_shape}, n_components={self.n_components}, "
                f"bandwidth={self._bandwidth:g})")


__all__ += ["ImageKDE"]
