"""The Wasserstein-2 benchmark's pairs and the course's trained maps for them.

:func:`pretrained_map` loads the map that ``scripts/train.py w2bench-semidual-dD`` trained
(:mod:`mgn_utils.course.experiments`): a C-MGN fitted by the semi-dual with a Newton conjugate,
on the benchmark's samplers only, kept by its held-out semi-dual objective. The pair itself is
:func:`load_pair` (re-exported from :mod:`mgn_utils.datasets`).
"""

from __future__ import annotations

from .datasets import load_pair

__all__ = ["load_pair", "pretrained_map"]


def pretrained_map(d: int, device=None, *, seed: int = 0, steps: int | None = None, root=None):
    """The course's trained Wasserstein-2 map for the benchmark pair of dimension ``d``.

    Parameters
    ----------
    d : int
        One of :data:`mgn_utils.course.experiments.W2_DIMS` (2, 4, 8, 16, 32, 64).
    device : str or torch.device, optional
        Where to put the map (default ``cpu``).
    seed : int
        The training seed of the checkpoint.
    steps : int, optional
        The run's total steps (default: the registry's, the run the course ships).
    root : path-like, optional
        The checkpoint folder (default: :func:`~mgn_utils.course.checkpoints.checkpoint_root`;
        a missing file is downloaded from the installed commit and checked against its hash).

    Returns
    -------
    torch.nn.Module
        A monotone gradient network mapping ``(n, d)`` to ``(n, d)`` (cost ``½‖x − y‖²``), in
        eval mode with frozen weights. ``.manifest`` holds its manifest entry (configuration,
        steps done, wall time, validation curves).

    Raises
    ------
    ValueError
        For a ``d`` the course has not trained.
    mgn_utils.course.checkpoints.CheckpointError
        When no checkpoint matches (with how to train one).
    """
    from .course.experiments import W2_DIMS
    from .course.train import load_run

    if isinstance(d, bool) or not isinstance(d, int) or d not in W2_DIMS:
        raise ValueError(f"d must be one of {W2_DIMS}, got {d!r}")
    return load_run(f"w2bench-semidual-d{d}", seed, device, steps=steps, root=root)
