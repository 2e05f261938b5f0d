import pytest
import torch

from mgn_utils import autodiff


def test_hessian_of_quadratic():
    A = torch.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    x = torch.randn(4, 2, dtype=torch.float64)
    H = autodiff.hessian(lambda x: 0.5 * ((x @ A) * x).sum(1), x)
    assert torch.allclose(H, A.expand(4, 2, 2))


def test_jacobian_of_linear_map_and_negative_det():
    A = torch.tensor([[1.0, 0.0], [0.0, -2.0]], dtype=torch.float64)
    x = torch.randn(3, 2, dtype=torch.float64)
    assert torch.allclose(autodiff.jacobian(lambda x: x @ A.T, x), A.expand(3, 2, 2))
    with pytest.raises(ValueError, match="not monotone"):
        autodiff.logdet_jacobian(lambda x: x @ A.T, x)


def test_rejects_unbatched_input():
    with pytest.raises(ValueError, match=r"\(B, d\)"):
        autodiff.jacobian(lambda x: x, torch.zeros(3))
