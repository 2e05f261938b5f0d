"""Banana distribution: exact log-density, closed-form moments, seeded sampling, input checks."""

import math

import pytest
import torch

from mgn_utils.distributions import Banana

D = torch.float64


def test_samples_shape_seed_and_moments():
    q = Banana(a=1.0, b=0.5, scale=(1.0, 0.7), angle=math.pi / 5, shift=(0.5, -1.0), dtype=D)
    y = q.sample(200_000, generator=torch.Generator().manual_seed(0))
    assert y.shape == (200_000, 2) and y.dtype == D
    assert torch.equal(
        q.sample(5, torch.Generator().manual_seed(3)), q.sample(5, torch.Generator().manual_seed(3))
    )
    assert torch.allclose(y.mean(0), q.mean, atol=0.02)
    assert torch.allclose(torch.cov(y.T), q.cov, rtol=0.03, atol=0.02)


@pytest.mark.parametrize("angle", [0.0, math.pi / 5])
def test_log_prob_is_normalised(angle):
    """exp(log q) integrates to 1 on a grid wide enough to hold the banana."""
    q = Banana(a=0.5, b=1.0, scale=(1.0, 0.5), angle=angle, dtype=D)
    g = torch.linspace(-9, 9, 901, dtype=D)
    grid = torch.stack(torch.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    mass = q.log_prob(grid).exp().sum() * (g[1] - g[0]) ** 2
    assert abs(float(mass) - 1) < 1e-4


def test_log_prob_is_the_base_density_at_the_inverse_image():
    """The bend and the rotation have unit Jacobian determinant."""
    a, b, s = 0.8, 0.3, (1.2, 0.4)
    q = Banana(a=a, b=b, scale=s, angle=0.7, shift=(1.0, 2.0), dtype=D)
    u = torch.randn(100, 2, dtype=D, generator=torch.Generator().manual_seed(1))
    v = torch.stack([u[:, 0], u[:, 1] + a * (u[:, 0] ** 2 - b)], 1)
    c, sn = math.cos(0.7), math.sin(0.7)
    y = v @ torch.tensor([[c, sn], [-sn, c]], dtype=D) + torch.tensor([1.0, 2.0], dtype=D)
    base = torch.distributions.Normal(torch.zeros(2, dtype=D), torch.tensor(s, dtype=D))
    assert torch.allclose(q.log_prob(y), base.log_prob(u).sum(1), atol=1e-12)


def test_gradients_flow_and_bad_input_is_rejected():
    q = Banana()
    y = torch.zeros(3, 2, requires_grad=True)
    q.log_prob(y).sum().backward()
    assert y.grad is not None and torch.isfinite(y.grad).all()
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        q.log_prob(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="scale"):
        Banana(scale=(1.0, 0.0))
    with pytest.raises(ValueError, match="shift"):
        Banana(shift=(0.0, 0.0, 1.0))


def test_banana_to_device_keeps_density_and_samples_there(device):
    base = Banana(a=0.8, b=1.0, scale=(1.0, 0.5), angle=0.3, shift=(1.0, -1.0))
    moved = base.to(device)
    assert moved.device.type == torch.device(device).type
    g = torch.Generator(device=device).manual_seed(0)
    y = moved.sample(100, generator=g)
    assert y.device.type == moved.device.type and y.shape == (100, 2)
    assert torch.allclose(moved.log_prob(y).cpu(), base.log_prob(y.cpu()), atol=1e-5)
    assert torch.allclose(moved.mean.cpu(), base.mean) and torch.allclose(moved.cov.cpu(), base.cov)
    assert base.to(dtype=torch.float64).sample(3).dtype == torch.float64
