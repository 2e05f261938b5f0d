"""Input validation shared by every public function of the package (private).

The one place for validators, one name per concept: numbers (:func:`check_int`,
:func:`check_float`, :func:`check_unit_interval`), objects (:func:`check_callable`), arrays
(:func:`as_array`, :func:`as_float_tensor`, :func:`check_finite`), points (:func:`as_points`,
:func:`check_points`, :func:`check_dist_points`), model inputs (:func:`check_model_input`),
probability weights (:func:`as_weights`) and the distributions' vectors and matrices
(:func:`check_vector`, :func:`check_square`, :func:`check_symmetric`, :func:`check_psd`,
:func:`cholesky_or_raise`). Public functions validate their arguments once, here; the kernels
they call assume checked input.

Each helper raises ``ValueError`` (or ``TypeError`` for a wrong kind of object) with a message
that names the argument and says what was expected. Checks that read tensor values (finite,
positive) synchronise with the host; they are skipped inside ``torch.func`` transforms, where
data-dependent control flow is impossible.
"""

from __future__ import annotations

import math
import numbers
from typing import Optional, Tuple

import numpy as np
import torch

__all__ = [
    "as_array",
    "as_points",
    "as_float_tensor",
    "as_weights",
    "check_dist_points",
    "check_psd",
    "check_square",
    "check_symmetric",
    "check_vector",
    "cholesky_or_raise",
    "fmt_shape",
    "promote",
    "sym_tol",
    "symmetrize",
    "check_finite",
    "check_callable",
    "check_float",
    "check_int",
    "check_map_input",
    "check_model_input",
    "check_points",
    "check_unit_interval",
    "in_functorch",
]


def in_functorch() -> bool:
    """True inside ``torch.func`` transforms (``vmap``, ``grad``, ``jacrev``)."""
    return bool(torch._C._are_functorch_transforms_active())


def check_int(value, name: str, minimum: int | None = 1, maximum: int | None = None) -> int:
    """``value`` as a Python ``int`` (numpy integers accepted, bools and floats refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(
    value,
    name: str,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    allow_inf: bool = False,
) -> float:
    """``value`` as a finite Python ``float`` (``positive``: > 0; ``nonnegative``: >= 0).

    Python and numpy reals are accepted, and so are one-element tensors and numpy arrays.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        one = (torch.is_tensor(value) and value.numel() == 1) or (
            isinstance(value, np.ndarray) and value.size == 1
        )
        if one:
            value = value.item()
            if isinstance(value, (bool, complex)):
                raise TypeError(f"{name} must be a real number, got {value!r}")
        else:
            raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if positive and not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if nonnegative and not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_finite(x: torch.Tensor, name: str, expected: str | None = None) -> None:
    """Raise ``ValueError`` when ``x`` holds NaN or infinite values (skipped under torch.func).

    ``expected``, when given, is the expected shape the message names (``"(d, d) = (2, 2)"``);
    otherwise the message gives ``x``'s shape. A ``meta`` tensor (no data) is refused.
    """
    if x.device.type == "meta":
        raise ValueError(f"{name} is a 'meta' tensor (no data): pass a tensor on a real device")
    if not in_functorch() and not bool(torch.isfinite(x.detach()).all()):
        what = f"(expected shape {expected})" if expected else f"of shape {tuple(x.shape)}"
        raise ValueError(f"{name} {what} contains NaN or infinite values")


def as_points(x, name: str = "x", dim: int | None = None, dtype=None) -> torch.Tensor:
    """A batch of points ``(B, d)`` as a floating tensor.

    Tensors keep their device and floating dtype; numpy arrays and (nested) lists go through
    ``torch.as_tensor`` (integers become ``torch.get_default_dtype()``). ``dim``, when given,
    is the required number of columns; ``dtype`` casts the result.
    """
    if not torch.is_tensor(x):
        if isinstance(x, (np.ndarray, list, tuple)):
            try:
                x = torch.as_tensor(np.asarray(x))
            except (TypeError, ValueError) as e:
                raise TypeError(f"{name} must be a (B, d) array of numbers: {e}") from None
        else:
            raise TypeError(
                f"{name} must be a torch.Tensor or array of shape (B, d), got {type(x).__name__}"
            )
    if not (x.is_floating_point()):
        if x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
        x = x.to(torch.get_default_dtype())
    if dtype is not None:
        x = x.to(dtype)
    check_points(x, name, dim)
    return x


def check_points(x: torch.Tensor, name: str = "x", dim: int | None = None) -> None:
    """Shape check of a batch of points: a tensor of shape ``(B, d)``, ``B >= 1``."""
    if not torch.is_tensor(x):
        raise TypeError(f"{name} must be a torch.Tensor of shape (B, d), got {type(x).__name__}")
    want = f"(B, {dim})" if dim is not None else "(B, d)"
    if x.ndim != 2 or x.shape[0] < 1 or (dim is not None and x.shape[1] != dim):
        raise ValueError(
            f"{name} must have shape {want} (batch-first row vectors), got {tuple(x.shape)}"
        )


