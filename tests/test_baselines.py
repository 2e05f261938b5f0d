"""Baselines ICNN, ICGN and MLPMap: shapes, symmetric PSD Jacobians against autograd, input
checks."""

import numpy as np
import pytest
import torch
from helpers import randomize

from mgn_utils import autodiff
from mgn_utils.models import ICGN, ICNN, MLPMap


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    "make",
    [
        lambda d: ICNN(d, 5, layers=3),
        lambda d: ICGN(d, 4),
        lambda d: ICGN(d, 3, bias=False),
        lambda d: MLPMap(d, 6, layers=2),
    ],
)
@pytest.mark.parametrize("dim", [1, 3])
def test_shapes(make, dim):
    model = make(dim)
    x = torch.randn(7, dim)
    assert model(x).shape == (7, dim)
    assert model.jacobian(x).shape == (7, dim, dim)


def test_parameter_counts_match_docstrings():
    d, h = 2, 4
    assert n_params(ICNN(d, h, layers=3)) == (d + 1) * h + 2 * (h * h + (d + 1) * h) + h + d
    assert n_params(ICGN(d, h)) == h * d + h + d
    assert n_params(ICGN(d, 5, bias=False)) == 15
    assert n_params(MLPMap(d, h)) == h * d + h + d * h + d


@pytest.mark.parametrize("seed", range(4))
def test_icnn_jacobian_is_hessian_symmetric_psd(seed):
    model = randomize(ICNN(3, 5, layers=3).double(), seed=seed)
    x = torch.randn(20, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2
    J = model.jacobian(x)
    assert torch.allclose(J, autodiff.jacobian(model, x), rtol=1e-10, atol=1e-12)  # J_{∇φ} = ∇²φ
    assert torch.allclose(J, J.transpose(1, 2), atol=1e-12)
    assert torch.linalg.eigvalsh(J).min() >= -1e-10
    # the map is the gradient of the potential (finite differences of φ)
    eps, e = 1e-6, torch.eye(3, dtype=torch.float64)
    fd = torch.stack(
        [
            (model.potential(x + eps * e[i]) - model.potential(x - eps * e[i])) / (2 * eps)
            for i in range(3)
        ],
        1,
    )
    assert torch.allclose(model(x), fd, atol=1e-7)
    auto = torch.func.grad(lambda y: model.potential(y).sum())(x)  # the hand-written backward
    assert torch.allclose(model(x), auto, rtol=1e-12, atol=1e-14)


def test_icnn_forward_backpropagates_to_parameters():
    model = ICNN(2, 4, layers=2)
    loss = model(torch.rand(16, 2)).pow(2).sum()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    assert model.U_raw[0].grad.abs().sum() > 0  # the second-order path reaches U


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "softplus"])
@pytest.mark.parametrize("seed", range(3))
def test_icgn_jacobian_symmetric_psd_vs_autograd(act, seed):
    model = randomize(ICGN(3, 6, activation=act, quadrature=24).double(), std=1.0, seed=seed)
    x = torch.randn(20, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    J_auto = autodiff.jacobian(model, x)  # Jacobian of the quadrature map
    assert torch.allclose(J_auto, J_auto.transpose(1, 2), atol=1e-12)  # symmetric exactly
    J = model.jacobian(x)  # exact H(x) = Wᵀ diag(σ'²) W
    assert torch.allclose(J, J.transpose(1, 2))
    assert torch.linalg.eigvalsh(J).min() >= -1e-12
    scale = J.abs().max()
    assert (J_auto - J).abs().max() <= 1e-6 * scale  # equal up to the quadrature error


def test_icgn_quadrature_matches_tanh_closed_form():
    model = randomize(ICGN(2, 5, quadrature=32).double(), std=1.0)
    x = torch.randn(50, 2, dtype=torch.float64)
    G = lambda s: torch.tanh(s) - torch.tanh(s) ** 3 / 3  # ∫ sech⁴
    exact = (G(x @ model.W.T + model.b) - G(model.b)) @ model.W + model.c
    assert (model(x) - exact).abs().max() <= 1e-10 * exact.abs().max()


def test_icgn_without_bias_maps_zero_to_zero():
    model = ICGN(3, 4, bias=False)
    assert torch.equal(model(torch.zeros(2, 3)), torch.zeros(2, 3))


def test_icgn_uses_gauss_legendre_nodes():
    model = ICGN(2, 3, quadrature=5)
    nodes, weights = np.polynomial.legendre.leggauss(5)
    t, w = model.nodes()
    assert np.allclose(t.numpy(), (nodes + 1) / 2) and np.isclose(w.sum().item(), 1.0)
    assert model.nodes(torch.float32)[0].dtype == torch.float32


def test_mlp_jacobian_is_not_symmetric():
    model = randomize(MLPMap(3, 8).double())
    x = torch.randn(10, 3, dtype=torch.float64)
    J = model.jacobian(x)
    assert (J - J.transpose(1, 2)).abs().amax(dim=(1, 2)).min() > 1e-3


@pytest.mark.parametrize("model", [ICNN(3, 4), ICGN(3, 4), MLPMap(3, 4)])
@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.zeros(5, 4), r"\(B, 3\)"),
        (torch.zeros(3), r"\(B, 3\)"),
        (torch.tensor([[0.0, float("nan"), 1.0]]), "NaN"),
        (torch.zeros(2, 3, dtype=torch.float64), "dtype"),
        ([[0.0, 0.0, 0.0]], r"\(B, 3\)"),
    ],
)
def test_bad_input_raises(model, bad, match):
    model.check_finite = match == "NaN"  # opt-in finite check
    kind = TypeError if isinstance(bad, list) else ValueError  # a list is not a tensor
    try:
        for fn in (model, model.jacobian):
            with pytest.raises(kind, match=match):
                fn(bad)
    finally:
        model.check_finite = False


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="activation"):
        ICGN(2, 3, activation="relu")
    with pytest.raises(ValueError, match="activation"):
        MLPMap(2, 3, activation="gelu")
    for make in (
        lambda: ICNN(2, 0),
        lambda: ICNN(0, 3),
        lambda: ICGN(2, 3, quadrature=0),
        lambda: MLPMap(2, 3, layers=0),
    ):
        with pytest.raises(ValueError):
            make()


