"""Downloads with a hash check and the data folder (``MGN_DATA``), shared by every loader."""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

__all__ = ["data_root", "file_hash", "fetch_file"]

_TIMEOUT_S = 30.0


def data_root(root=None) -> Path:
    """The data folder: ``root`` if given, else ``$MGN_DATA``, else the user cache folder."""
    if root is None:
        root = os.environ.get("MGN_DATA") or None
    if root is None:
        import platformdirs
        root = platformdirs.user_cache_dir("mgn_utils")
    return Path(root).expanduser().resolve()


def file_hash(path: Path, algorithm: str = "md5") -> str:
    """Hex digest of a file read in 1 MiB chunks (``algorithm``: any ``hashlib`` name)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_file(url: str, path: Path, algorithm: str | None = None, expected: str | None = None,
               timeout: float = _TIMEOUT_S) -> None:
    """Download ``url`` into a temporary file next to ``path``, check its ``algorithm`` digest
    against ``expected`` when given, then rename it atomically onto ``path``. On any failure
    the temporary file is removed and the exception (network error, timeout, ``ValueError``
    for a wrong digest) propagates; ``path`` is left untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for chunk in iter(lambda: resp.read(1 << 16), b""):
                out.write(chunk)
        if expected is not None:
            found = file_hash(Path(tmp), algorithm)
            if found != expected:
                raise ValueError(f"{algorithm} {found} != expected {expected}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
