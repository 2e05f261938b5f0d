"""Critics for adversarial (WGAN-GP) training: ``(B, d) -> (B,)``."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Critic"]


class Critic(nn.Module):
    """WGAN critic: a 3-layer MLP ``(B, d) -> (B,)`` with LeakyReLU (hidden 64 by default)."""

    def __init__(self, dim: int, hidden: int = 64, slope: float = 0.2):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, hidden),
            nn.LeakyReLU(slope),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(slope),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)
