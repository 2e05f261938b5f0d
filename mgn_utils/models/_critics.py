"""Critics for adversarial (WGAN-GP) training: ``(B, d) -> (B,)``."""

from __future__ import annotations

import torch
from torch import nn

from .._validation import check_float, check_int, check_model_input

__all__ = ["Critic"]


class Critic(nn.Module):
    """WGAN critic: a 3-layer MLP ``(B, d) -> (B,)`` with LeakyReLU (hidden 64 by default).

    Parameters
    ----------
    dim : int
        Dimension ``d`` of the points, ``>= 1``; the input is ``(B, d)`` (batch-first rows).
    hidden : int
        Width of the two hidden layers, ``>= 1``.
    slope : float
        Negative slope of the LeakyReLU, a finite number.
    """

    check_finite: bool = False

    def __init__(self, dim: int, hidden: int = 64, slope: float = 0.2):
        super().__init__()
        self.dim, hidden = check_int(dim, "dim"), check_int(hidden, "hidden")
        slope = check_float(slope, "slope")
        self.net = nn.Sequential(
            nn.Linear(dim, hidden),
            nn.LeakyReLU(slope),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(slope),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The critic's value ``(B, d) -> (B,)``."""
        check_model_input(self, x)
        return self.net(x).squeeze(-1)
