"""mgn_utils: monotone gradient networks for optimal transport, in PyTorch.

The helper package of the course "Monotone Gradient Networks for Optimal Transport".

Layout (one module or sub-package per concern; the main names are re-exported here):

* :mod:`mgn_utils.models` — C-MGN, M-MGN, softmax mGradNet-M, ICNN, ICGN, MLP, potentials, critics;
* :mod:`mgn_utils.distributions` — Gaussian, mixture, banana, image KDE; closed-form Gaussian OT;
* :mod:`mgn_utils.datasets` — MNIST, photos, the Wasserstein-2 benchmark pairs;
* :mod:`mgn_utils.losses`, :mod:`mgn_utils.metrics`, :mod:`mgn_utils.autodiff`;
* :mod:`mgn_utils.training` — ``fit`` (callbacks, schedulers, devices) and ``fit_adversarial``;
* :mod:`mgn_utils.solvers` — the minimax dual, the semi-dual, morphing, and the
  :class:`MGNTransport` estimator;
* :mod:`mgn_utils.w2bench` — the Wasserstein-2 benchmark's pairs and the course's trained maps;
* :mod:`mgn_utils.plotting`, :mod:`mgn_utils.widgets` — figures and interactive views;
* :mod:`mgn_utils.course` — the course's scaffolding (notebook set-up, results, checkpoints);
  not re-exported here.

Imports are lazy: ``import mgn_utils`` is cheap, and each module loads on first use.

Conventions: batch-first row vectors ``(B, d)``; every docstring states its cost
(½‖x−y‖² or ‖x−y‖²) and whether it returns W2 or W2².
"""

from ._lazy import attach as _attach

_SUBMODULES = (
    "autodiff",
    "course",
    "datasets",
    "distributions",
    "losses",
    "metrics",
    "models",
    "plotting",
    "solvers",
    "training",
    "w2bench",
    "widgets",
)
_NAMES = {
    "line_integral_potential": ".autodiff",
    "load_mnist": ".datasets",
    "load_pair": ".datasets",
    "load_photo": ".datasets",
    "mnist_split": ".datasets",
    "Banana": ".distributions",
    "Gaussian": ".distributions",
    "GaussianMixture": ".distributions",
    "ImageKDE": ".distributions",
    "gaussian_ot_map": ".distributions",
    "gaussian_w2": ".distributions",
    "sqrtm_psd": ".distributions",
    "CMGN": ".models",
    "ICGN": ".models",
    "ICNN": ".models",
    "MMGN": ".models",
    "ConvexPotential": ".models",
    "Critic": ".models",
    "MLPMap": ".models",
    "MonotoneGradientNet": ".models",
    "QuadraticConvexPotential": ".models",
    "SoftmaxMGradNetM": ".models",
    "MGNTransport": ".solvers",
    "fit_w2_minimax": ".solvers",
    "fit_w2_map": ".solvers",
    "FitResult": ".training",
    "fit": ".training",
    "fit_adversarial": ".training",
}
__getattr__, __dir__, __all__ = _attach(
    __name__,
    {**{m: f".{m}" for m in _SUBMODULES}, **{k: f"{v}:{k}" for k, v in _NAMES.items()}},
)
__all__ = [*__all__, "__version__"]

try:
    from importlib.metadata import version as _version

    __version__ = _version("mgn-utils")
except Exception:  # not installed (e.g. imported from a source checkout)
    __version__ = "0+unknown"
