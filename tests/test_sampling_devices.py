"""Distributions sample with a generator on any device and return samples on their own device."""

import numpy as np
import torch

import mgn_utils
from mgn_utils.distributions import ImageKDE


def _same_numbers(dist, moved, device):
    x = moved.sample(50, generator=torch.Generator().manual_seed(3))  # a CPU generator
    y = dist.sample(50, generator=torch.Generator().manual_seed(3))
    assert x.device.type == torch.device(device).type
    assert torch.allclose(x.cpu().double(), y.double(), atol=1e-5)


def test_gaussian_and_mixture_sample_on_their_device_with_a_cpu_generator(device):
    g = mgn_utils.Gaussian(torch.tensor([1.0, -1.0]), torch.tensor([[2.0, 0.3], [0.3, 1.0]]))
    _same_numbers(g, g.to(device), device)
    mix = mgn_utils.GaussianMixture(
        torch.tensor([0.3, 0.7]),
        torch.tensor([[-2.0, 0.0], [2.0, 0.0]]),
        torch.eye(2).expand(2, 2, 2).clone(),
    )
    _same_numbers(mix, mix.to(device), device)


def test_image_kde_samples_on_its_device_with_a_cpu_generator(device):
    image = np.zeros((8, 8))
    image[2:6, 3:5] = 1.0
    kde = ImageKDE(image, 1e-3)
    _same_numbers(kde, kde.to(device), device)