def check_unit_interval(value, name: str) -> float:
    """``value`` as a Python ``float`` strictly inside ``(0, 1)`` (e.g. a shrink factor)."""
    value = check_float(value, name)
    if not 0 < value < 1:
        raise ValueError(f"{name} must be in the open interval (0, 1), got {value}")
    return value


def as_array(
    x, name: str, shape: tuple | None = None, like: torch.Tensor | None = None, finite: bool = True
) -> torch.Tensor:
    """An array-like (tensor, numpy array, nested list) as a floating tensor of a given shape.

    Parameters
    ----------
    x : tensor, numpy array or (nested) list
        The values. Integers become ``torch.get_default_dtype()`` (or ``like``'s dtype).
    name : str
        The argument's name, for the error messages.
    shape : tuple of (int or str or None), optional
        The required shape; an ``int`` entry must match exactly, a ``str`` entry (``"d"``)
        must be the same wherever that letter appears, ``None`` matches anything.
    like : torch.Tensor, optional
        When given, non-tensor input takes its dtype and device.
    finite : bool
        Also raise when ``x`` holds NaN or infinite values (skipped under ``torch.func``).

    Returns
    -------
    torch.Tensor
        ``x`` itself when it is already a floating tensor of the right shape.

    Raises
    ------
    TypeError
        For an object that is not an array of real numbers.
    ValueError
        For a wrong shape or non-finite values.
    """
    if not torch.is_tensor(x):
        if isinstance(x, (np.ndarray, list, tuple, numbers.Real)) and not isinstance(x, bool):
            try:
                arr = np.asarray(x)
                if arr.dtype == object or arr.dtype.kind not in "biuf":
                    raise TypeError(f"dtype {arr.dtype}")
                x = torch.as_tensor(arr)
            except (TypeError, ValueError) as e:
                raise TypeError(f"{name} must be an array of real numbers: {e}") from None
            if like is not None:
                x = x.to(dtype=like.dtype if like.is_floating_point() else None, device=like.device)
        else:
            raise TypeError(
                f"{name} must be a torch.Tensor, numpy array or list, got {type(x).__name__}"
            )
    if not x.is_floating_point():
        if x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
        x = x.to(torch.get_default_dtype())
    if shape is not None:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape)
        want += ",)" if len(shape) == 1 else ")"
        ok = x.ndim == len(shape) and all(
            s is None or isinstance(s, str) or x.shape[i] == s for i, s in enumerate(shape)
        )
        letters: dict = {}
        for i, s in enumerate(shape if ok else ()):
            if isinstance(s, str) and letters.setdefault(s, x.shape[i]) != x.shape[i]:
                ok = False
        if not ok:
            raise ValueError(f"{name} must have shape {want}, got {tuple(x.shape)}")
    if finite:
        check_finite(x, name)
    return x


def as_weights(w, n: int, name: str, like: torch.Tensor, atol: float = 1e-6) -> torch.Tensor:
    """Probability weights of ``n`` points: shape ``(n,)``, nonnegative, summing to 1.

    ``None`` gives the uniform weights ``1/n``. The result has ``like``'s dtype and device.

    Raises
    ------
    ValueError
        For a wrong shape, negative or non-finite entries, or a sum off 1 by more than
        ``atol``.
    """
    if w is None:
        return torch.full((n,), 1.0 / n, dtype=like.dtype, device=like.device)
    w = as_array(w, name, (n,), like=like).to(dtype=like.dtype, device=like.device)
    if not in_functorch():
        if bool((w < 0).any()):
            raise ValueError(f"{name} must be nonnegative, got min {float(w.min()):.3g}")
        total = float(w.sum())
        if abs(total - 1) > atol:
            raise ValueError(f"{name} must sum to 1 (probability weights), got sum {total:.9g}")
    return w


def check_map_input(
    x, dim: int, dtype: torch.dtype, finite: bool = False, device: torch.device | None = None
) -> None:
    """The input checks shared by every network of :mod:`mgn_utils.models`.

    ``x`` must be a tensor of shape ``(B, dim)`` (batch-first row vectors) of the model's
    ``dtype`` and, when ``device`` is given, on the model's device; with ``finite=True`` (a
    model's opt-in ``check_finite``) its values are checked too, which synchronises a GPU with
    the host.

    Raises
    ------
    TypeError
        When ``x`` is not a tensor.
    ValueError
        For a wrong shape, dtype or device, or (``finite=True``) NaN or infinite values.
    """
    if not torch.is_tensor(x):
        raise TypeError(f"expected a torch.Tensor of shape (B, {dim}), got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(
            f"expected x of shape (B, {dim}) (batch-first row vectors), got {tuple(x.shape)}"
        )
    if x.dtype != dtype:
        raise ValueError(
            f"expected x of dtype {dtype} (the model's dtype), got {x.dtype}; "
            f"use x.to({dtype}) or model.to({x.dtype})"
        )
    if device is not None and x.device != device:
        raise ValueError(
            f"expected x on device {device} (the model's device), got {x.device}; "
            f"use x.to('{device}') or model.to('{x.device}')"
        )
    if finite:
        check_finite(x, "x")


