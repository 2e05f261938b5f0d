"""Gaussians, Gaussian mixtures and closed-form Gaussian optimal transport (Bures)."""

from __future__ import annotations

import math
from typing import Optional, Tuple

import torch

from .._validation import (
    WEIGHT_SUM_TOL,
    as_float_tensor,
    as_points,
    check_dist_points,
    check_finite,
    check_int,
    check_psd,
    check_square,
    check_symmetric,
    check_vector,
    cholesky_or_raise,
    fmt_shape,
    promote,
    symmetrize,
)

__all__ = ["Gaussian", "GaussianMixture", "gaussian_ot_map", "gaussian_w2", "sqrtm_psd"]


def _sqrtm_sym(S: torch.Tensor, inverse_too: bool = False):
    """Square root of a symmetric matrix (no validation), eigenvalues clamped at 0.

    With ``inverse_too`` also returns ``S^{-1/2}`` (requires positive eigenvalues).
    """
    evals, evecs = torch.linalg.eigh(symmetrize(S))
    evals = evals.clamp_min(0.0)
    sq = evals.sqrt()
    root = (evecs * sq.unsqueeze(-2)) @ evecs.transpose(-2, -1)
    root = symmetrize(root)
    if not inverse_too:
        return root
    inv_root = symmetrize((evecs / sq.unsqueeze(-2)) @ evecs.transpose(-2, -1))
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
    S = as_float_tensor(S, "S")
    expected = "(d, d) or (..., d, d)"
    if S.ndim < 2 or S.shape[-1] != S.shape[-2] or S.shape[-1] == 0:
        raise ValueError(f"S must have shape {expected}; got shape {fmt_shape(S.shape)}")
    check_finite(S, "S", expected)
    check_symmetric(S, "S", expected)
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
        mean = as_float_tensor(mean, "mean")
        cov = as_float_tensor(cov, "cov")
        d = check_vector(mean, "mean")
        expected = check_square(cov, "cov", d)
        mean, cov = promote(mean, cov)
        check_symmetric(cov, "cov", expected)
        cov = symmetrize(cov)
        self._L = cholesky_or_raise(cov, "cov", expected)
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
    def to(self, device=None, dtype=None) -> Gaussian:
        """New ``Gaussian`` with parameters moved/cast (re-validated)."""
        return Gaussian(
            self._mean.to(device=device, dtype=dtype), self._cov.to(device=device, dtype=dtype)
        )

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Draw ``n`` samples, shape ``(n, d)``, dtype/device of the distribution.

        ``x = mean + z @ L^T`` with ``z = torch.randn(n, d, generator=generator)``,
        so a seeded ``torch.Generator`` gives reproducible samples. The numbers are drawn on the
        generator's device and the samples returned on the distribution's.
        """
        n = check_int(n, "n", minimum=0)
        dev = self.device if generator is None else generator.device
        z = torch.randn(n, self.dim, generator=generator, dtype=self.dtype, device=dev)
        z = z.to(self.device)
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
        x = check_dist_points(x, self.dim, self.dtype, self.device)
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
        weights = as_float_tensor(weights, "weights")
        means = as_float_tensor(means, "means")
        covs = as_float_tensor(covs, "covs")
        if weights.ndim != 1 or weights.shape[0] == 0:
            raise ValueError(f"weights must have shape (K,); got shape {fmt_shape(weights.shape)}")
        K = int(weights.shape[0])
        if means.ndim != 2 or means.shape[0] != K or means.shape[1] == 0:
            raise ValueError(
                f"means must have shape (K, d) = ({K}, d); got shape {fmt_shape(means.shape)}"
            )
        d = int(means.shape[1])
        expected_covs = f"(K, d, d) = ({K}, {d}, {d})"
        if covs.shape != (K, d, d):
            raise ValueError(
                f"covs must have shape {expected_covs}; got shape {fmt_shape(covs.shape)}"
            )
        check_finite(weights, "weights", f"(K,) = ({K},)")
        check_finite(means, "means", f"(K, d) = ({K}, {d})")
        check_finite(covs, "covs", expected_covs)
        weights, means, covs = promote(weights, means, covs)
        if bool((weights < 0).any()):
            raise ValueError(f"weights (shape (K,) = ({K},)) must be nonnegative")
        total = float(weights.detach().sum())
        if abs(total - 1.0) > WEIGHT_SUM_TOL:
            raise ValueError(
                f"weights (shape (K,) = ({K},)) must sum to 1 (tolerance {WEIGHT_SUM_TOL:g}); "
                f"got sum {total:.9g}"
            )
        check_symmetric(covs, "covs", expected_covs)
        covs = symmetrize(covs)
        self._L = cholesky_or_raise(covs, "covs", expected_covs)
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
        return symmetrize(second - torch.outer(m, m))

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
    def to(self, device=None, dtype=None) -> GaussianMixture:
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
        A seeded generator gives reproducible samples; the numbers are drawn on its device and
        the samples returned on the mixture's.
        """
        n = check_int(n, "n", minimum=0)
        if n == 0:
            return torch.empty(0, self.dim, dtype=self.dtype, device=self.device)
        dev = self.device if generator is None else generator.device
        w = self._weights.to(dev)
        idx = torch.multinomial(w, n, replacement=True, generator=generator).to(self.device)
        z = torch.randn(n, self.dim, generator=generator, dtype=self.dtype, device=dev)
        z = z.to(self.device)
        return self._means[idx] + torch.einsum("nij,nj->ni", self._L[idx], z)

    def component_log_prob(self, x) -> torch.Tensor:
        """Per-component log densities ``log N(x_i; m_k, S_k)``, shape ``(n, K)``.

        ``x`` : shape ``(n, d)``, cast to the mixture's dtype and device.
        """
        x = check_dist_points(x, self.dim, self.dtype, self.device)
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
    m1 = as_float_tensor(m1, "m1")
    S1 = as_float_tensor(S1, "S1")
    m2 = as_float_tensor(m2, "m2")
    S2 = as_float_tensor(S2, "S2")
    d = check_vector(m1, "m1")
    check_vector(m2, "m2", d)
    exp1 = check_square(S1, "S1", d)
    exp2 = check_square(S2, "S2", d)
    m1, S1, m2, S2 = promote(m1, S1, m2, S2)
    for S, name, exp in ((S1, "S1", exp1), (S2, "S2", exp2)):
        check_symmetric(S, name, exp)
        if definite:
            cholesky_or_raise(symmetrize(S), name, exp)
        else:
            check_psd(symmetrize(S), name, exp)
    return m1, symmetrize(S1), m2, symmetrize(S2)


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
    A = symmetrize(S1ih @ M @ S1ih)
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


