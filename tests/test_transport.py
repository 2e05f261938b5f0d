"""MGNTransport: POT's ot.da and scikit-learn's conventions, model selection, clear errors,
and a training test that sees the optimiser."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from mgn_utils.models import CMGN
from mgn_utils.solvers._transport import MGNTransport, StandardizedMap


def _affine_pair(n=400, seed=0):
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((n, 2))
    xt = xs @ np.array([[2.0, 0.5], [0.5, 1.0]]) + np.array([1.0, -1.0])
    return xs, xt


@pytest.fixture(scope="module")
def fitted():
    xs, xt = _affine_pair()
    return MGNTransport(steps=100, random_state=0).fit(Xs=xs, Xt=xt), xs, xt


def test_dtypes_and_array_types_in_and_out(fitted):
    est, xs, _ = fitted
    out = est.transform(Xs=xs[:5])
    assert isinstance(out, np.ndarray) and out.shape == (5, 2) and out.dtype == np.float64
    assert est.model_.net.W.dtype == torch.float64  # float64 in: float64 compute
    t = est.transform(Xs=torch.as_tensor(xs[:5], dtype=torch.float32))
    assert torch.is_tensor(t) and t.dtype == torch.float32
    assert est.potential(Xs=xs[:5]).shape == (5,)
    J = est.jacobian(Xs=xs[:5])
    assert J.shape == (5, 2, 2) and np.allclose(J, np.swapaxes(J, 1, 2), atol=1e-10)
    assert np.linalg.eigvalsh(J).min() >= 0
    xs32 = xs.astype(np.float32)
    est32 = MGNTransport(steps=2, random_state=0).fit(Xs=xs32, Xt=xs32 * 2)
    assert est32.model_.net.W.dtype == torch.float32
    assert est32.transform(Xs=xs32).dtype == np.float32


def test_learns_an_affine_map_is_monotone_and_inverts(fitted):
    est, xs, xt = fitted
    err = ((est.transform(Xs=xs) - xt) ** 2).sum(1).mean() / xt.var(0).sum()
    assert err < 0.01
    u, v = np.random.default_rng(1).standard_normal((2, 10_000, 2)) * 3
    assert (((est.transform(Xs=u) - est.transform(Xs=v)) * (u - v)).sum(1) >= 0).all()
    y = est.transform(Xs=u[:200])
    back = est.inverse_transform(Xt=y)
    res = np.linalg.norm(est.transform(Xs=back) - y, axis=1)
    assert (res <= est.inverse_tol * (1 + np.linalg.norm(y, axis=1))).all()
    assert np.abs(back - u[:200]).max() < 1e-5


def test_inverse_warns_when_it_cannot_converge(fitted):
    est, xs, _ = fitted
    est1 = clone(est).set_params(inverse_steps=1, inverse_tol=1e-15)
    est1.model_, est1.n_features_in_, est1.device_, est1.dtype_ = (
        est.model_,
        2,
        est.device_,
        est.dtype_,
    )
    with pytest.warns(Warning, match="did not reach"):
        est1.inverse_transform(Xt=est.transform(Xs=xs[:50] * 5))


def test_clone_and_params_round_trip():
    est = MGNTransport("mmgn", steps=7, lr=3e-3, random_state=np.random.default_rng(2))
    params = est.get_params()
    assert params["model"] == "mmgn" and params["steps"] == 7 and params["lr"] == 3e-3
    twin = clone(est)
    assert twin.get_params().keys() == params.keys() and twin.steps == 7
    assert est.set_params(steps=9) is est and est.steps == 9
    with pytest.raises(ValueError, match="Invalid parameter"):
        est.set_params(stepz=1)


def test_global_rng_untouched_and_module_not_modified():
    xs, xt = _affine_pair(200)
    torch.manual_seed(123)
    np.random.seed(123)
    t_state, n_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    module = CMGN(2, hidden=8).double()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    t_state = torch.get_rng_state()
    est = MGNTransport(module, steps=30, random_state=5).fit(Xs=xs, Xt=xt)
    MGNTransport(steps=5, random_state=None).fit(Xs=xs, Xt=xt)
    assert torch.equal(torch.get_rng_state(), t_state)
    assert np.array_equal(np.random.get_state()[1], n_state)
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())
    assert est.model_ is not module
    # same random_state, same result
    again = MGNTransport(module, steps=30, random_state=5).fit(Xs=xs, Xt=xt)
    assert np.array_equal(est.transform(Xs=xs), again.transform(Xs=xs))


def test_history_and_keep_best(fitted):
    est, _, _ = fitted
    h = est.history_
    assert h["step"] == list(range(1, 101)) and len(h["train_loss"]) == 100
    assert h["val_step"][0] == 0 and h["val_step"][-1] == 100
    assert est.best_step_ in h["val_step"]
    best = h["val_criterion"][h["val_step"].index(est.best_step_)]
    assert best == min(h["val_criterion"]) <= h["val_criterion"][0]


def test_a_bad_fit_falls_back_to_the_start():
    xs, xt = _affine_pair(300)
    est = MGNTransport(steps=20, lr=5.0, random_state=0).fit(Xs=xs, Xt=xt)  # lr far too large
    start = MGNTransport(steps=0, random_state=0).fit(Xs=xs, Xt=xt)
    assert est.history_["val_criterion"][0] == start.history_["val_criterion"][0]
    assert min(est.history_["val_criterion"]) <= est.history_["val_criterion"][0]
    if est.best_step_ == 0:
        assert np.allclose(est.transform(Xs=xs), start.transform(Xs=xs))


def test_training_moves_far_below_a_poor_start():
    xs, xt = _affine_pair(1000)
    test = np.random.default_rng(9).standard_normal((2000, 2))
    truth = test @ np.array([[2.0, 0.5], [0.5, 1.0]]) + np.array([1.0, -1.0])

    def uvp(est):
        return ((est.transform(Xs=test) - truth) ** 2).sum(1).mean() / truth.var(0).sum()

    kw = dict(model="mmgn", gaussian_start=False, random_state=0)  # starts near the identity
    start = uvp(MGNTransport(steps=0, **kw).fit(Xs=xs, Xt=xt))
    fitted = MGNTransport(steps=400, lr=3e-2, **kw).fit(Xs=xs, Xt=xt)
    assert start > 0.3
    assert uvp(fitted) < start / 20 and fitted.best_step_ > 0


def test_sinkhorn_loss_uses_a_relative_eps():
    xs, xt = _affine_pair(200)
    est = MGNTransport(loss="sinkhorn", steps=3, batch_size=64, eps=0.1, random_state=0)
    est.fit(Xs=xs * 10, Xt=xt * 10)
    assert np.isclose(est.eps_abs_, 0.1 * (xt * 10).var(0).sum(), rtol=0.2)
    assert est.transform(Xs=np.zeros((3, 2))).shape == (3, 2)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"model": "gan"}, ValueError, "model must be one of"),
        ({"model": len}, TypeError, "model must be one of"),
        ({"loss": "kl"}, ValueError, "loss must be one of"),
        ({"steps": 2.5}, TypeError, "steps must be an int"),
        ({"steps": -1}, ValueError, "steps"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"lr": -1.0}, ValueError, "lr must be > 0"),
        ({"validation_fraction": 1.0}, ValueError, "validation_fraction must be in"),
        ({"dtype": torch.int64}, ValueError, "dtype must be"),
        ({"random_state": "x"}, TypeError, "random_state must be"),
    ],
)
def test_bad_parameters_raise_in_fit(kwargs, exc, match):
    est = MGNTransport(**kwargs)  # scikit-learn: __init__ stores, fit validates
    with pytest.raises(exc, match=match):
        est.fit(Xs=np.zeros((10, 2)), Xt=np.ones((10, 2)))


@pytest.mark.parametrize(
    "xs, xt, exc, match",
    [
        (np.zeros((10, 2)), np.zeros((10, 3)), ValueError, r"Xt must have shape \(B, 2\)"),
        (np.full((10, 2), np.nan), np.zeros((10, 2)), ValueError, "NaN"),
        (np.zeros(10), np.zeros((10, 1)), ValueError, "Xs"),
        (np.zeros((1, 2)), np.zeros((1, 2)), ValueError, "at least 2"),
        (np.zeros((5, 2)), np.zeros((5, 2)), ValueError, "validation_fraction"),
        (lambda n, g: torch.zeros(n, 2), np.zeros((5, 2)), TypeError, "Xs must be"),
    ],
)
def test_bad_data(xs, xt, exc, match):
    with pytest.raises(exc, match=match):
        MGNTransport(steps=1).fit(Xs=xs, Xt=xt)


def test_unfitted_and_wrong_dimension(fitted):
    with pytest.raises(RuntimeError, match="call fit"):
        MGNTransport().transform(Xs=np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match="call fit"):
        MGNTransport().inverse_transform(Xt=np.zeros((2, 2)))
    est, _, _ = fitted
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        est.transform(Xs=np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        est.inverse_transform(Xt=np.zeros((3, 3)))


def test_semidual_criterion_prefers_the_brenier_map_in_16d():
    """The validation criterion sees in 16-D what empirical W2 on 400 points cannot: a C-MGN
    started at the true Gaussian map scores below the same network at 0.8 or 1.25 times it."""
    from mgn_utils.distributions import gaussian_ot_map
    from mgn_utils.models import CMGN, init_affine
    from mgn_utils.solvers._transport import _semidual

    g = torch.Generator().manual_seed(3)
    d = 16
    M = torch.randn(d, d, generator=g, dtype=torch.float64)
    S = M @ M.T / d + 0.5 * torch.eye(d, dtype=torch.float64)
    xs = torch.randn(400, d, generator=g, dtype=torch.float64)
    xt = torch.randn(400, d, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(S).T
    zero = torch.zeros(d, dtype=torch.float64)
    A, b = gaussian_ot_map(zero, torch.eye(d, dtype=torch.float64), zero, S)
    scores = []
    for scale in (0.8, 1.0, 1.25):
        T = init_affine(CMGN(d, hidden=8).double(), A * scale, b, xs)
        scores.append(_semidual(T, xs, xt))
    assert scores[1] < min(scores[0], scores[2]), scores


def test_standardized_map_is_a_monotone_gradient():
    """Jacobian = autograd's, symmetric PSD; the potential's gradient is the map."""
    torch.manual_seed(0)
    net = CMGN(3, hidden=8, activation="tanh").double()
    T = StandardizedMap(net, torch.tensor([0.2, -1.0, 3.0], dtype=torch.float64), 0.05)
    x = 3.0 + 0.05 * torch.randn(6, 3, dtype=torch.float64)
    auto = torch.func.vmap(torch.func.jacrev(lambda v: T(v[None])[0]))(x)
    J = T.jacobian(x)
    assert torch.allclose(J, auto, atol=1e-10) and torch.allclose(J, J.mT)
    assert float(torch.linalg.eigvalsh(J).min()) > 0
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(T.potential(xg).sum(), xg)
    assert torch.allclose(grad, T(x), atol=1e-8)


def test_fit_does_not_depend_on_the_data_units():
    """Standardised coordinates: the same data in units 1,000 times smaller gives the same map,
    scaled; without standardisation it does not."""
    xs, xt = _affine_pair(300)
    kw = dict(steps=60, random_state=0)
    base = MGNTransport(**kw).fit(Xs=xs, Xt=xt).transform(Xs=xs)
    small = MGNTransport(**kw).fit(Xs=xs / 1000, Xt=xt / 1000).transform(Xs=xs / 1000)
    assert np.allclose(small * 1000, base, rtol=1e-6, atol=1e-6)
    raw = MGNTransport(standardize=False, **kw).fit(Xs=xs / 1000, Xt=xt / 1000)
    assert not isinstance(raw.model_, StandardizedMap)
    assert not np.allclose(raw.transform(Xs=xs / 1000) * 1000, base, rtol=1e-3, atol=1e-3)
