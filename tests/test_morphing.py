"""Tests of mgn_utils.morphing (softmax mGradNet-M, trainer, reference) and its checkpoints."""

import numpy as np
import pytest
import torch

from mgn_utils.course.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from mgn_utils.models import SoftmaxMGradNetM
from mgn_utils.solvers import map_mse, morphing_reference, train_morphing


def _random_net(seed=0):
    torch.manual_seed(seed)
    net = SoftmaxMGradNetM(modules=3, hidden=5)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p))
    return net


def test_jacobian_matches_autograd_and_is_psd():
    net = _random_net().double()
    x = torch.rand(20, 2, dtype=torch.float64)
    J = net.jacobian(x)
    Ja = torch.func.vmap(torch.func.jacrev(lambda v: net(v[None])[0]))(x)
    assert torch.allclose(J, Ja, atol=1e-10)
    assert torch.allclose(J, J.transpose(1, 2), atol=1e-12)
    assert torch.linalg.eigvalsh(J).min() > -1e-12
    ld = net.logdet_jacobian(x)
    assert torch.allclose(ld, torch.linalg.slogdet(J)[1], atol=1e-8)


def _image():
    img = np.zeros((6, 6))
    img[1:5, 2:4] = [[1, 2], [3, 1], [2, 2], [1, 1]]
    return img


def test_train_and_reference_shapes_and_determinism():
    cfg = dict(modules=2, hidden=4, batch=32, steps=5)
    net1, l1, _ = train_morphing(_image(), _image().T, cfg)
    net2, l2, _ = train_morphing(_image(), _image().T, cfg)
    assert l1.shape == (5,) and np.array_equal(l1, l2)
    x, T1, T2 = morphing_reference(_image(), _image().T, n=40)
    assert x.shape == T1.shape == T2.shape == (40, 2)
    assert map_mse(T1, T1) == 0 and map_mse(T1, T2) >= 0


def test_checkpoint_roundtrip(tmp_path):
    net = _random_net()
    cfg = {"modules": 3, "hidden": 5, "pair": (0, 4)}
    entry = save_checkpoint(
        net, "t", cfg, {"mse": 1.0}, root=tmp_path, folder="morphing", duration_s=2.0
    )
    fresh = SoftmaxMGradNetM(modules=3, hidden=5)
    with pytest.raises(CheckpointError, match="different config"):
        load_checkpoint(fresh, "t", {**cfg, "hidden": 6}, root=tmp_path, folder="morphing")
    got = load_checkpoint(
        fresh, "t", {"modules": 3, "hidden": 5, "pair": [0, 4]}, root=tmp_path, folder="morphing"
    )
    assert got["sha256"] == entry["sha256"]
    x = torch.rand(4, 2)
    assert torch.equal(fresh(x), net(x))


def test_softmax_mgradnet_potential_is_closed_form_and_map_is_its_gradient():
    torch.manual_seed(0)
    net = SoftmaxMGradNetM(modules=4, hidden=8).double()
    with torch.no_grad():
        for p in net.parameters():
            p.normal_()
    x = torch.rand(32, 2, dtype=torch.float64)
    grad = torch.func.vmap(torch.func.grad(lambda v: net.potential(v[None])[0]))(x)
    assert torch.allclose(grad, net(x), atol=1e-10)
    # convex along a segment: second differences of phi are >= 0
    t = torch.linspace(0, 1, 51, dtype=torch.float64)[:, None]
    phi = net.potential(x[0] + t * (x[1] - x[0]))
    assert (phi[:-2] - 2 * phi[1:-1] + phi[2:]).min() > -1e-10


def test_softmax_mgradnet_rejects_bad_input():
    net = SoftmaxMGradNetM(modules=2, hidden=3)
    with pytest.raises((TypeError, ValueError), match=r"shape \(B, 2\)"):  # a list
        net([[0.1, 0.2]])
    with pytest.raises(ValueError, match="dtype"):
        net(torch.rand(4, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="scale"):
        SoftmaxMGradNetM(scale=0.0)


def _bar(col):
    img = np.zeros((12, 12))
    img[3:9, col : col + 3] = 1.0
    img[4:7, col + 1] += 1.0
    return img


@pytest.mark.parametrize("seed", [0, 1])
def test_train_morphing_learns_a_transport_from_a_poor_start(seed, device):
    """A bar moved across the square: the start's MSE to the exact-OT map is 0.18-0.23, after
    100 steps it is at the reference's own noise (measured ratios about 2e-3)."""
    src, tgt = _bar(1), _bar(8)
    x, T1, _ = morphing_reference(src, tgt, n=400)
    cfg = dict(modules=4, hidden=8, batch=200, steps=100, seed=seed)
    start, _, _ = train_morphing(src, tgt, {**cfg, "steps": 0}, device=device)
    net, losses, _ = train_morphing(src, tgt, cfg, device=device)
    assert next(net.parameters()).device.type == torch.device(device).type
    with torch.no_grad():
        e0 = map_mse(start(x.to(device)).cpu(), T1)
        e1 = map_mse(net(x.to(device)).cpu(), T1)
    assert len(losses) == 100 and e1 < 0.2 * e0, (e0, e1)


def test_train_morphing_rejects_unknown_config():
    with pytest.raises(ValueError, match="unknown config"):
        train_morphing(_image(), _image().T, {"step": 5})
    with pytest.raises(ValueError, match="lr_final"):
        train_morphing(_image(), _image().T, {"steps": 2, "lr_schedule": "exp"})
