"""The line-integral potential: exact on affine maps, equal to M-MGN's closed-form potential,
and its gradient is the map (C-MGN) but not for a non-gradient map."""

import pytest
import torch
from helpers import randomize, relerr

from mgn_utils.autodiff import line_integral_potential
from mgn_utils.models import CMGN, MMGN

DT = torch.float64


@pytest.mark.parametrize("n_nodes", [1, 2, 8])
def test_affine_map_is_exact(n_nodes):
    g = torch.Generator().manual_seed(0)
    M = torch.randn(3, 3, generator=g, dtype=DT)
    A, b = M @ M.T, torch.randn(3, generator=g, dtype=DT)
    x = torch.randn(10, 3, generator=g, dtype=DT)
    phi = line_integral_potential(lambda y: y @ A + b, x, n_nodes=n_nodes)
    assert torch.allclose(phi, 0.5 * ((x @ A) * x).sum(1) + x @ b, rtol=1e-13, atol=1e-13)


def test_matches_mmgn_closed_form_potential():
    """M-MGN = ∇[aᵀx + ½ xᵀ(VᵀV+εI)x + Σ_k ½ s_k(W_k x + b_k)²] with s_k = Σ log cosh."""
    model = randomize(MMGN(4, 3, modules=2).double(), std=0.6, seed=1)
    x = 1.5 * torch.randn(50, 4, generator=torch.Generator().manual_seed(2), dtype=DT)

    def phi(y):
        z = torch.einsum("khd,bd->bkh", model.W, y) + model.b
        s = torch.log(torch.cosh(z)).sum(-1)  # (B, K)
        return y @ model.a + 0.5 * ((y @ model.linear_part()) * y).sum(1) + 0.5 * (s**2).sum(1)

    with torch.no_grad():
        ref = phi(x) - phi(torch.zeros(1, 4, dtype=DT))
        got = line_integral_potential(model, x, n_nodes=64)
    assert relerr(got, ref) <= 1e-10


def test_gradient_is_the_map_and_base_point():
    model = randomize(CMGN(3, 5, layers=3).double(), seed=3)
    x = torch.randn(20, 3, generator=torch.Generator().manual_seed(4), dtype=DT).requires_grad_(
        True
    )
    phi = line_integral_potential(model, x, n_nodes=48)
    (grad,) = torch.autograd.grad(phi.sum(), x)
    assert relerr(grad, model(x.detach())) <= 1e-9
    x0 = torch.tensor([0.3, -1.0, 2.0], dtype=DT)
    with torch.no_grad():
        shifted = line_integral_potential(model, x, n_nodes=48, x0=x0)
        diff = phi - line_integral_potential(model, x0[None], n_nodes=48)
    assert relerr(shifted, diff) <= 1e-9


def test_non_gradient_map_is_detected():
    R = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=DT)  # rotation: not a gradient
    x = torch.randn(30, 2, generator=torch.Generator().manual_seed(5), dtype=DT).requires_grad_(
        True
    )
    phi = line_integral_potential(lambda y: y @ R.T, x, n_nodes=4)
    (grad,) = torch.autograd.grad(phi.sum(), x)
    assert relerr(grad, x.detach() @ R.T) > 0.5


@pytest.mark.parametrize(
    "bad, kwargs, match",
    [
        (torch.zeros(3), {}, r"\(B, d\)"),
        (torch.zeros(2, 3), {"n_nodes": 0}, "n_nodes"),
        (torch.zeros(2, 3), {"x0": torch.zeros(2)}, "x0"),
    ],
)
def test_bad_input_raises(bad, kwargs, match):
    with pytest.raises(ValueError, match=match):
        line_integral_potential(lambda y: y, bad, **kwargs)
