"""The minimax W2 solver: signs, conventions and a Gaussian pair with a known map."""

import copy

import pytest
import torch

from mgn_utils import autodiff, models, solvers
from mgn_utils.distributions import Gaussian, gaussian_ot_map
from mgn_utils.metrics import l2_uvp
from mgn_utils.models import CMGN, ICNN


def gaussian_pair(d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(d, d, generator=g)
    S1 = M @ M.T / d + 0.5 * torch.eye(d)
    m1 = torch.randn(d, generator=g)
    S2 = torch.diag(torch.linspace(0.5, 2.0, d))
    m2 = torch.zeros(d)
    A, b = gaussian_ot_map(m1, S1, m2, S2)
    return Gaussian(m1, S1), Gaussian(m2, S2), (lambda x: x @ A + b), float(torch.trace(S2))


def test_minimax_learns_the_gaussian_map_from_samples():
    torch.manual_seed(0)
    p, q, T_star, var_q = gaussian_pair()
    T = CMGN(3, hidden=32, layers=2, activation="tanh", w_scale=0.5)
    f = models.ConvexPotential(3, hidden=32, first="logcosh", out_scale=1.0)
    x = p.sample(4096, generator=torch.Generator().manual_seed(1))
    before, identity = l2_uvp(T, T_star, x, var_q), l2_uvp(lambda z: z, T_star, x, var_q)
    res = solvers.fit_w2_minimax(
        T,
        f,
        p.sample,
        q.sample,
        steps=300,
        inner_steps=3,
        batch_size=256,
        lr_map=1e-2,
        lr_potential=1e-2,
        progress=False,
    )
    x = p.sample(4096, generator=torch.Generator().manual_seed(2))  # fresh evaluation sample
    after = l2_uvp(T, T_star, x, var_q)
    assert after < 0.1 * identity and after < 0.1 * before, (before, identity, after)
    # the dual estimate of W2²/2 (cost ½‖x−y‖²) approaches the closed form
    w2_half = 0.5 * float(((T_star(x) - x) ** 2).sum(1).mean())
    assert abs(sum(res.w2_half[-50:]) / 50 - w2_half) < 0.15 * w2_half
    assert len(res.map_losses) == 900 and len(res.potential_losses) == 300 and res.seconds > 0


def test_signs_at_the_gaussian_solution_are_stationary():
    """At T = T* and f = the conjugate of T*'s potential, neither player wants to move:
    the map's loss gradient ∇f(T(x)) − x vanishes and E_Q f − E_P f(T x) has zero gradient in the
    quadratic part (T♯P = Q)."""
    p, q, _, _ = gaussian_pair(d=2, seed=3)
    A, b = gaussian_ot_map(p.mean, p.cov, q.mean, q.cov)
    Ainv = torch.linalg.inv(A)
    f = models.ConvexPotential(2, hidden=4).set_quadratic((Ainv + Ainv.T) / 2, -(b @ Ainv))
    with torch.no_grad():
        f.a.zero_()
    x = p.sample(200_000, generator=torch.Generator().manual_seed(0))
    y = (x @ A + b).requires_grad_(True)
    (grad_y,) = torch.autograd.grad(f(y).sum(), y)
    assert torch.allclose(grad_y, x, atol=1e-4)  # ∇f(T*(x)) = x: the inner map is optimal
    yq = q.sample(200_000, generator=torch.Generator().manual_seed(1))
    loss = f(yq).mean() - f(y.detach()).mean()
    (gL,) = torch.autograd.grad(loss, f.L)
    assert gL.abs().max() < 0.05


def test_visible_step_matches_and_icnn_potential_is_used():
    p, q, _, _ = gaussian_pair(d=2)
    T, f = CMGN(2, 8, 2), ICNN(2, 8, 2)  # an ICNN critic: its .potential is the scalar f
    res = solvers.fit_w2_minimax(
        copy.deepcopy(T),
        f,
        p.sample,
        q.sample,
        steps=3,
        inner_steps=2,
        batch_size=16,
        progress=False,
    )
    assert len(res.potential_losses) == 3
    with pytest.raises(ValueError, match="inner_steps"):
        solvers.fit_w2_minimax(T, f, p.sample, q.sample, steps=1, inner_steps=0)


def test_affine_init_and_sample_gaussian_map():
    p, q, T_star, var_q = gaussian_pair(d=3, seed=5)
    g = torch.Generator().manual_seed(0)
    x, y = p.sample(50_000, generator=g), q.sample(50_000, generator=g)
    A, b = solvers.sample_gaussian_map(x, y)
    assert torch.allclose(A, A.T) and l2_uvp(lambda z: z @ A + b, T_star, x, var_q) < 0.5
    T = solvers.affine_init(CMGN(3, 16, 2, w_scale=0.01), A, b, x[:1000])
    assert torch.allclose(T.linear_part(), A, atol=1e-3)  # tiny non-linear part
    assert l2_uvp(T, lambda z: z @ A + b, x[:1000], var_q) < 0.1
    # a large non-linear part: its average Jacobian over the sample is compensated in V
    torch.manual_seed(0)
    T = solvers.affine_init(CMGN(3, 16, 2, activation="tanh", w_scale=0.5), A, b, x[:512])
    J = autodiff.jacobian(T, x[:512]).mean(0)
    assert torch.allclose(J, A, atol=1e-4)
    assert torch.allclose((T(x[:512]) - (x[:512] @ A + b)).mean(0), torch.zeros(3), atol=1e-4)


def test_quadratic_convex_potential_is_convex_and_starts_at_its_quadratic():
    torch.manual_seed(0)
    f = models.QuadraticConvexPotential(3, hidden=8, layers=3).double()
    with torch.no_grad():  # random signs: convexity must hold through the absolute values
        for p in [*f.U, f.a]:
            p.copy_(torch.randn_like(p))
    y = torch.randn(64, 3, dtype=torch.double) * 2
    H = autodiff.hessian(f, y)
    assert H.shape == (64, 3, 3)
    assert torch.linalg.eigvalsh((H + H.transpose(1, 2)) / 2).min() > -1e-9
    g = models.QuadraticConvexPotential(2, hidden=4, layers=2)
    A = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    g.set_quadratic(A, torch.tensor([1.0, -1.0]))
    with torch.no_grad():
        g.a.zero_()
    x = torch.randn(10, 2)
    assert torch.allclose(
        g(x), 0.5 * ((x @ A) * x).sum(1) + x @ torch.tensor([1.0, -1.0]), atol=1e-5
    )
    with pytest.raises(ValueError, match="hidden"):
        models.QuadraticConvexPotential(2, hidden=0)
