import numpy as np
import pytest
import torch

from mgn_utils import metrics


def test_l2_uvp_definition():
    x = torch.randn(1000, 3, dtype=torch.float64)
    assert metrics.l2_uvp(lambda z: z, lambda z: z, x, 3.0) == 0.0
    # T_hat off by a constant vector v: 100 ‖v‖² / Var(Q)
    v = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    assert abs(metrics.l2_uvp(x + v, x, x, 4.0) - 50.0) < 1e-9
    with pytest.raises(ValueError, match="target_var"):
        metrics.l2_uvp(x, x, x, 0.0)
    with pytest.raises(ValueError, match=r"\(1000, 3\)"):
        metrics.l2_uvp(x[:, :2], x, x, 1.0)


def test_exact_w2_and_barycentric_projection_in_1d():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 1)), rng.normal(size=(50, 1)) * 2 + 1
    w2 = np.sqrt(
        np.mean((np.sort(x[:, 0]) - np.sort(y[:, 0])) ** 2)
    )  # sorted matching is optimal in 1-D
    assert abs(metrics.exact_w2(x, y) - w2) < 1e-10
    assert abs(metrics.exact_w2(x, y, squared=True) - w2**2) < 1e-10
    T = metrics.barycentric_projection(x, y).numpy()[:, 0]
    assert np.allclose(np.sort(T), np.sort(y[:, 0])) and np.all(np.diff(T[np.argsort(x[:, 0])]) > 0)


def test_transport_cost():
    x = torch.zeros(10, 2)
    assert metrics.transport_cost(lambda z: z + 1, x) == 2.0
    with pytest.raises(ValueError):
        metrics.transport_cost(torch.zeros(10, 3), x)


def test_l2_uvp_accepts_arrays_and_tensor_target_var():
    x = np.random.default_rng(0).normal(size=(50, 2))
    v = np.array([1.0, 1.0])
    assert abs(metrics.l2_uvp(x + v, x, x, 4.0) - 50.0) < 1e-9
    assert (
        abs(metrics.l2_uvp((x + v).tolist(), x.tolist(), x.tolist(), torch.tensor(4.0)) - 50) < 1e-9
    )
    assert abs(metrics.l2_uvp(lambda z: z + 1, x, x, np.array([4.0])) - 50.0) < 1e-9
    with pytest.raises(TypeError, match="target_var"):
        metrics.l2_uvp(x, x, x, "4")
    with pytest.raises(ValueError, match="target_var must be a finite"):
        metrics.l2_uvp(x, x, x, float("nan"))
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="T_hat .* NaN or infinite"):
        metrics.l2_uvp(bad, x, x, 1.0)
    with pytest.raises(ValueError, match="x must have shape"):
        metrics.l2_uvp(x, x, x[:, 0], 1.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_exact_w2_and_projection_refuse_non_finite(bad):
    x = np.zeros((5, 2))
    y = np.ones((5, 2))
    x[1, 1] = bad
    with pytest.raises(ValueError, match="x of shape .* NaN or infinite"):
        metrics.exact_w2(x, y)
    with pytest.raises(ValueError, match="x of shape .* NaN or infinite"):
        metrics.barycentric_projection(x, y)
    with pytest.raises(ValueError, match=r"shapes \(n, d\) and \(m, d\)"):
        metrics.exact_w2(y, y[:, :1])
    with pytest.raises(TypeError, match="x must be a tensor or array"):
        metrics.exact_w2("abc", y)


def test_transport_cost_validates():
    with pytest.raises(ValueError, match="NaN or infinite"):
        metrics.transport_cost(lambda z: z * np.nan, torch.zeros(3, 2))
    assert metrics.transport_cost(np.ones((4, 2)), np.zeros((4, 2))) == 2.0
