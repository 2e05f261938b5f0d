"""Optimal transport solvers built from the package's parts: the reversed minimax dual and
the semi-dual with a Newton conjugate (chapter 09), the Monge-Ampère morphing trainer
(chapter 08) and :class:`MGNTransport`, an estimator in POT's ``ot.da`` convention."""

from . import _morphing as morphing
from ._minimax import MinimaxResult, affine_init, fit_w2_minimax, sample_gaussian_map
from ._morphing import MORPH_DEFAULTS, map_mse, morphing_reference, train_morphing
from ._semidual import SemidualResult, fit_w2_semidual, newton_inverse
from ._transport import MGNTransport
from ._w2map import W2MAP_DEFAULTS, fit_w2_map

__all__ = [
    "MinimaxResult",
    "affine_init",
    "fit_w2_minimax",
    "sample_gaussian_map",
    "MORPH_DEFAULTS",
    "map_mse",
    "morphing_reference",
    "train_morphing",
    "morphing",
    "MGNTransport",
    "fit_w2_map",
    "fit_w2_semidual",
    "SemidualResult",
    "newton_inverse",
    "W2MAP_DEFAULTS",
]
