"""The data files this process has read, with their digests (private).

The loaders call :func:`note_data` for every file they read; the course's execution stamp
reads :func:`data_read` (through :func:`mgn_utils.course.env.provenance`). The record lives
here, below the course scaffolding, so that :mod:`mgn_utils.datasets` imports nothing above it.
"""

from __future__ import annotations

__all__ = ["data_read", "note_data"]

_READ: dict[str, str] = {}


def note_data(name: str, digest: str) -> None:
    """Record that the file ``name`` with hex ``digest`` (MD5 or SHA-256) was read.

    Parameters
    ----------
    name : str
        The file's name (a :data:`~mgn_utils.datasets.REGISTRY` key for downloaded files).
    digest : str
        The hex digest the loader verified.
    """
    _READ[str(name)] = str(digest)


def data_read() -> dict[str, str]:
    """``{file name: digest}`` of every file read so far, sorted by name (a copy)."""
    return dict(sorted(_READ.items()))
