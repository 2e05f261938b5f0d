"""Every network of the course, with one interface: a map takes ``(B, d)`` and returns ``(B, d)``.

* MGNs (monotone gradient networks, chapter 02): :class:`CMGN`, :class:`MMGN`, and the softmax
  mGradNet-M :class:`SoftmaxMGradNetM` (chapter 08). Closed-form ``jacobian(x) -> (B, d, d)``
  and ``logdet_jacobian(x) -> (B,)``, usable under ``torch.func``.
* Baselines (chapter 03): :class:`ICNN` (gradient of an input convex network), :class:`ICGN`,
  :class:`MLPMap` (no structure).
* Potentials ``(B, d) -> (B,)`` (chapter 09): :class:`PotentialMLP`, :class:`ConvexPotential`,
  :class:`QuadraticConvexPotential` (the W2 benchmark's dense quadratic ICNN).
* Critics ``(B, d) -> (B,)`` for WGAN-GP (chapters 04, 07): :class:`Critic`.

Potential protocol: a gradient map ``T = ∇φ`` has ``potential(x) -> (B,)`` where ``φ`` has a
closed form, and ``T(x) = ∇φ(x)``.
"""

from ._baselines import ICGN, ICNN, MLPMap
from ._critics import Critic
from ._mgn import (
    ACTIVATIONS,
    CMGN,
    MMGN,
    AffineStart,
    MonotoneGradientNet,
    init_affine,
    logdet_spd,
)
from ._potentials import ConvexPotential, PotentialMLP, QuadraticConvexPotential
from ._softmax import SoftmaxMGradNetM

__all__ = [
    "ACTIVATIONS",
    "CMGN",
    "MMGN",
    "MonotoneGradientNet",
    "SoftmaxMGradNetM",
    "init_affine",
    "AffineStart",
    "logdet_spd",
    "ICNN",
    "ICGN",
    "MLPMap",
    "PotentialMLP",
    "ConvexPotential",
    "QuadraticConvexPotential",
    "Critic",
]
