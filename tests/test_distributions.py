"""Tests of mgn_utils.distributions (float64 throughout).

POT conventions checked against the source of POT 0.9.7
(``inspect.getsource(ot.gaussian.bures_wasserstein_mapping)`` / ``..._distance``):
* ``bures_wasserstein_mapping(ms, mt, Cs, Ct)`` returns ``A, b`` with
  ``b = mt - ms @ A``, i.e. the row-vector map ``x @ A + b`` from source to target.
* ``bures_wasserstein_distance`` returns ``W2`` (NOT squared):
  ``sqrt(max(||ms - mt||^2 + B(Cs, Ct)^2, 0))`` for the cost ``||x - y||^2``.
"""

import re

import numpy as np
import ot
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mgn_utils.distributions import (
    Gaussian,
    GaussianMixture,
    gaussian_ot_map,
    gaussian_w2,
    sqrtm_psd,
)

DT = torch.float64
HSET = settings(max_examples=25, deadline=None)
DIMS = st.sampled_from([1, 2, 5, 16])
SEEDS = st.integers(0, 2**32 - 1)


def random_spd(d, rng, lo=0.1, hi=10.0):
    """Q diag(eigs) Q^T with eigenvalues log-uniform in [lo, hi] (cond <= 100)."""
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    eigs = np.exp(rng.uniform(np.log(lo), np.log(hi), size=d))
    S = (Q * eigs) @ Q.T
    return 0.5 * (S + S.T)


def random_params(d, seed):
    rng = np.random.default_rng(seed)
    m1 = rng.standard_normal(d) * 2
    m2 = rng.standard_normal(d) * 2
    return m1, random_spd(d, rng), m2, random_spd(d, rng)


def t(a):
    return torch.as_tensor(a, dtype=DT)