# -- ICNN with a quadratic term: identity and Gaussian starts ------------------------------


def _relative_error(y, ref):
    return float((y - ref).pow(2).sum(1).mean() / ref.var(0).sum())


def test_icnn_quadratic_map_is_gradient_of_potential(device):
    torch.manual_seed(0)
    m = ICNN(3, 8, layers=2, quadratic=True).double().to(device)
    with torch.no_grad():
        m.V.normal_()
    x = torch.randn(16, 3, dtype=torch.float64, device=device)
    g = torch.func.vmap(torch.func.grad(lambda v: m.potential(v[None])[0]))(x)
    assert torch.allclose(g, m(x), atol=1e-12)
    eigenvalues = torch.linalg.eigvalsh(m.jacobian(x))
    assert eigenvalues.min() >= -1e-10


def test_icnn_gaussian_and_identity_start(device):
    from mgn_utils.distributions import empirical_gaussian_map

    torch.manual_seed(1)
    xs = torch.randn(2000, 4, dtype=torch.float64, device=device)
    L = torch.randn(4, 4, dtype=torch.float64, device=device)
    xt = xs @ L + 1.0
    A, b = empirical_gaussian_map(xs, xt)
    ref = xs @ torch.as_tensor(A, device=device) + torch.as_tensor(b, device=device)
    m = ICNN.gaussian_start(xs, xt, 16, 2)
    assert m.V is not None and m.V.device.type == torch.device(device).type
    untrained = ICNN(4, 16, 2, quadratic=True).double().to(device)
    start = _relative_error(m(xs), ref)
    assert start < 1e-4 < _relative_error(untrained(xs), ref)
    assert _relative_error(ICNN.identity_start(xs, 16, 2)(xs), xs) < 1e-4


def test_icnn_without_quadratic_term_cannot_start_affine():
    with pytest.raises(ValueError, match="quadratic=True"):
        ICNN(3, 8).init_affine(torch.eye(3), torch.zeros(3), torch.randn(10, 3))
    with pytest.raises(ValueError, match="quadratic must be True or False"):
        ICNN(3, 8, quadratic=1)
