"""Losses: closed forms, agreement with POT, gradients against unrolled autodiff."""
import numpy as np
import ot
import pytest
import torch

from mgn_utils import losses
from mgn_utils.distributions import Gaussian, gaussian_ot_map
from mgn_utils.models import CMGN

D = torch.float64


def spd(d, seed):
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(d, d, generator=g, dtype=D)
    return M @ M.T + 0.5 * torch.eye(d, dtype=D)


def test_gaussian_kl_matches_torch():
    for d, s in [(1, 0), (3, 1), (6, 2)]:
        m0, m1 = torch.randn(d, dtype=D), torch.randn(d, dtype=D)
        S0, S1 = spd(d, s), spd(d, s + 10)
        ref = torch.distributions.kl_divergence(torch.distributions.MultivariateNormal(m0, S0),
                                                torch.distributions.MultivariateNormal(m1, S1))
        assert torch.allclose(losses.gaussian_kl(m0, S0, m1, S1), ref, rtol=1e-10)


def test_moment_kl_is_blind_beyond_two_moments():
    """A uniform sample whitened to mean 0, covariance I has moment KL 0 to N(0, I)."""
    u = torch.rand(5000, 2, dtype=D)
    u = u - u.mean(0)
    L = torch.linalg.cholesky(u.T @ u / (len(u) - 1))
    y = torch.linalg.solve_triangular(L, u.T, upper=False).T
    assert losses.moment_kl(y, torch.zeros(2, dtype=D), torch.eye(2, dtype=D)) < 1e-12
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        losses.moment_kl(y, torch.zeros(3, dtype=D), torch.eye(3, dtype=D))


def exact_cmgn_map(A, b):
    """A C-MGN equal to x -> A x + b: W = 0 and VᵀV + εI = A."""
    d = A.shape[0]
    T = CMGN(d, 2).double()
    with torch.no_grad():
        T.W.zero_()
        T.V.copy_(torch.linalg.cholesky(A - T.eps * torch.eye(d, dtype=D)).T)
        T.b_out.copy_(b - torch.nn.functional.softplus(torch.zeros(2, dtype=D)) @ T.W)
    return T


def test_monge_ampere_residual_vanishes_at_the_gaussian_ot_map():
    m1, S1, m2, S2 = torch.tensor([2.0, 1.0], dtype=D), spd(2, 3), torch.zeros(2, dtype=D), torch.eye(2, dtype=D)
    A, b = gaussian_ot_map(m1, S1, m2, S2)
    T = exact_cmgn_map(A, b)
    p, q = Gaussian(m1, S1), Gaussian(m2, S2)
    x = p.sample(100, generator=torch.Generator().manual_seed(0))
    r = losses.monge_ampere_residual(T, x, p.log_prob, q.log_prob)
    assert r.abs().max() < 1e-9
    wrong = exact_cmgn_map(1.1 * A, b)
    assert losses.monge_ampere_loss(wrong, x, p.log_prob, q.log_prob, p=1) > 0.1
    assert losses.monge_ampere_loss(wrong, x, p.log_prob, q.log_prob, p=2) > 0.01
    with pytest.raises(ValueError, match="p must be"):
        losses.monge_ampere_loss(T, x, p.log_prob, q.log_prob, p=3)


def test_change_of_variables_kl_equals_kl_plus_entropy():
    m1, S1 = torch.tensor([2.0, 1.0], dtype=D), spd(2, 4)
    A = spd(2, 5)
    b = torch.tensor([0.3, -0.2], dtype=D)
    T = exact_cmgn_map(A, b)
    p, q = Gaussian(m1, S1), Gaussian(torch.zeros(2, dtype=D), torch.eye(2, dtype=D))
    x = p.sample(200_000, generator=torch.Generator().manual_seed(1))
    value = losses.change_of_variables_kl(T, x, q.log_prob)
    kl = losses.gaussian_kl(A @ m1 + b, A @ S1 @ A, q.mean, q.cov)
    entropy = 0.5 * torch.logdet(2 * torch.pi * torch.e * S1)
    integrand = -q.log_prob(T(x)) - torch.logdet(A)
    assert torch.allclose(value, integrand.mean(), rtol=1e-12)
    se = integrand.std() / len(x) ** 0.5  # Monte-Carlo standard error
    assert abs(float(value.detach() - (kl + entropy))) < 4 * se


