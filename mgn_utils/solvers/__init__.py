"""Optimal transport solvers built from the package's parts: the reversed minimax dual and
the semi-dual with a Newton conjugate (chapter 09), the Monge-Ampère morphing trainer
(chapter 08) and :class:`MGNTransport`, an estimator in POT's ``ot.da`` convention."""

from .._lazy import attach as _attach

__getattr__, __dir__, __all__ = _attach(
    __name__,
    {
        "MinimaxResult": "._minimax:MinimaxResult",
        "affine_init": "._minimax:affine_init",
        "fit_w2_minimax": "._minimax:fit_w2_minimax",
        "sample_gaussian_map": "._minimax:sample_gaussian_map",
        "MORPH_DEFAULTS": "._morphing:MORPH_DEFAULTS",
        "map_mse": "._morphing:map_mse",
        "morphing_reference": "._morphing:morphing_reference",
        "train_morphing": "._morphing:train_morphing",
        "morphing": "._morphing",
        "MGNTransport": "._transport:MGNTransport",
        "fit_w2_map": "._w2map:fit_w2_map",
        "fit_w2_semidual": "._semidual:fit_w2_semidual",
        "SemidualResult": "._semidual:SemidualResult",
        "newton_inverse": "._semidual:newton_inverse",
        "semidual_loss": "._semidual:semidual_loss",
        "semidual_value": "._semidual:semidual_value",
        "W2MAP_DEFAULTS": "._w2map:W2MAP_DEFAULTS",
    },
)
