"""Closed-form Jacobians and log-determinants of the MGNs against autograd."""

import math

import pytest
import torch
from helpers import randomize, relerr
from hypothesis import given, settings
from hypothesis import strategies as st

from mgn_utils import autodiff
from mgn_utils.models import ACTIVATIONS, CMGN, MMGN


def _rank(d, frac):
    """None (full ``V``) for frac = 0, else a rank in 1..d."""
    return None if frac == 0 else max(1, min(d, round(frac * d)))


models = st.one_of(
    st.builds(
        lambda d, h, L, act, r, s: randomize(
            CMGN(d, h, layers=L, activation=act, v_rank=_rank(d, r)).double(), seed=s
        ),
        st.integers(1, 6),
        st.integers(1, 8),
        st.integers(1, 4),
        st.sampled_from(sorted(ACTIVATIONS)),
        st.sampled_from([0, 0.3, 1.0]),
        st.integers(0, 10**6),
    ),
    st.builds(
        lambda d, h, K, r, s: randomize(MMGN(d, h, modules=K, v_rank=_rank(d, r)).double(), seed=s),
        st.integers(1, 6),
        st.integers(1, 6),
        st.integers(1, 3),
        st.sampled_from([0, 0.5]),
        st.integers(0, 10**6),
    ),
)


@settings(max_examples=60, deadline=None)
@given(model=models, seed=st.integers(0, 10**6), scale=st.sampled_from([0.1, 1.0, 5.0]))
def test_jacobian_matches_autograd_symmetric_psd(model, seed, scale):
    x = (
        torch.randn(
            5, model.dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
        )
        * scale
    )
    J = model.jacobian(x)
    assert J.shape == (5, model.dim, model.dim)
    assert relerr(J, autodiff.jacobian(model, x)) <= 1e-10
    assert torch.equal(J, J.transpose(1, 2)) or relerr(J, J.transpose(1, 2)) <= 1e-12
    eig = torch.linalg.eigvalsh(J)
    assert eig.min() >= model.eps * (1 - 1e-6) - 1e-10 * eig.abs().max()


@pytest.mark.parametrize(
    "make",
    [
        lambda: CMGN(6, 3, layers=3),  # hidden < dim: lemma route
        lambda: CMGN(4, 9, layers=2, activation="tanh"),  # hidden > dim: Cholesky route
        lambda: MMGN(9, 2, modules=2),  # rank K(h+1) = 6 < 9
        lambda: MMGN(4, 3, modules=2),  # rank 8 > 4
    ],
)
@pytest.mark.parametrize("method", ["auto", "lemma", "cholesky"])
def test_logdet_matches_slogdet(make, method):
    model = randomize(make().double(), std=0.5)
    x = torch.randn(8, model.dim, dtype=torch.float64)
    ref = autodiff.logdet_jacobian(model, x)
    assert (model.logdet_jacobian(x, method=method) - ref).abs().max() <= 1e-8


@pytest.mark.parametrize("make", [lambda: CMGN(6, 3), lambda: MMGN(7, 2, modules=2)])
def test_logdet_gradient_matches_autograd(make):
    model = randomize(make().double(), std=0.5)
    x = torch.randn(4, model.dim, dtype=torch.float64)
    params = [p for n, p in model.named_parameters() if n not in ("b_out", "a")]  # no effect on J
    g1 = torch.autograd.grad(model.logdet_jacobian(x, "lemma").sum(), params)
    g2 = torch.autograd.grad(autodiff.logdet_jacobian(model, x).sum(), params)
    for a, b in zip(g1, g2):
        assert relerr(a, b) <= 1e-7


def test_init_is_near_identity():
    x = torch.randn(64, 16)
    for model in (CMGN(16, 32), MMGN(16, 8, modules=4)):
        J = model.jacobian(x)
        assert (J - torch.eye(16)).abs().max() < 0.5
        assert torch.allclose(model.V.T @ model.V, torch.eye(16), atol=1e-5)


def test_without_V_term_narrow_network_is_singular():
    """rank(Wᵀ D W) <= hidden: with V = 0 and eps = 0 a narrow C-MGN has det J = 0."""
    model = CMGN(6, 3, eps=0.0).double()
    with torch.no_grad():
        model.V.zero_()
    J = model.jacobian(torch.randn(5, 6, dtype=torch.float64))
    assert (torch.linalg.matrix_rank(J) <= 3).all()


def test_float32_logdet_at_higher_dim_is_accurate():
    torch.manual_seed(1)
    model = CMGN(64, 16)
    x = torch.randn(32, 64)
    ref = model.double().logdet_jacobian(x.double(), "cholesky")
    model.float()
    assert (model.logdet_jacobian(x, "lemma").double() - ref).abs().max() < 1e-3


