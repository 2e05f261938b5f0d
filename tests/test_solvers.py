"""The minimax W2 solver: signs, conventions and a Gaussian pair with a known map."""

import copy
import math

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


def gaussian_solution(d=2, seed=3):
    """A Gaussian pair with its OT map x -> xA + b and the critic at the solution: f is the
    conjugate of the map's potential (ridge units switched off)."""
    p, q, _, _ = gaussian_pair(d=d, seed=seed)
    A, b = gaussian_ot_map(p.mean, p.cov, q.mean, q.cov)
    Ainv = torch.linalg.inv(A)
    f = models.ConvexPotential(d, hidden=4).set_quadratic((Ainv + Ainv.T) / 2, -(b @ Ainv))
    with torch.no_grad():
        f.a.zero_()
    return p, q, A, b, f


def test_minimax_learns_the_gaussian_map_from_samples(device):
    """From a random C-MGN (a poor start) to a tenth of its error; CPU samples, moved to the
    map's device by the solver."""
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
        device=device,
        progress=False,
    )
    assert next(T.parameters()).device.type == next(f.parameters()).device.type == device
    T.cpu()
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
    p, q, A, b, f = gaussian_solution()
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


def test_minimax_time_budget_and_options():
    p, q, _, _ = gaussian_pair(d=2)
    kw = dict(inner_steps=1, batch_size=32, progress=False)
    T, f = CMGN(2, 8, 2), models.QuadraticConvexPotential(2, 8, layers=2)
    res = solvers.fit_w2_minimax(T, f, p.sample, q.sample, None, seconds=0.3, **kw)
    assert res.steps == len(res.potential_losses) > 0 and res.seconds < 0.3 + 0.5
    res = solvers.fit_w2_minimax(T, f, p.sample, q.sample, 4, seconds=60.0, **kw)
    assert res.steps == 4  # whichever ends first
    for opts in (
        dict(expectile=0.99, expectile_weight=0.1),
        dict(conjugate_iters=5),
        dict(conjugate_iters=5, amortisation="regression"),
    ):
        res = solvers.fit_w2_minimax(T, f, p.sample, q.sample, 3, **kw, **opts)
        assert len(res.potential_losses) == 3 and all(map(math.isfinite, res.map_losses))
    with pytest.raises(ValueError, match="conjugate_iters"):
        solvers.fit_w2_minimax(T, f, p.sample, q.sample, 1, amortisation="regression")
    with pytest.raises(ValueError, match="expectile"):
        solvers.fit_w2_minimax(T, f, p.sample, q.sample, 1, expectile=1.0)
    with pytest.raises(ValueError, match="steps=, seconds="):
        solvers.fit_w2_minimax(T, f, p.sample, q.sample, None)


def test_expectile_loss_is_zero_on_fenchel_young_pairs_at_the_solution():
    """At the Gaussian solution f = conjugate of T*'s potential, f(y) + f*(x) >= <x, y> for every
    pair, so the expectile term only sees non-positive gaps and is small (weight 1 − τ)."""
    p, q, A, b, f = gaussian_solution()
    with torch.no_grad():
        x = p.sample(4096, generator=torch.Generator().manual_seed(0))
        yq = q.sample(4096, generator=torch.Generator().manual_seed(1))
        y = x @ A + b
        gap = (x * yq).sum(1) - ((x * y).sum(1) - f(y)) - f(yq)
    assert gap.max() < 1e-3


def test_newton_inverse_solves_T_x_equals_y():
    torch.manual_seed(0)
    T = CMGN(4, 16, layers=3, activation="tanh", w_scale=1.0)
    x_true = torch.randn(64, 4)
    with torch.no_grad():
        y = T(x_true)
    x, resid = solvers.newton_inverse(T, y, torch.zeros_like(y), steps=8)
    assert resid.max() < 1e-4 and torch.allclose(x, x_true, atol=1e-3)
    with pytest.raises(ValueError, match=r"\(B, d\)"):
        solvers.newton_inverse(T, y, x[:3])


class _Cube(torch.nn.Module):
    """T(x) = x³ (the gradient of the convex x⁴/4): Newton from near 0 overshoots wildly."""

    def forward(self, x):
        return x**3

    def jacobian(self, x):
        return torch.diag_embed(3 * x**2)