def check_model_input(model: torch.nn.Module, x) -> None:
    """:func:`check_map_input` against ``model``'s ``dim``, dtype, device and ``check_finite``.

    The dtype and device are those of the model's first parameter.
    """
    p = next(model.parameters())
    check_map_input(x, model.dim, p.dtype, getattr(model, "check_finite", False), p.device)


def check_callable(f, name: str) -> None:
    """Raise ``TypeError`` unless ``f`` is callable (a sampler, a map, a log-density)."""
    if not callable(f):
        raise TypeError(f"{name} must be callable, got {type(f).__name__}")


# --- arrays of the distributions: vectors, square and covariance matrices -------------------

WEIGHT_SUM_TOL = 1e-6


def fmt_shape(shape) -> str:
    """Format a shape as ``(a, b)`` / ``(a,)`` (like a Python tuple)."""
    return str(tuple(int(s) for s in shape))


def as_float_tensor(x, name: str) -> torch.Tensor:
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


def promote(*tensors: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    """Cast tensors to their common floating dtype and to the first one's device."""
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    device = tensors[0].device
    return tuple(t.to(device=device, dtype=dtype) for t in tensors)


def sym_tol(S: torch.Tensor) -> torch.Tensor:
    """Absolute symmetry tolerance: sqrt(eps) times the largest entry (at least 1)."""
    scale = S.detach().abs().amax(dim=(-2, -1)).clamp_min(1.0)
    return math.sqrt(torch.finfo(S.dtype).eps) * scale


def check_symmetric(S: torch.Tensor, name: str, expected: str) -> None:
    """Raise ``ValueError`` unless ``S`` (``(..., d, d)``) is symmetric within :func:`sym_tol`."""
    asym = (S.detach() - S.detach().transpose(-2, -1)).abs().amax(dim=(-2, -1))
    if bool((asym > sym_tol(S)).any()):
        raise ValueError(
            f"{name} (expected shape {expected}) must be symmetric; "
            f"max |S - S^T| = {float(asym.max()):.3g}"
        )


def symmetrize(S: torch.Tensor) -> torch.Tensor:
    """``(S + Sᵀ) / 2`` over the last two axes."""
    return 0.5 * (S + S.transpose(-2, -1))


def cholesky_or_raise(S: torch.Tensor, name: str, expected: str) -> torch.Tensor:
    """Lower Cholesky factor of ``S``; ``ValueError`` when ``S`` is not positive definite."""
    L, info = torch.linalg.cholesky_ex(S)
    if bool((info != 0).any()):
        raise ValueError(
            f"{name} (expected shape {expected}) must be positive definite "
            "(Cholesky factorisation failed)"
        )
    return L


def check_vector(m: torch.Tensor, name: str, d: Optional[int] = None) -> int:
    """A finite, non-empty vector of shape ``(d,)`` (``d`` given: that length); returns ``d``."""
    expected = "(d,)" if d is None else f"(d,) = ({d},)"
    if m.ndim != 1 or m.shape[0] == 0:
        raise ValueError(f"{name} must have shape {expected}; got shape {fmt_shape(m.shape)}")
    if d is not None and m.shape[0] != d:
        raise ValueError(f"{name} must have shape {expected}; got shape {fmt_shape(m.shape)}")
    check_finite(m, name, expected)
    return int(m.shape[0])


def check_square(S: torch.Tensor, name: str, d: int) -> str:
    """A finite ``(d, d)`` matrix; returns the expected-shape text used in later messages."""
    expected = f"(d, d) = ({d}, {d})"
    if S.ndim != 2 or S.shape[0] != d or S.shape[1] != d:
        raise ValueError(f"{name} must have shape {expected}; got shape {fmt_shape(S.shape)}")
    check_finite(S, name, expected)
    return expected


def check_psd(S: torch.Tensor, name: str, expected: str) -> None:
    """Symmetric positive semi-definite within a relative tolerance."""
    evals = torch.linalg.eigvalsh(S.detach())
    tol = math.sqrt(torch.finfo(S.dtype).eps) * evals.abs().amax(dim=-1).clamp_min(1.0)
    if bool((evals.amin(dim=-1) < -tol).any()):
        raise ValueError(
            f"{name} (expected shape {expected}) must be positive semi-definite; "
            f"smallest eigenvalue {float(evals.min()):.3g}"
        )


def check_dist_points(x, d: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The input of a distribution's ``log_prob``: points ``(n, d)`` (``n = 0`` allowed), cast
    to the distribution's ``dtype`` and ``device``."""
    x = as_float_tensor(x, "x")
    expected = f"(n, d) = (n, {d})"
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(f"x must have shape {expected}; got shape {fmt_shape(x.shape)}")
    return x.to(device=device, dtype=dtype)