@pytest.mark.parametrize("model", [CMGN(3, 4), MMGN(3, 2)])
@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.zeros(5, 4), r"\(B, 3\)"),
        (torch.zeros(3), r"\(B, 3\)"),
        (torch.tensor([[0.0, float("nan"), 1.0]]), "NaN"),
        (torch.zeros(2, 3, dtype=torch.float64), "dtype"),
    ],
)
def test_bad_input_raises(model, bad, match):
    model.check_finite = match == "NaN"  # the finite check is opt-in (it syncs with the device)
    try:
        for fn in (model, model.jacobian, model.logdet_jacobian):
            with pytest.raises(ValueError, match=match):
                fn(bad)
    finally:
        model.check_finite = False


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="activation"):
        CMGN(2, 3, activation="gelu")
    with pytest.raises(ValueError):
        MMGN(2, 0)
    with pytest.raises(TypeError, match="hidden must be an int"):
        CMGN(2, hidden=2.5)
    with pytest.raises(TypeError, match="dim must be an int"):
        MMGN(2.0, 3)
    with pytest.raises(ValueError, match="eps"):
        CMGN(2, 3, eps=float("nan"))
    import numpy as np

    assert CMGN(np.int64(2), np.int64(3)).dim == 2  # numpy integers are accepted
    with pytest.raises(ValueError, match="method"):
        CMGN(2, 3).logdet_jacobian(torch.zeros(1, 2), method="lu")


@pytest.mark.parametrize("cls", [CMGN, MMGN])
def test_low_rank_v(cls):
    model = cls(10, 4, v_rank=3)
    assert model.V.shape == (3, 10)
    A = model.linear_part()
    assert (
        torch.linalg.matrix_rank(A - model.eps * torch.eye(10)) == 3
    )  # orthogonal projection at init
    for bad in (0, 11, 2.5):
        with pytest.raises((ValueError, TypeError), match="v_rank"):
            cls(10, 4, v_rank=bad)


@pytest.mark.parametrize(
    "make", [lambda: CMGN(6, 3), lambda: CMGN(3, 8), lambda: MMGN(6, 2, 2), lambda: MMGN(3, 4)]
)
def test_torch_func_grad_of_logdet_equals_autograd(make):
    """torch.func.grad and vmap go through the closed-form log-det (lemma and Cholesky routes)."""
    from torch.func import grad, vmap

    model = make().double()
    x = torch.randn(7, model.dim, dtype=torch.float64, requires_grad=True)
    (ref,) = torch.autograd.grad(model.logdet_jacobian(x).sum(), x)
    got = grad(lambda z: model.logdet_jacobian(z).sum())(x.detach())
    assert ref.abs().max() > 1e-3  # a gradient that is not trivially zero
    assert torch.allclose(got, ref, atol=1e-10, rtol=1e-9)
    per_row = vmap(grad(lambda z: model.logdet_jacobian(z[None]).sum()))(x.detach())
    assert torch.allclose(per_row, ref, atol=1e-10, rtol=1e-9)


@pytest.mark.parametrize("cls", [CMGN, MMGN])
def test_potential_gradient_is_the_map(cls):
    model = cls(4, 5).double()
    x = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    phi = model.potential(x)
    assert phi.shape == (6,)
    (g,) = torch.autograd.grad(phi.sum(), x)
    assert torch.allclose(g, model(x), atol=1e-9)


def test_gaussian_start_matches_the_affine_map():
    torch.manual_seed(3)
    x = torch.randn(4000, 3, dtype=torch.float64)
    A = torch.tensor([[2.0, 0.3, 0.0], [0.3, 1.0, 0.0], [0.0, 0.0, 0.5]], dtype=torch.float64)
    y = x @ A + 1.0
    model = MMGN.gaussian_start(x, y, hidden=4, modules=2)
    err = ((model(x) - y) ** 2).sum(1).mean() / torch.cov(y.T).trace()
    far = ((MMGN(3, 4, 2).double()(x) - y) ** 2).sum(1).mean() / torch.cov(y.T).trace()
    assert err < 0.01 < far


def test_logdet_spd_says_what_it_needs():
    from mgn_utils.models import logdet_spd

    K = torch.eye(3, dtype=torch.float64).expand(2, 3, 3) * 2
    assert torch.allclose(logdet_spd(K), torch.full((2,), 3 * math.log(2), dtype=torch.float64))
    with pytest.raises(ValueError, match=r"\(\.\.\., n, n\)"):
        logdet_spd(torch.ones(2, 3))
    with pytest.raises(torch.linalg.LinAlgError, match="1 of 2 matrices"):
        logdet_spd(torch.stack([torch.eye(3), -torch.eye(3)]))