def test_newton_inverse_never_ends_a_row_farther_from_a_solution():
    y = torch.ones(3, 2)
    start = torch.tensor([[1e-3, 1e-3], [0.9, 1.1], [2.0, 0.5]])
    r0 = (start**3 - y).norm(dim=1)
    x, resid = solvers.newton_inverse(_Cube(), y, start, steps=1)
    assert (resid <= r0).all() and x[0].abs().max() < 1  # the overshooting row stays put
    assert torch.allclose(resid, (x**3 - y).norm(dim=1))
    x, resid = solvers.newton_inverse(_Cube(), y, start, steps=30)
    assert resid[1:].max() < 1e-5


def test_semidual_value_takes_the_best_certified_lower_bound_per_row():
    # a start with a huge residual: Newton from it alone would certify almost nothing
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(4000, 2, generator=g), 2 * torch.randn(4000, 2, generator=g)
    T = CMGN(2, 4, layers=2, w_scale=0.0).init_affine(2 * torch.eye(2), torch.zeros(2), x)
    good = solvers.semidual_value(T, x, y, y / 2, newton_steps=0)
    bad = solvers.semidual_value(T, x, y, y * 1e3, newton_steps=0)
    phi_x = float(autodiff.line_integral_potential(T, x, n_nodes=16).mean())
    assert phi_x - 1e-4 <= bad < good  # the origin's bound φ*(y) >= -φ(0) = 0, not -10⁶|y|²


def test_semidual_learns_the_gaussian_map_and_keeps_the_map_monotone(device):
    torch.manual_seed(0)
    p, q, T_star, var_q = gaussian_pair()
    T = CMGN(3, hidden=32, layers=2, activation="tanh", w_scale=0.5)
    x = p.sample(4096, generator=torch.Generator().manual_seed(1))
    before = l2_uvp(T, T_star, x, var_q)  # a random C-MGN: a poor start
    res = solvers.fit_w2_semidual(
        T, p.sample, q.sample, steps=300, batch_size=256, lr=1e-2, device=device
    )
    assert next(T.parameters()).device.type == device
    T.cpu()
    x = p.sample(4096, generator=torch.Generator().manual_seed(2))
    after = l2_uvp(T, T_star, x, var_q)
    assert after < 0.1 * before, (before, after)
    assert res.steps == len(res.losses) == 300 and max(res.residuals[-50:]) < 1e-2
    J = T.jacobian(x[:32]).detach()
    assert torch.linalg.eigvalsh(J).min() > 0 and (J - J.transpose(1, 2)).abs().max() < 1e-5


def test_semidual_errors():
    p, q, _, _ = gaussian_pair(d=2)
    with pytest.raises(TypeError, match="jacobian"):
        solvers.fit_w2_semidual(torch.nn.Linear(2, 2), p.sample, q.sample, steps=1)
    with pytest.raises(ValueError, match="steps=, seconds="):
        solvers.fit_w2_semidual(CMGN(2, 4, 1), p.sample, q.sample)
    with pytest.raises(ValueError, match="batch_size"):
        solvers.fit_w2_semidual(CMGN(2, 4, 1), p.sample, q.sample, steps=1, batch_size=1)


def test_solvers_share_the_callback_protocol_and_check_lr_final_factor():
    from mgn_utils.training import Callback, Monitor

    class StopAt(Callback):
        every = 2

        def __call__(self, step, model, losses):
            return step >= 4

    p, q, _, _ = gaussian_pair(d=2)
    T, f = CMGN(2, 8, 2), models.QuadraticConvexPotential(2, 8, layers=2)
    mon = Monitor(lambda T: float(T(torch.zeros(1, 2)).norm()), every=3, name="t0", ends=True)
    kw = dict(inner_steps=1, batch_size=16, progress=False)
    res = solvers.fit_w2_minimax(T, f, p.sample, q.sample, 50, callbacks=[StopAt(), mon], **kw)
    assert res.stopped_early and res.steps == 4 and len(res.potential_losses) == 4
    assert [s for s, _ in res.history["t0"]] == [0, 3, 4]
    mon = Monitor(lambda T: 0.0, every=3, name="t0", ends=True)
    res = solvers.fit_w2_semidual(
        T, p.sample, q.sample, steps=50, batch_size=16, callbacks=[StopAt(), mon]
    )
    assert res.stopped_early and res.steps == 4 and [s for s, _ in res.history["t0"]] == [0, 3, 4]
    with pytest.raises(ValueError, match="lr_final_factor"):
        solvers.fit_w2_minimax(T, f, p.sample, q.sample, 1, lr_final_factor=0.0, **kw)
    with pytest.raises(ValueError, match="lr_final_factor"):
        solvers.fit_w2_semidual(T, p.sample, q.sample, steps=1, lr_final_factor=2.0)
