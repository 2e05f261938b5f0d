"""mgn_utils: monotone gradient networks for optimal transport, in PyTorch.

The helper package of the course "Monotone Gradient Networks for Optimal Transport".

Layout (one module or sub-package per concern; every public name is re-exported here):

* :mod:`mgn_utils.models` — C-MGN, M-MGN, softmax mGradNet-M, ICNN, ICGN, MLP, potentials, critics;
* :mod:`mgn_utils.distributions` — Gaussian, mixture, banana, image KDE; closed-form Gaussian OT;
* :mod:`mgn_utils.datasets` — MNIST, photos, the Wasserstein-2 benchmark pairs;
* :mod:`mgn_utils.losses`, :mod:`mgn_utils.metrics`, :mod:`mgn_utils.autodiff`;
* :mod:`mgn_utils.training` — ``fit`` (callbacks, schedulers, devices) and ``fit_adversarial``;
* :mod:`mgn_utils.solvers` — the minimax dual, morphing, and the :class:`MGNTransport` estimator;
* :mod:`mgn_utils.plotting`, :mod:`mgn_utils.widgets` — figures and interactive views;
* :mod:`mgn_utils.course` — the course's scaffolding (notebook set-up, results, checkpoints).

Conventions: batch-first row vectors ``(B, d)``; every docstring states its cost
(½‖x−y‖² or ‖x−y‖²) and whether it returns W2 or W2².
"""

import sys as _sys

from . import autodiff, course, datasets, distributions, losses, metrics, models, solvers, training
from .autodiff import line_integral_potential
from .course import NotebookEnv, setup_notebook
from .course.env import provenance
from .datasets import load_mnist, load_pair, load_photo, mnist_split
from .distributions import (
    Banana,
    Gaussian,
    GaussianMixture,
    ImageKDE,
    gaussian_ot_map,
    gaussian_w2,
    sqrtm_psd,
)
from .models import (
    CMGN,
    ICGN,
    ICNN,
    MMGN,
    ConvexPotential,
    Critic,
    MLPMap,
    MonotoneGradientNet,
    PotentialMLP,
    QuadraticConvexPotential,
    SoftmaxMGradNetM,
)
from .solvers import MGNTransport, fit_w2_minimax
from .training import FitResult, fit

# The first edition's module names, kept importable (``import mgn_utils.data`` etc.).
_ALIASES = {
    "data": datasets,
    "w2bench": datasets.w2bench,
    "env": course.env,
    "report": course.report,
    "checkpoints": course.checkpoints,
    "morphing": solvers.morphing,
    "potential": autodiff,
}
for _name, _module in _ALIASES.items():
    _sys.modules[f"{__name__}.{_name}"] = _module
    globals()[_name] = _module
del _name, _module

try:
    from importlib.metadata import version as _version

    __version__ = _version("mgn-utils")
except Exception:  # not installed (e.g. imported from a source checkout)
    __version__ = "0+unknown"

__all__ = [
    "autodiff",
    "course",
    "datasets",
    "distributions",
    "losses",
    "metrics",
    "models",
    "solvers",
    "training",
    "line_integral_potential",
    "NotebookEnv",
    "setup_notebook",
    "provenance",
    "load_mnist",
    "load_pair",
    "load_photo",
    "mnist_split",
    "Banana",
    "Gaussian",
    "GaussianMixture",
    "ImageKDE",
    "gaussian_ot_map",
    "gaussian_w2",
    "sqrtm_psd",
    "CMGN",
    "ICGN",
    "ICNN",
    "MMGN",
    "ConvexPotential",
    "Critic",
    "MLPMap",
    "MonotoneGradientNet",
    "PotentialMLP",
    "QuadraticConvexPotential",
    "SoftmaxMGradNetM",
    "MGNTransport",
    "fit_w2_minimax",
    "FitResult",
    "fit",
    "__version__",
]
