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
