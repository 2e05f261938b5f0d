"""mgn_utils._validation: the shared input checks."""

import numpy as np
import pytest
import torch

from mgn_utils import _validation as v


def test_check_float_accepts_one_element_arrays_and_refuses_the_rest():
    assert v.check_float(np.array([2.5]), "t") == 2.5
    assert v.check_float(torch.tensor(3.0), "t", positive=True) == 3.0
    assert v.check_float(np.float32(1.5), "t") == 1.5
    with pytest.raises(TypeError, match="t must be a real number"):
        v.check_float(np.array([1.0, 2.0]), "t")
    with pytest.raises(TypeError):
        v.check_float(True, "t")
    with pytest.raises(ValueError, match="finite"):
        v.check_float(float("nan"), "t")
    with pytest.raises(ValueError, match="> 0"):
        v.check_float(0.0, "t", positive=True)


def test_check_unit_interval():
    assert v.check_unit_interval(0.5, "scaling") == 0.5
    for bad in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"open interval \(0, 1\)"):
            v.check_unit_interval(bad, "scaling")
    with pytest.raises(ValueError, match="finite"):
        v.check_unit_interval(float("nan"), "scaling")


def test_as_array_converts_and_checks_shapes():
    t = v.as_array([[1, 2], [3, 4]], "S", ("d", "d"))
    assert t.dtype == torch.get_default_dtype() and t.shape == (2, 2)
    like = torch.zeros(1, dtype=torch.float64)
    assert v.as_array(np.ones(3, dtype=np.float32), "m", (3,), like=like).dtype == torch.float64
    with pytest.raises(ValueError, match=r"S must have shape \(d, d\), got \(2, 3\)"):
        v.as_array(np.ones((2, 3)), "S", ("d", "d"))
    with pytest.raises(ValueError, match=r"m must have shape \(4,\)"):
        v.as_array(np.ones(3), "m", (4,))
    with pytest.raises(ValueError, match="NaN or infinite"):
        v.as_array([1.0, float("inf")], "m")
    with pytest.raises(TypeError, match="m must be"):
        v.as_array("abc", "m")
    with pytest.raises(TypeError, match="real numbers"):
        v.as_array(np.array(["a", "b"]), "m")


def test_as_weights():
    like = torch.zeros(1, dtype=torch.float64)
    w = v.as_weights(None, 4, "a", like)
    assert torch.equal(w, torch.full((4,), 0.25, dtype=torch.float64))
    assert v.as_weights([0.5, 0.5], 2, "a", like).dtype == torch.float64
    with pytest.raises(ValueError, match=r"a must have shape \(3,\)"):
        v.as_weights([0.5, 0.5], 3, "a", like)
    with pytest.raises(ValueError, match="nonnegative"):
        v.as_weights([1.5, -0.5], 2, "a", like)
    with pytest.raises(ValueError, match="sum to 1"):
        v.as_weights([0.5, 0.6], 2, "a", like)
    with pytest.raises(ValueError, match="NaN or infinite"):
        v.as_weights([float("nan"), 1.0], 2, "a", like)


def test_check_model_input_names_shape_dtype_and_device():
    from mgn_utils.models import CMGN

    model = CMGN(2, 4, layers=1)
    v.check_model_input(model, torch.zeros(3, 2))  # passes
    with pytest.raises(TypeError, match=r"torch.Tensor of shape \(B, 2\)"):
        v.check_model_input(model, [[0.0, 0.0]])
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        v.check_model_input(model, torch.zeros(3, 5))
    with pytest.raises(ValueError, match="the model's dtype"):
        v.check_model_input(model, torch.zeros(3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="the model's device"):
        v.check_model_input(model, torch.zeros(3, 2, device="meta"))


def test_check_callable_and_meta_tensors():
    v.check_callable(len, "f")
    with pytest.raises(TypeError, match="sampler must be callable, got int"):
        v.check_callable(3, "sampler")
    with pytest.raises(ValueError, match="'meta' tensor"):
        v.check_finite(torch.zeros(2, device="meta"), "x")


def test_matrix_checks_of_the_distributions():
    S = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    assert v.check_vector(torch.zeros(2), "m", 2) == 2
    expected = v.check_square(S, "S", 2)
    v.check_symmetric(S, "S", expected)
    v.check_psd(S, "S", expected)
    assert torch.allclose(
        v.cholesky_or_raise(S, "S", expected) @ v.cholesky_or_raise(S, "S", expected).T, S
    )
    with pytest.raises(ValueError, match=r"m must have shape \(d,\) = \(3,\)"):
        v.check_vector(torch.zeros(2), "m", 3)
    with pytest.raises(ValueError, match="NaN or infinite"):
        v.check_square(torch.full((2, 2), float("inf")), "S", 2)
    with pytest.raises(ValueError, match="symmetric"):
        v.check_symmetric(torch.tensor([[1.0, 1.0], [0.0, 1.0]]), "S", expected)
    with pytest.raises(ValueError, match="positive semi-definite"):
        v.check_psd(-S, "S", expected)
    with pytest.raises(ValueError, match="positive definite"):
        v.cholesky_or_raise(-S, "S", expected)


def test_one_validation_module():
    """The distributions' checks live in mgn_utils._validation (no second module of them)."""
    import importlib.util

    assert importlib.util.find_spec("mgn_utils.distributions._checks") is None
