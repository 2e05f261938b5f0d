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
    w2 = np.sqrt(np.mean((np.sort(x[:, 0]) - np.sort(y[:, 0])) ** 2))  # sorted matching is optimal in 1-D
    assert abs(metrics.exact_w2(x, y) - w2) < 1e-10
    assert abs(metrics.exact_w2(x, y, squared=True) - w2**2) < 1e-10
    T = metrics.barycentric_projection(x, y).numpy()[:, 0]
    assert np.allclose(np.sort(T), np.sort(y[:, 0])) and np.all(np.diff(T[np.argsort(x[:, 0])]) > 0)


def test_transport_cost():
    x = torch.zeros(10, 2)
    assert metrics.transport_cost(lambda z: z + 1, x) == 2.0
    with pytest.raises(ValueError):
        metrics.transport_cost(torch.zeros(10, 3), x)
