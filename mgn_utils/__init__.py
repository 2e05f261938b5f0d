"""mgn_utils: helpers for the course "Monotone Gradient Networks for Optimal Transport".

Conventions: batch-first row vectors ``(B, d)``; every docstring states its cost
(½‖x−y‖² or ‖x−y‖²) and whether it returns W2 or W2².
"""
from . import autodiff, losses, metrics
from . import checkpoints, morphing, solvers, w2bench
from .solvers import ConvexPotential, QuadraticConvexPotential, fit_w2_minimax
from .data import load_mnist, mnist_split
from .distributions import Gaussian, GaussianMixture, ImageKDE, gaussian_ot_map, gaussian_w2, sqrtm_psd
from .env import NotebookEnv, setup_notebook
from .models import CMGN, ICGN, ICNN, MMGN, MLPMap, MonotoneGradientNet
from .training import FitResult, fit

try:
    from importlib.metadata import version as _version

    __version__ = _version("mgn-utils")
except Exception:  # not installed (e.g. imported from a source checkout)
    __version__ = "0+unknown"

__all__ = [
    "autodiff", "losses", "metrics", "load_mnist", "mnist_split", "Gaussian", "GaussianMixture", "ImageKDE", "gaussian_ot_map",
    "gaussian_w2", "sqrtm_psd", "NotebookEnv", "setup_notebook", "CMGN", "MMGN",
    "MonotoneGradientNet", "ICNN", "ICGN", "MLPMap", "FitResult", "fit", "__version__",
]
__all__ += ["checkpoints", "morphing", "solvers", "w2bench", "ConvexPotential", "QuadraticConvexPotential", "fit_w2_minimax"]
