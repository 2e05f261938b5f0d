"""Input validation shared by the distributions (private)."""

from __future__ import annotations

import math
import operator
from typing import Optional, Tuple

import torch

_WEIGHT_SUM_TOL = 1e-6


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


class _Planar:
    """Shared properties of the 2-D densities (``Banana``, ``ImageKDE``): ``dim``, ``dtype``."""

    _dtype: torch.dtype

    @property
    def dim(self) -> int:
        return 2

    @property
    def dtype(self) -> torch.dtype:
        return self._dtype
