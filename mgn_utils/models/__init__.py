"""Every network of the course, with one interface: a map takes ``(B, d)`` and returns ``(B, d)``.

* MGNs (monotone gradient networks, chapter 02): :class:`CMGN`, :class:`MMGN`, and the softmax
  mGradNet-M :class:`SoftmaxMGradNetM` (chapter 08). Closed-form ``jacobian(x) -> (B, d, d)``
  and ``logdet_jacobian(x) -> (B,)``, usable under ``torch.func``.
* Baselines (chapter 03): :class:`ICNN` (gradient of an input convex network), :class:`ICGN`,
  :class:`MLPMap` (no structure).
* Potentials ``(B, d) -> (B,)`` (chapter 09): :class:`ConvexPotential`,
  :class:`QuadraticConvexPotential` (the W2 benchmark's dense quadratic ICNN).
* Critics ``(B, d) -> (B,)`` for WGAN-GP (chapters 04, 07): :class:`Critic`.

Potential protocol: a gradient map ``T = ∇φ`` has ``potential(x) -> (B,)`` where ``φ`` has a
closed form, and ``T(x) = ∇φ(x)``.
"""

from .._lazy import attach as _attach

__getattr__, __dir__, __all__ = _attach(
    __name__,
    {
        "ACTIVATIONS": "._mgn:ACTIVATIONS",
        "CMGN": "._mgn:CMGN",
        "MMGN": "._mgn:MMGN",
        "MonotoneGradientNet": "._mgn:MonotoneGradientNet",
        "SoftmaxMGradNetM": "._softmax:SoftmaxMGradNetM",
        "init_affine": "._mgn:init_affine",
        "AffineStart": "._mgn:AffineStart",
        "logdet_spd": "._mgn:logdet_spd",
        "ICNN": "._baselines:ICNN",
        "ICGN": "._baselines:ICGN",
        "MLPMap": "._baselines:MLPMap",
        "ConvexPotential": "._potentials:ConvexPotential",
        "QuadraticConvexPotential": "._potentials:QuadraticConvexPotential",
        "Critic": "._critics:Critic",
    },
)
