"""Input validation shared by every public function of the package (private).

Each helper raises ``ValueError`` (or ``TypeError`` for a wrong kind of object) with a message
that names the argument and says what was expected. Checks that read tensor values (finite,
positive) synchronise with the host; they are skipped inside ``torch.func`` transforms, where
data-dependent control flow is impossible.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

__all__ = [
    "check_int",
    "check_float",
    "as_points",
    "check_points",
    "check_finite",
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
    """``value`` as a finite Python ``float`` (``positive``: > 0; ``nonnegative``: >= 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if torch.is_tensor(value) and value.numel() == 1:
            value = value.item()
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


def check_finite(x: torch.Tensor, name: str) -> None:
    """Raise ``ValueError`` when ``x`` holds NaN or infinite values (skipped under torch.func)."""
    if not in_functorch() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} of shape {tuple(x.shape)} contains NaN or infinite values")


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
        raise TypeError(
            f"{name} must be a torch.Tensor of shape (B, d), got {type(x).__name__}"
        )
    want = f"(B, {dim})" if dim is not None else "(B, d)"
    if x.ndim != 2 or x.shape[0] < 1 or (dim is not None and x.shape[1] != dim):
        raise ValueError(
            f"{name} must have shape {want} (batch-first row vectors), got {tuple(x.shape)}"
        )