def test_entropic_ot_matches_pot_plan_value():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(60, 2, generator=g, dtype=D), torch.randn(50, 2, generator=g, dtype=D) + 1
    eps = 0.5
    ours = losses.entropic_ot(x, y, eps, n_iter=2000, tol=1e-12)
    a, b = np.full(60, 1 / 60), np.full(50, 1 / 50)
    M = ot.dist(x.numpy(), y.numpy())
    plan = ot.sinkhorn(a, b, M, eps, method="sinkhorn_log", numItermax=10000, stopThr=1e-13)
    ref = (plan * M).sum() + eps * (plan * np.log(plan / np.outer(a, b))).sum()
    assert abs(float(ours) - ref) < 1e-8


def test_entropic_ot_gradient_equals_unrolled_autodiff():
    """The envelope gradient (one step with grad) equals differentiating through the whole loop."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(30, 2, generator=g, dtype=D).requires_grad_(True)
    y = torch.randn(40, 2, generator=g, dtype=D) + 0.5
    eps = 0.3
    (g1,) = torch.autograd.grad(losses.entropic_ot(x, y, eps, n_iter=3000, tol=1e-13), x)
    C = ((x[:, None] - y[None]) ** 2).sum(-1)
    la, lb = torch.full((30,), 1 / 30, dtype=D).log(), torch.full((40,), 1 / 40, dtype=D).log()
    f, gg = torch.zeros(30, dtype=D), torch.zeros(40, dtype=D)
    for _ in range(3000):
        f = -eps * torch.logsumexp(lb[None] + (gg[None] - C) / eps, 1)
        gg = -eps * torch.logsumexp(la[:, None] + (f[:, None] - C) / eps, 0)
    (g2,) = torch.autograd.grad(f.mean() + gg.mean(), x)
    assert torch.allclose(g1, g2, rtol=1e-6, atol=1e-9)


def test_sinkhorn_divergence_properties():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(200, 2, generator=g, dtype=D)
    assert abs(float(losses.sinkhorn_divergence(x, x, eps=0.1))) < 1e-8
    y = x + torch.tensor([3.0, 0.0], dtype=D)
    # A translation by v: S_ε = ‖v‖² exactly (cost ‖x−y‖², the entropic terms cancel).
    assert abs(float(losses.sinkhorn_divergence(x, y, eps=0.1)) - 9.0) < 1e-3
    z = torch.randn(200, 2, generator=g, dtype=D) * 2
    assert float(losses.sinkhorn_divergence(x, z, eps=0.1)) > 0


def test_sliced_w2_of_a_translation():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(500, 4, generator=g, dtype=D)
    v = torch.tensor([1.0, 2.0, 0.0, 2.0], dtype=D)  # ‖v‖² = 9: SW2² = E(θ·v)² = 9/4
    sw = losses.sliced_w2(x, x + v, n_projections=20_000, generator=torch.Generator().manual_seed(0), squared=True)
    assert abs(float(sw) - 9 / 4) < 0.1
    a = losses.sliced_w2(x, x + v, generator=torch.Generator().manual_seed(5))
    b = losses.sliced_w2(x, x + v, generator=torch.Generator().manual_seed(5))
    assert a == b
    with pytest.raises(ValueError, match="same number of rows"):
        losses.sliced_w2(x, x[:10])


def test_critic_learns_a_shift():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    critic = losses.Critic(2)
    opt = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    real = torch.randn(512, 2, generator=g) + torch.tensor([2.0, 0.0])
    fake = torch.randn(512, 2, generator=g)
    for _ in range(300):
        w = losses.critic_step(critic, opt, real, fake, generator=g)
    assert 1.5 < w < 2.3  # W1 between the two Gaussians is 2
    with pytest.raises(ValueError, match="same shape"):
        losses.gradient_penalty(critic, real, fake[:5])


def test_bad_samples_rejected():
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        losses.sinkhorn_divergence(torch.zeros(3), torch.zeros(3, 1))
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        losses.sinkhorn_divergence(torch.zeros(3, 2), torch.zeros(3, 1))


def test_sqdist_gram_form_matches_broadcast_in_high_dimension():
    from mgn_utils.losses import _GRAM_DIM, _sqdist
    g = torch.Generator().manual_seed(0)
    x = torch.rand(7, _GRAM_DIM + 5, generator=g, dtype=torch.float64)
    y = torch.rand(9, _GRAM_DIM + 5, generator=g, dtype=torch.float64)
    ref = ((x[:, None] - y[None]) ** 2).sum(-1)
    assert torch.allclose(_sqdist(x, y), ref, rtol=1e-12, atol=1e-10)
    assert (_sqdist(x, x).diagonal() >= 0).all()