def rel_err(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


# ----------------------------------------------------------------------------
# closed-form Gaussian OT vs POT
# ----------------------------------------------------------------------------
@HSET
@given(d=DIMS, seed=SEEDS)
def test_ot_map_matches_pot(d, seed):
    m1, S1, m2, S2 = random_params(d, seed)
    A, b = gaussian_ot_map(t(m1), t(S1), t(m2), t(S2))
    assert A.dtype == DT and A.shape == (d, d) and b.shape == (d,)
    A_pot, b_pot = ot.gaussian.bures_wasserstein_mapping(m1, m2, S1, S2)
    assert rel_err(A.numpy(), A_pot) <= 1e-8
    assert rel_err(b.numpy(), np.reshape(b_pot, -1)) <= 1e-8
    # POT's map is applied to row vectors as x @ A + b: same images as ours
    x = np.random.default_rng(seed + 1).standard_normal((7, d))
    assert rel_err((t(x) @ A + b).numpy(), x @ A_pot + b_pot) <= 1e-8


@HSET
@given(d=DIMS, seed=SEEDS)
def test_w2_matches_pot(d, seed):
    m1, S1, m2, S2 = random_params(d, seed)
    w = gaussian_w2(t(m1), t(S1), t(m2), t(S2))
    assert w.shape == () and w.dtype == DT
    # POT 0.9.7 returns W2 (not squared) for the cost ||x - y||^2.
    w_pot = float(ot.gaussian.bures_wasserstein_distance(m1, m2, S1, S2))
    assert abs(float(w) - w_pot) <= 1e-8 * max(1.0, w_pot)


def test_w2_is_not_squared_1d():
    # 1-D: W2^2 = (m1 - m2)^2 + (s1 - s2)^2; here 3^2 + (2 - 1)^2 = 10.
    w = gaussian_w2(t([0.0]), t([[4.0]]), t([3.0]), t([[1.0]]))
    assert abs(float(w) - np.sqrt(10.0)) < 1e-12


def test_w2_zero_for_identical_and_psd_allowed():
    m, S, _, _ = random_params(5, 0)
    assert float(gaussian_w2(t(m), t(S), t(m), t(S))) < 1e-6
    # degenerate (PSD, rank 1) covariances are allowed for W2: point vs line
    P = np.diag([1.0, 0.0])
    w = gaussian_w2(t([0.0, 0.0]), t(np.zeros((2, 2))), t([0.0, 0.0]), t(P))
    assert abs(float(w) - 1.0) < 1e-12


@HSET
@given(d=DIMS, seed=SEEDS)
def test_ot_map_pushes_forward_exactly(d, seed):
    m1, S1, m2, S2 = map(t, random_params(d, seed))
    A, b = gaussian_ot_map(m1, S1, m2, S2)
    assert torch.equal(A, A.T)
    assert float(torch.linalg.eigvalsh(A).min()) > 0
    assert rel_err((A @ S1 @ A).numpy(), S2.numpy()) <= 1e-8
    assert rel_err((A @ m1 + b).numpy(), m2.numpy()) <= 1e-8
    # optimality consistency: E||T(x) - x||^2 under N(m1, S1) equals W2^2
    # (closed form: ||(A - I) m1 + b||^2 + tr((A - I) S1 (A - I)))
    E = A - torch.eye(d, dtype=DT)
    shift = E @ m1 + b
    cost = shift @ shift + torch.trace(E @ S1 @ E)
    w = gaussian_w2(m1, S1, m2, S2)
    assert abs(float(cost) - float(w) ** 2) <= 1e-8 * max(1.0, float(cost))


def test_ot_map_monte_carlo():
    d = 3
    m1, S1, m2, S2 = map(t, random_params(d, 123))
    A, b = gaussian_ot_map(m1, S1, m2, S2)
    g = torch.Generator().manual_seed(0)
    y = Gaussian(m1, S1).sample(200_000, generator=g) @ A + b
    # Standard errors at n = 200k are ~ sqrt(S_ii / n) <= 0.0071 for the mean
    # (eigenvalues <= 10) and ~ sqrt(2/n) * 10 = 0.032 for covariance entries;
    # tolerance 0.15 absolute (>= 4.7 standard errors, deterministic seed).
    assert torch.allclose(y.mean(0), m2, atol=0.15, rtol=0)
    assert torch.allclose(torch.cov(y.T), S2, atol=0.15, rtol=0)


def test_identity_map_when_equal():
    m, S, _, _ = map(t, random_params(4, 7))
    A, b = gaussian_ot_map(m, S, m, S)
    assert torch.allclose(A, torch.eye(4, dtype=DT), atol=1e-10)
    assert torch.allclose(b, torch.zeros(4, dtype=DT), atol=1e-10)


@HSET
@given(d=DIMS, seed=SEEDS)
def test_sqrtm_psd(d, seed):
    S = t(random_spd(d, np.random.default_rng(seed)))
    R = sqrtm_psd(S)
    assert torch.equal(R, R.T)
    assert float(torch.linalg.eigvalsh(R).min()) > 0
    assert rel_err((R @ R).numpy(), S.numpy()) <= 1e-10


def test_sqrtm_psd_clamps_negative_eigenvalues():
    S = t(np.diag([4.0, -1e-14, 0.0]))
    R = sqrtm_psd(S)
    assert torch.allclose(R, t(np.diag([2.0, 0.0, 0.0])), atol=1e-12)
    assert torch.isfinite(R).all()


# ----------------------------------------------------------------------------
# Gaussian
# ----------------------------------------------------------------------------
@HSET
@given(d=DIMS, seed=SEEDS)
def test_gaussian_log_prob_matches_scipy(d, seed):
    m, S, _, _ = random_params(d, seed)
    x = np.random.default_rng(seed + 2).standard_normal((11, d)) * 3
    lp = Gaussian(t(m), t(S)).log_prob(t(x))
    assert lp.shape == (11,) and lp.dtype == DT
    ref = scipy.stats.multivariate_normal(mean=m, cov=S).logpdf(x)
    np.testing.assert_allclose(lp.numpy(), np.atleast_1d(ref), rtol=1e-10, atol=1e-10)


def test_gaussian_properties_sample_and_to():
    m, S, _, _ = random_params(3, 1)
    g = Gaussian(t(m), t(S))
    assert g.dim == 3 and g.dtype == DT
    assert torch.equal(g.mean, t(m)) and torch.allclose(g.cov, t(S), rtol=0, atol=1e-15)
    gen = torch.Generator().manual_seed(5)
    x = g.sample(10, generator=gen)
    assert x.shape == (10, 3) and x.dtype == DT
    assert g.sample(0).shape == (0, 3)
    g32 = g.to(dtype=torch.float32)
    assert isinstance(g32, Gaussian) and g32.dtype == torch.float32 and g.dtype == DT
    assert g32.sample(4).dtype == torch.float32


def test_dtype_rules():
    assert (
        Gaussian(torch.zeros(2, dtype=torch.float32), torch.eye(2, dtype=torch.float32)).dtype
        == torch.float32
    )
    assert Gaussian(np.zeros(2), np.eye(2)).dtype == torch.float64  # numpy float64 kept
    assert Gaussian([0, 0], [[1, 0], [0, 1]]).dtype == torch.get_default_dtype()  # ints
    A, b = gaussian_ot_map(
        torch.zeros(2, dtype=torch.float32), torch.eye(2), np.zeros(2), np.eye(2)
    )
    assert A.dtype == torch.float64  # promoted to the common dtype


def test_gaussian_sample_reproducible_and_moments():
    m, S, _, _ = random_params(2, 3)
    g = Gaussian(t(m), t(S))
    x1 = g.sample(1000, generator=torch.Generator().manual_seed(42))
    x2 = g.sample(1000, generator=torch.Generator().manual_seed(42))
    x3 = g.sample(1000, generator=torch.Generator().manual_seed(43))
    assert torch.equal(x1, x2) and not torch.equal(x1, x3)
    x = g.sample(200_000, generator=torch.Generator().manual_seed(0))
    # standard errors <= 0.0071 (mean) and 0.032 (cov): tolerance 0.15
    assert torch.allclose(x.mean(0), g.mean, atol=0.15, rtol=0)
    assert torch.allclose(torch.cov(x.T), g.cov, atol=0.15, rtol=0)


# ----------------------------------------------------------------------------
# Gaussian mixture
# ----------------------------------------------------------------------------
def random_mixture(K, d, seed):
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(K))
    means = rng.standard_normal((K, d)) * 3
    covs = np.stack([random_spd(d, rng, 0.1, 2.0) for _ in range(K)])
    return w, means, covs


