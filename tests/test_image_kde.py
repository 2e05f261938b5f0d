"""Tests of mgn_utils.distributions.ImageKDE (the GradNetOT image density, eq. 9)."""

import math

import numpy as np
import pytest
import torch

from mgn_utils.distributions import ImageKDE


def _image():
    img = np.zeros((7, 5), dtype=np.uint8)
    img[1, 1], img[2, 3], img[5, 2], img[6, 4] = 255, 100, 30, 200
    return img


def test_log_prob_integrates_to_one():
    kde = ImageKDE(_image(), bandwidth=4e-3, dtype=torch.float64)
    t = torch.linspace(-0.5, 1.5, 401, dtype=torch.float64)
    gx, gy = torch.meshgrid(t, t, indexing="xy")
    pts = torch.stack([gx.flatten(), gy.flatten()], 1)
    mass = kde.log_prob(pts).exp().sum() * (t[1] - t[0]) ** 2
    assert abs(mass.item() - 1) < 1e-3


def test_samples_mean_matches_weighted_centre_and_orientation():
    img = _image()
    kde = ImageKDE(img, bandwidth=1e-3)
    x = kde.sample(200_000, torch.Generator().manual_seed(0))
    H, W = img.shape
    w = img.astype(np.float64) / img.sum()
    i, j = np.mgrid[0:H, 0:W]
    centre = np.array([(w * (j + 0.5) / W).sum(), (w * (1 - (i + 0.5) / H)).sum()])
    assert np.allclose(kde.mean.numpy(), centre, atol=1e-6)
    assert np.allclose(x.mean(0).numpy(), centre, atol=4e-3)
    # the brightest pixel (row 1 from the top, column 1) sits in the upper-left part
    top = ImageKDE(np.pad([[1.0]], ((0, 9), (0, 9))), bandwidth=1e-6).centers[0]
    assert torch.allclose(top, torch.tensor([0.05, 0.95]))


def test_bandwidth_is_settable_and_changes_the_density():
    kde = ImageKDE(_image(), bandwidth=1e-2)
    x = kde.centers[:1]
    lp1 = kde.log_prob(x)
    kde.bandwidth = 1e-4
    assert kde.bandwidth == 1e-4 and kde.log_prob(x) > lp1
    with pytest.raises(ValueError):
        kde.bandwidth = 0.0


def test_log_prob_gradient_and_shape():
    kde = ImageKDE(_image(), bandwidth=1e-3)
    x = torch.rand(10, 2, requires_grad=True)
    lp = kde.log_prob(x)
    assert lp.shape == (10,)
    lp.sum().backward()
    assert torch.isfinite(x.grad).all()
    # single-pixel image: a single Gaussian
    one = ImageKDE(np.pad([[3.0]], ((0, 1), (0, 1))), bandwidth=0.01, dtype=torch.float64)
    y = torch.tensor([[0.25, 0.75]], dtype=torch.float64)
    assert torch.allclose(
        one.log_prob(y), torch.tensor([-math.log(2 * math.pi * 0.01)], dtype=torch.float64)
    )


@pytest.mark.parametrize(
    "bad",
    [np.zeros((3, 3)), np.ones(9), np.ones((2, 2, 2)), -np.ones((3, 3)), np.full((2, 2), np.nan)],
)
def test_bad_images_raise(bad):
    with pytest.raises(ValueError):
        ImageKDE(bad, bandwidth=1e-3)


def test_bad_points_raise():
    with pytest.raises(ValueError):
        ImageKDE(_image()).log_prob(torch.zeros(4, 3))


def test_image_kde_to_device_keeps_density_and_samples_there(device):
    img = np.zeros((4, 5))
    img[1, 2], img[3, 0] = 1.0, 3.0
    base = ImageKDE(img, bandwidth=1e-2)
    moved = base.to(device)
    assert moved.device.type == torch.device(device).type and moved.bandwidth == base.bandwidth
    g = torch.Generator(device=device).manual_seed(0)
    x = moved.sample(200, generator=g)
    assert x.device.type == moved.device.type and x.shape == (200, 2)
    assert torch.allclose(moved.log_prob(x).cpu(), base.log_prob(x.cpu()), atol=1e-4)
    assert base.to(dtype=torch.float64).sample(3).dtype == torch.float64