def empirical_gaussian_map(xs, xt) -> Tuple[torch.Tensor, torch.Tensor]:
    """The Gaussian (Bures) OT map between the moment-matched Gaussians of two samples.

    Computed by POT (``ot.gaussian.empirical_bures_wasserstein_mapping``, covariances with
    ``1/n`` normalisation and a ``1e-6`` ridge); the optimal map for the cost ``‖x−y‖²`` (or
    ``½‖x−y‖²``) when both measures are Gaussian, and the linear baseline of chapters 04–09.

    Parameters
    ----------
    xs : Tensor or array, shape ``(n, d)``
        Source samples.
    xt : Tensor or array, shape ``(m, d)``
        Target samples (unpaired; ``m`` may differ from ``n``).

    Returns
    -------
    A : Tensor, shape ``(d, d)``
        Symmetric positive definite.
    b : Tensor, shape ``(d,)``
        With ``T(x) = x A + b`` for row vectors. Float64, on the device of ``xs``.
    """
    import ot

    xs = as_points(xs, "xs")
    xt = as_points(xt, "xt", xs.shape[1])
    for t, name in ((xs, "xs"), (xt, "xt")):
        check_finite(t, name)
        if t.shape[0] < 2:
            raise ValueError(f"{name} needs at least 2 rows to estimate a covariance")
    A, b = ot.gaussian.empirical_bures_wasserstein_mapping(
        xs.detach().double(), xt.detach().double().to(xs.device)
    )
    A = (A + A.T) / 2  # POT's A is symmetric up to rounding
    return A, b.reshape(-1)


__all__ += ["empirical_gaussian_map"]