@HSET
@given(K=st.integers(1, 4), d=DIMS, seed=SEEDS)
def test_mixture_log_prob_matches_scipy(K, d, seed):
    w, means, covs = random_mixture(K, d, seed)
    x = np.random.default_rng(seed + 3).standard_normal((9, d)) * 3
    lp = GaussianMixture(t(w), t(means), t(covs)).log_prob(t(x))
    assert lp.shape == (9,) and lp.dtype == DT
    comp = np.stack(
        [
            np.atleast_1d(scipy.stats.multivariate_normal(means[k], covs[k]).logpdf(x))
            for k in range(K)
        ],
        axis=1,
    )
    ref = scipy.special.logsumexp(comp + np.log(w), axis=1)
    np.testing.assert_allclose(lp.numpy(), ref, rtol=1e-10, atol=1e-10)


def test_mixture_zero_weight_component():
    w = [0.5, 0.5, 0.0]
    means = [[0.0, 0.0], [2.0, 0.0], [100.0, 100.0]]
    covs = np.stack([np.eye(2)] * 3)
    gm = GaussianMixture(t(w), t(means), t(covs))
    x = gm.sample(5000, generator=torch.Generator().manual_seed(0))
    assert (x.norm(dim=1) < 50).all()  # never draws the zero-weight component
    lp = gm.log_prob(t([[0.0, 0.0]]))
    ref = np.log(
        0.5 * scipy.stats.multivariate_normal([0, 0]).pdf([0, 0])
        + 0.5 * scipy.stats.multivariate_normal([2, 0]).pdf([0, 0])
    )
    assert abs(float(lp[0]) - ref) < 1e-12


def test_mixture_moments_and_sampling():
    w, means, covs = random_mixture(3, 2, 11)
    gm = GaussianMixture(t(w), t(means), t(covs))
    assert gm.dim == 2 and gm.n_components == 3
    # moments equal the direct formula
    mean_ref = w @ means
    cov_ref = sum(w[k] * (covs[k] + np.outer(means[k], means[k])) for k in range(3)) - np.outer(
        mean_ref, mean_ref
    )
    np.testing.assert_allclose(gm.mean.numpy(), mean_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gm.cov.numpy(), cov_ref, rtol=1e-12, atol=1e-12)
    # same seeded generator -> identical samples; another seed -> different
    x1 = gm.sample(500, generator=torch.Generator().manual_seed(1))
    x2 = gm.sample(500, generator=torch.Generator().manual_seed(1))
    x3 = gm.sample(500, generator=torch.Generator().manual_seed(2))
    assert x1.shape == (500, 2) and x1.dtype == DT
    assert torch.equal(x1, x2) and not torch.equal(x1, x3)
    assert gm.sample(0).shape == (0, 2)
    # Monte-Carlo moments at n = 200k: mixture variances here are < 20, so
    # standard errors are < 0.01 (mean) and < 0.07 (cov); tolerance 0.25 absolute.
    x = gm.sample(200_000, generator=torch.Generator().manual_seed(0))
    assert float(torch.linalg.eigvalsh(gm.cov).max()) < 20
    assert torch.allclose(x.mean(0), gm.mean, atol=0.25, rtol=0)
    assert torch.allclose(torch.cov(x.T), gm.cov, atol=0.25, rtol=0)
    gm32 = gm.to(dtype=torch.float32)
    assert gm32.dtype == torch.float32 and gm32.sample(3).dtype == torch.float32


# ----------------------------------------------------------------------------
# bad inputs
# ----------------------------------------------------------------------------
I2 = np.eye(2)
Z2 = np.zeros(2)
NONSYM = np.array([[1.0, 0.5], [0.0, 1.0]])
NOTPD = np.array([[1.0, 2.0], [2.0, 1.0]])
NANCOV = np.array([[1.0, np.nan], [np.nan, 1.0]])


def raises_with(fn, *shape_texts):
    with pytest.raises(ValueError) as info:
        fn()
    msg = str(info.value)
    assert any(s in msg for s in shape_texts), msg


