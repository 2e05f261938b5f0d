"""Small helpers shared by the model tests."""

import torch


def randomize(model, std=0.7, seed=0):
    """Random parameters far from the near-identity init, so every term matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * std)
    return model


def relerr(a, b):
    """max |a - b| / max |b| (b = 0 guarded)."""
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-300)).item()
