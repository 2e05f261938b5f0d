"""MGNTransport: POT's ot.da convention, numpy/torch in and out, monotone maps, clear errors."""

import numpy as np
import pytest
import torch

import mgn_utils


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((400, 2))
    xt = xs @ np.array([[2.0, 0.5], [0.5, 1.0]]) + np.array([1.0, -1.0])
    return mgn_utils.MGNTransport(steps=150, progress=False).fit(Xs=xs, Xt=xt), xs, xt


def test_numpy_in_numpy_out_and_torch_in_torch_out(fitted):
    est, xs, _ = fitted
    out = est.transform(Xs=xs[:5])
    assert isinstance(out, np.ndarray) and out.shape == (5, 2) and out.dtype == np.float64
    t = est.transform(Xs=torch.as_tensor(xs[:5], dtype=torch.float32))
    assert torch.is_tensor(t) and t.dtype == torch.float32
    assert est.potential(Xs=xs[:5]).shape == (5,)
    J = est.jacobian(Xs=xs[:5])
    assert J.shape == (5, 2, 2) and np.allclose(J, np.swapaxes(J, 1, 2), atol=1e-6)
    assert np.linalg.eigvalsh(J).min() >= 0


def test_learns_an_affine_map_and_is_monotone(fitted):
    est, xs, xt = fitted
    err = ((est.transform(Xs=xs) - xt) ** 2).sum(1).mean() / xt.var(0).sum()
    assert err < 0.01
    u, v = np.random.default_rng(1).standard_normal((2, 10_000, 2)) * 3
    assert (((est.transform(Xs=u) - est.transform(Xs=v)) * (u - v)).sum(1) >= 0).all()


def test_sinkhorn_loss_accepts_samplers(device):
    gauss = mgn_utils.Gaussian(torch.zeros(2), torch.eye(2))
    shifted = mgn_utils.Gaussian(torch.ones(2), torch.eye(2))
    est = mgn_utils.MGNTransport(
        loss="sinkhorn", steps=5, batch_size=64, device=device, progress=False, eps=0.5
    )
    est.fit(Xs=gauss.sample, Xt=shifted.sample)
    assert est.transform(Xs=np.zeros((3, 2))).shape == (3, 2)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"model": "gan"}, ValueError, "model must be one of"),
        ({"loss": "kl"}, ValueError, "loss must be one of"),
        ({"steps": 2.5}, TypeError, "steps must be an int"),
        ({"lr": -1.0}, ValueError, "lr must be > 0"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        mgn_utils.MGNTransport(**kwargs)


def test_bad_data_and_unfitted_use():
    est = mgn_utils.MGNTransport(steps=1, progress=False)
    with pytest.raises(RuntimeError, match="call fit"):
        est.transform(Xs=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"Xt must have shape \(B, 2\)"):
        est.fit(Xs=np.zeros((10, 2)), Xt=np.zeros((10, 3)))
    with pytest.raises(ValueError, match="NaN"):
        est.fit(Xs=np.full((10, 2), np.nan), Xt=np.zeros((10, 2)))
    with pytest.raises(ValueError, match="samplers need loss='sinkhorn'"):
        est.fit(Xs=lambda n, g: torch.zeros(n, 2), Xt=lambda n, g: torch.zeros(n, 2))
