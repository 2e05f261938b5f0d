"""The banana density of chapter 4 (a sheared Gaussian with an exact log-density)."""

from __future__ import annotations

import math
from typing import Optional

import torch

from .._validation import (
    as_float_tensor,
    check_dist_points,
    check_int,
    check_vector,
    symmetrize,
)
from ._gaussian import Gaussian

__all__ = ["Banana"]


class _Planar:
    """Shared properties of the 2-D densities (``Banana``, ``ImageKDE``): ``dim``, ``dtype``."""

    _dtype: torch.dtype

    @property
    def dim(self) -> int:
        return 2

    @property
    def dtype(self) -> torch.dtype:
        return self._dtype


class Banana(_Planar):
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

    Methods follow :class:`Gaussian`: ``sample(n, generator) -> (n, 2)`` (on the
    distribution's device; a generator must live there too), ``log_prob(y: (n, 2)) -> (n,)``,
    ``to(device, dtype)``; properties ``dim`` (2), ``device``, ``dtype``, ``mean`` ``(2,)``,
    ``cov`` ``(2, 2)``.

    Raises
    ------
    ValueError
        Non-finite parameters, a non-positive scale, a shift not of shape ``(2,)``, or
        points not of shape ``(n, 2)``.
    """

    def __init__(
        self,
        a: float = 1.0,
        b: float = 1.0,
        scale=(1.0, 1.0),
        angle: float = 0.0,
        shift=(0.0, 0.0),
        dtype: Optional[torch.dtype] = None,
    ):
        dtype = torch.get_default_dtype() if dtype is None else dtype
        vals = [float(a), float(b), float(angle)]
        if not all(math.isfinite(v) for v in vals):
            raise ValueError(f"a, b and angle must be finite; got a={a}, b={b}, angle={angle}")
        scale_t = as_float_tensor(scale, "scale").to(dtype)
        shift_t = as_float_tensor(shift, "shift").to(dtype)
        if (
            scale_t.shape != (2,)
            or not bool(torch.isfinite(scale_t).all())
            or bool((scale_t <= 0).any())
        ):
            raise ValueError(
                f"scale must be two positive finite numbers (shape (2,)); got {scale!r}"
            )
        check_vector(shift_t, "shift", 2)
        self.a, self.b, self.angle = vals
        self._scale, self._shift, self._dtype = scale_t, shift_t, dtype
        c, s = math.cos(self.angle), math.sin(self.angle)
        self._R = torch.tensor([[c, -s], [s, c]], dtype=dtype)
        self._base = Gaussian(torch.zeros(2, dtype=dtype), torch.diag(scale_t**2))

    @property
    def device(self) -> torch.device:
        return self._shift.device

    def to(self, device=None, dtype=None) -> Banana:
        """New ``Banana`` with its parameters moved to ``device`` and/or cast to ``dtype``."""
        new = Banana(
            self.a,
            self.b,
            self._scale.tolist(),
            self.angle,
            self._shift.tolist(),
            dtype=self._dtype if dtype is None else dtype,
        )
        if device is not None:
            new._scale, new._shift, new._R = (
                t.to(device) for t in (new._scale, new._shift, new._R)
            )
            new._base = new._base.to(device=device)
        return new

    @property
    def mean(self) -> torch.Tensor:
        """Mean, shape ``(2,)`` (closed form)."""
        s1 = self._scale[0]
        m0 = torch.stack([torch.zeros_like(s1), self.a * (s1**2 - self.b)])
        return self._R @ m0 + self._shift

    @property
    def cov(self) -> torch.Tensor:
        """Covariance, shape ``(2, 2)`` (closed form)."""
        s1, s2 = self._scale
        c0 = torch.diag(torch.stack([s1**2, s2**2 + 2 * self.a**2 * s1**4]))
        return symmetrize(self._R @ c0 @ self._R.T)

    def __repr__(self) -> str:
        return (
            f"Banana(a={self.a}, b={self.b}, scale={tuple(self._scale.tolist())}, "
            f"angle={self.angle}, shift={tuple(self._shift.tolist())})"
        )

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Draw ``n`` samples, shape ``(n, 2)``: ``u`` from the base Gaussian (``generator``), then
        bend, rotate, shift."""
        u = self._base.sample(check_int(n, "n", minimum=0), generator=generator)
        v = torch.stack([u[:, 0], u[:, 1] + self.a * (u[:, 0] ** 2 - self.b)], dim=1)
        return v @ self._R.T + self._shift

    def log_prob(self, y) -> torch.Tensor:
        """Exact log density at the rows of ``y`` ``(n, 2)``; returns ``(n,)`` (gradients flow
        through)."""
        y = check_dist_points(y, 2, self._dtype, self._shift.device)
        v = (y - self._shift) @ self._R
        u = torch.stack([v[:, 0], v[:, 1] - self.a * (v[:, 0] ** 2 - self.b)], dim=1)
        return self._base.log_prob(u)
