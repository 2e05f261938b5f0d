"""Notebook setup: device, run profile, seeds, plot defaults and versions in one call."""

from __future__ import annotations

import operator
import os
import random
import sys
from dataclasses import dataclass
from importlib import metadata

import numpy as np
import torch

__all__ = ["NotebookEnv", "setup_notebook", "PROFILES", "provenance", "note_device"]

PROFILES = ("full", "smoke")
_RC = {"figure.dpi": 110, "figure.figsize": (6.0, 4.0), "axes.grid": False}


def _version() -> str:
    try:
        return metadata.version("mgn-utils")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _seed_shift() -> int:
    raw = os.environ.get("MGN_SEED", "").strip()
    if not raw:
        return 0
    try:
        k = int(raw)
    except ValueError:
        k = -1
    if k < 0:
        raise ValueError(f"MGN_SEED must be a non-negative integer (the seed shift), got {raw!r}")
    return k


def _profile(profile) -> str:
    if profile is None:
        profile = os.environ.get("MGN_PROFILE") or "full"
    p = str(profile).strip().lower()
    if p not in PROFILES:
        raise ValueError(
            f"unknown profile {profile!r} (from the argument or MGN_PROFILE); "
            f"allowed values: {', '.join(PROFILES)}"
        )
    return p


@dataclass(frozen=True)
class NotebookEnv:
    """What :func:`setup_notebook` chose.

    ``device`` is a ``torch.device`` (cuda, mps or cpu); ``profile`` is ``"full"`` or
    ``"smoke"``; ``is_colab`` tells whether the notebook runs on Google Colab.
    """

    device: torch.device
    profile: str
    is_colab: bool
    seed: int
    torch_version: str
    mgn_utils_version: str

    def pick(self, smoke, full):
        """Return ``smoke`` in the smoke profile and ``full`` otherwise,
        e.g. ``n_steps = env.pick(smoke=200, full=20_000)``."""
        return smoke if self.profile == "smoke" else full


def setup_notebook(seed: int = 0, profile: str | None = None, quiet: bool = False) -> NotebookEnv:
    """Prepare a chapter notebook and return a :class:`NotebookEnv`.

    - device: cuda if available, then mps, then cpu;
    - profile: the argument, else the environment variable ``MGN_PROFILE``, else ``"full"``
      (allowed: ``"full"``, ``"smoke"``; anything else raises ``ValueError``);
    - seeds ``random``, ``numpy`` (global ``np.random``) and ``torch`` (all CUDA devices too)
      with ``seed + MGN_SEED`` (the environment variable, a non-negative int, default 0), and
      returns that sum as ``env.seed``: chapters derive every seed and generator from
      ``env.seed``, so ``MGN_SEED=k`` re-runs a whole chapter on other draws;
    - sets a few ``matplotlib.rcParams`` (dpi 110, figsize (6, 4), no grid) without
      importing pyplot;
    - prints one line with versions, device, profile and seed unless ``quiet``.

    The number of torch threads is deliberately left alone.
    """
    seed = operator.index(seed) + _seed_shift()
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed (plus MGN_SEED) must be an int in [0, 2**32), got {seed}")
    prof = _profile(profile)
    device = _device()

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)

    import matplotlib

    matplotlib.rcParams.update(_RC)
    _USED["device"] = str(device)

    env = NotebookEnv(
        device=device,
        profile=prof,
        is_colab="google.colab" in sys.modules,
        seed=seed,
        torch_version=str(torch.__version__),
        mgn_utils_version=_version(),
    )
    if not quiet:
        print(
            f"mgn_utils {env.mgn_utils_version} | torch {env.torch_version} | "
            f"device {device} | profile {prof} | seed {seed}" + (" | colab" if env.is_colab else "")
        )
    return env


# What the current process used, for the execution stamp of a chapter (tools/nbtools.py).
_USED = {"device": None, "computed_on": set(), "checkpoints": {}}


def note_device(device) -> None:
    """Remember that a result was computed on ``device`` (:func:`~mgn_utils.course.report.record`
    calls this with the device of the tensors or model it was given)."""
    _USED["computed_on"].add(str(device))


def note_checkpoint(key: str, digest: str) -> None:
    """Remember that the checkpoint ``key`` (``"FOLDER/NAME"`` under the checkpoint root, or
    ``"NAME"``) was found, with the digest of its manifest entry
    (:func:`~mgn_utils.course.checkpoints.entry_digest`); the checkpoint finder calls this."""
    _USED["checkpoints"][str(key)] = str(digest)


def _data_read() -> dict:
    """The files the loaders of :mod:`mgn_utils.datasets` read, if any loader ran (the record
    is read from the loaded module, so a chapter that reads no data does not import it)."""
    record = sys.modules.get("mgn_utils.datasets._provenance")
    return record.data_read() if record is not None else {}


def provenance() -> dict:
    """What this process used: ``{"device": str, "data": {file name: digest},
    "checkpoints": {key: digest}}``.

    ``device`` is where the recorded results were computed (the devices passed to
    :func:`note_device`, joined by ``", "``), else the device :func:`setup_notebook` chose
    (``"cpu"`` when it was not called); ``data`` lists the files the loaders read, with their
    digests; ``checkpoints`` the checkpoints found, with the digests of their manifest entries.
    """
    device = ", ".join(sorted(_USED["computed_on"])) or _USED["device"] or "cpu"
    if device.startswith("cuda") and torch.cuda.is_available():
        device = f"{device} ({torch.cuda.get_device_name(0)})"
    return {"device": device, "data": _data_read(), "checkpoints": dict(_USED["checkpoints"])}
