"""A grey-scale image as a Gaussian kernel density on the plane (GradNetOT, eq. 9)."""

from __future__ import annotations

import math
from typing import Optional

import torch

from .._validation import (
    check_dist_points,
    check_int,
    fmt_shape,
)
from ._banana import _Planar

__all__ = ["ImageKDE"]


class ImageKDE(_Planar):
    r"""A grey-scale image as a density on the plane: a Gaussian KDE over its pixel centres.

    For an image ``I`` of shape ``(H, W)`` with nonnegative intensities (not all zero),
    ``p(x) = Σ_k w_k N(x; c_k, h I₂)`` with ``w_k = I_k / Σ_j I_j`` (GradNetOT, eq. 9).

    Conventions:

    * Pixel centres: the pixel in row ``i`` (from the top, ``0..H-1``) and column ``j``
      (from the left, ``0..W-1``) sits at ``c = ((j + ½)/W, 1 − (i + ½)/H)``: the image fills
      the unit square ``[0, 1]²`` with **x to the right and y up** (row 0 is the top edge), so
      ``plt.imshow(image, extent=(0, 1, 0, 1))`` lines up with the points.
    * ``bandwidth`` is the **variance** ``h`` of each isotropic Gaussian (standard deviation
      ``√h``), in squared units of the unit square; GradNetOT anneals it from ``1e-2`` to
      ``1e-4``. It is a plain attribute and may be changed at any time (for annealing).
    * The density lives on all of ``R²`` (the Gaussians are not truncated to the square), so it
      integrates to 1 over the plane.
    * Only pixels with nonzero intensity enter the mixture (``n_components`` of them).

    Args:
        image: array-like ``(H, W)``, finite, ``>= 0``, with a positive sum (e.g. a ``uint8``
            MNIST digit).
        bandwidth: ``h > 0``.
        dtype: dtype of the centres, samples and log densities (default ``float32``).
    """

    def __init__(self, image, bandwidth: float = 1e-3, dtype: torch.dtype = torch.float32):
        import numpy as np  # local: the rest of the module does not need numpy

        img = (
            torch.as_tensor(np.array(image, dtype=np.float64))
            if not isinstance(image, torch.Tensor)
            else image.detach().to(torch.float64)
        )
        if img.ndim != 2 or img.shape[0] < 1 or img.shape[1] < 1:
            raise ValueError(f"image must have shape (H, W); got shape {fmt_shape(img.shape)}")
        if not bool(torch.isfinite(img).all()) or bool((img < 0).any()):
            raise ValueError("image intensities must be finite and >= 0")
        if not float(img.sum()) > 0:
            raise ValueError("image must have at least one pixel with positive intensity")
        H, W = img.shape
        rows, cols = torch.nonzero(img > 0, as_tuple=True)
        weights = img[rows, cols]
        self.image_shape = (int(H), int(W))
        self._dtype = dtype
        self.weights = (weights / weights.sum()).to(dtype)  # (P,)
        rows, cols = rows.to(torch.float64), cols.to(torch.float64)
        self.centers = torch.stack([(cols + 0.5) / W, 1.0 - (rows + 0.5) / H], dim=1).to(
            dtype
        )  # (P, 2)
        self._log_w = torch.log(self.weights)
        self.bandwidth = bandwidth

    @property
    def bandwidth(self) -> float:
        """Variance ``h`` of each Gaussian kernel (settable, must be > 0)."""
        return self._bandwidth

    @bandwidth.setter
    def bandwidth(self, h: float) -> None:
        h = float(h)
        if not (h > 0 and math.isfinite(h)):
            raise ValueError(f"bandwidth must be a positive finite number; got {h!r}")
        self._bandwidth = h

    @property
    def device(self) -> torch.device:
        return self.centers.device

    def to(self, device=None, dtype=None) -> ImageKDE:
        """New ``ImageKDE`` with its centres and weights moved and/or cast (same bandwidth)."""
        new = object.__new__(ImageKDE)
        new.__dict__.update(self.__dict__)
        new._dtype = self._dtype if dtype is None else dtype
        new.weights = self.weights.to(device=device, dtype=new._dtype)
        new.centers = self.centers.to(device=device, dtype=new._dtype)
        new._log_w = torch.log(new.weights)
        return new

    @property
    def n_components(self) -> int:
        """Number of pixels with nonzero intensity."""
        return int(self.weights.shape[0])

    @property
    def mean(self) -> torch.Tensor:
        """Mean ``Σ_k w_k c_k`` (the intensity-weighted centre), shape ``(2,)``."""
        return self.weights @ self.centers

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Draw ``n`` points ``(n, 2)``: a pixel ``k`` with probability ``w_k``, then
        ``c_k + √h ξ``, on the distribution's device (the numbers are drawn on the
        ``generator``'s device)."""
        n = check_int(n, "n", minimum=0)
        dev = self.centers.device
        rng_dev = dev if generator is None else generator.device
        k = (
            torch.multinomial(self.weights.to(rng_dev), n, replacement=True, generator=generator)
            if n
            else torch.zeros(0, dtype=torch.long, device=rng_dev)
        ).to(dev)
        noise = torch.randn(n, 2, generator=generator, dtype=self._dtype, device=rng_dev).to(dev)
        return self.centers[k] + math.sqrt(self._bandwidth) * noise

    def log_prob(self, x) -> torch.Tensor:
        """``log p(x)`` for the rows of ``x`` ``(n, 2)`` → ``(n,)``: a logsumexp over the
        ``n_components`` pixels (gradients flow through ``x``)."""
        x = check_dist_points(x, 2, self._dtype, self.centers.device)
        h = self._bandwidth
        sq = ((x.unsqueeze(1) - self.centers.unsqueeze(0)) ** 2).sum(-1)  # (n, P)
        return torch.logsumexp(self._log_w - sq / (2 * h), dim=1) - math.log(2 * math.pi * h)

    def __repr__(self) -> str:
        return (
            f"ImageKDE(image_shape={self.image_shape}, n_components={self.n_components}, "
            f"bandwidth={self._bandwidth:g})"
        )
