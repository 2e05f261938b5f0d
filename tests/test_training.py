import pytest
import torch

from mgn_utils.models import CMGN
from mgn_utils.training import fit


def loss_fn(model, gen):
    x = torch.randn(64, 2, generator=gen)
    target = x @ torch.tensor([[2.0, 0.5], [0.5, 1.0]]) + 1.0
    return ((model(x) - target) ** 2).sum(1).mean()


def test_fit_reduces_loss():
    torch.manual_seed(0)
    res = fit(CMGN(2, 8), loss_fn, steps=200, lr=1e-2, progress=False)
    assert len(res.losses) == 200 and res.losses[-1] < 0.1 * res.losses[0]


def test_resume_equals_uninterrupted(tmp_path):
    torch.manual_seed(0)
    a = CMGN(2, 8)
    b = CMGN(2, 8)
    b.load_state_dict(a.state_dict())
    full = fit(a, loss_fn, steps=30, lr=1e-2, seed=3, progress=False, clip_grad_norm=1.0)
    ck = tmp_path / "run.pt"
    fit(b, loss_fn, steps=12, lr=1e-2, seed=3, progress=False, clip_grad_norm=1.0, checkpoint=ck)
    c = CMGN(2, 8)  # a fresh process would start from a new model
    res = fit(c, loss_fn, steps=30, lr=1e-2, seed=3, progress=False, clip_grad_norm=1.0,
              checkpoint=ck, resume=True)
    assert res.steps == 18 and res.losses == full.losses
    for p, q in zip(a.parameters(), c.parameters()):
        assert torch.equal(p, q)


def test_nan_loss_raises():
    with pytest.raises(FloatingPointError, match="step 0"):
        fit(CMGN(2, 2), lambda m, g: m(torch.zeros(1, 2)).sum() * float("nan"), steps=3, progress=False)