@pytest.mark.parametrize(
    "mean, cov, expected",
    [
        (np.zeros((2, 1)), I2, "(d,)"),  # mean not 1-D
        (Z2, np.eye(3), "(2, 2)"),  # cov does not match d
        (Z2, np.ones(2), "(2, 2)"),  # cov not 2-D
        (Z2, NONSYM, "(2, 2)"),  # not symmetric
        (Z2, NOTPD, "(2, 2)"),  # not positive definite
        (Z2, NANCOV, "(2, 2)"),  # NaN
        (np.array([0.0, np.inf]), I2, "(d,)"),  # inf in mean
    ],
)
def test_gaussian_bad_inputs(mean, cov, expected):
    raises_with(lambda: Gaussian(t(mean), t(cov)), expected)


def test_log_prob_wrong_dim():
    g = Gaussian(t(Z2), t(I2))
    raises_with(lambda: g.log_prob(torch.zeros(5, 3, dtype=DT)), "(n, 2)")
    raises_with(lambda: g.log_prob(torch.zeros(2, dtype=DT)), "(n, 2)")
    gm = GaussianMixture(t([1.0]), t([[0.0, 0.0]]), t(I2[None]))
    raises_with(lambda: gm.log_prob(torch.zeros(5, 3, dtype=DT)), "(n, 2)")


def test_sample_bad_n():
    g = Gaussian(t(Z2), t(I2))
    with pytest.raises(ValueError, match="n must be >= 0"):
        g.sample(-1)
    for n in (2.5, True):
        with pytest.raises(TypeError, match="n must be an int"):
            g.sample(n)


@pytest.mark.parametrize(
    "w, means, covs, expected",
    [
        ([0.5, 0.4], np.zeros((2, 2)), np.stack([I2, I2]), "sum to 1"),
        ([1.5, -0.5], np.zeros((2, 2)), np.stack([I2, I2]), "(K,)"),  # negative
        ([[0.5, 0.5]], np.zeros((2, 2)), np.stack([I2, I2]), "(K,)"),
        ([0.5, 0.5], np.zeros((3, 2)), np.stack([I2, I2]), "(K, d) = (2, d)"),
        ([0.5, 0.5], np.zeros((2, 2)), np.stack([I2, I2, I2]), "(2, 2, 2)"),
        ([0.5, 0.5], np.zeros((2, 2)), np.stack([I2, NONSYM]), "(2, 2, 2)"),
        ([0.5, 0.5], np.zeros((2, 2)), np.stack([I2, NOTPD]), "(2, 2, 2)"),
        ([0.5, np.nan], np.zeros((2, 2)), np.stack([I2, I2]), "(K,)"),
        ([0.5, 0.5], np.array([[0.0, 0.0], [np.nan, 0.0]]), np.stack([I2, I2]), "(2, 2)"),
    ],
)
def test_mixture_bad_inputs(w, means, covs, expected):
    raises_with(lambda: GaussianMixture(t(w), t(means), t(covs)), expected)


@pytest.mark.parametrize("fn", [gaussian_ot_map, gaussian_w2])
@pytest.mark.parametrize(
    "args, expected",
    [
        ((np.zeros((2, 1)), I2, Z2, I2), "(d,)"),
        ((Z2, I2, np.zeros(3), I2), "(2,)"),  # m2 dimension mismatch
        ((Z2, np.eye(3), Z2, I2), "(2, 2)"),
        ((Z2, I2, Z2, np.ones((2, 3))), "(2, 2)"),
        ((Z2, NONSYM, Z2, I2), "(2, 2)"),
        ((Z2, I2, Z2, NOTPD), "(2, 2)"),
        ((Z2, NANCOV, Z2, I2), "(2, 2)"),
        ((np.array([np.nan, 0.0]), I2, Z2, I2), "(d,)"),
    ],
)
def test_ot_bad_inputs(fn, args, expected):
    raises_with(lambda: fn(*map(t, args)), expected)


def test_ot_map_requires_definite():
    # W2 accepts PSD covariances but the map needs S1 (and S2) positive definite
    raises_with(lambda: gaussian_ot_map(t(Z2), t(np.diag([1.0, 0.0])), t(Z2), t(I2)), "(2, 2)")


@pytest.mark.parametrize(
    "S, expected",
    [(np.ones(3), "(d, d)"), (np.ones((2, 3)), "(d, d)"), (NONSYM, "(d, d)"), (NANCOV, "(d, d)")],
)
def test_sqrtm_bad_inputs(S, expected):
    raises_with(lambda: sqrtm_psd(t(S)), expected)


def test_messages_are_informative():
    with pytest.raises(ValueError, match=re.escape("got shape (5, 3)")):
        Gaussian(t(Z2), t(I2)).log_prob(torch.zeros(5, 3, dtype=DT))
