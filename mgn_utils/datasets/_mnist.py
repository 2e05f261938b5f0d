"""Data loaders: the MNIST test split (offline first, download with checksum when online),
and photos as colour clouds (``load_photo``, ``image_to_colors``, ``colors_to_image``, at the end).

Conventions (MNIST): images are ``uint8`` arrays of shape ``(N, 28, 28)`` with values 0..255
(0 = background), labels are ``int64`` of shape ``(N,)`` with values 0..9. Only the official
**test** split (``t10k``, N = 10,000) is loaded: it is the split the course ships offline.
"""
from __future__ import annotations

import functools
import gzip
import os
from pathlib import Path

import numpy as np

__all__ = ["load_mnist", "mnist_split", "MNIST_MIRRORS"]

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
# name -> (md5 of the .gz file, idx magic number)
_MNIST_FILES = {
    "images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", 0x00000803),
    "labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", 0x00000801),
}
_TIMEOUT_S = 30.0
_FIX = ("To fix it, set the environment variable MGN_DATA to a folder that contains "
        "MNIST/raw/{name} (for example the course's shared/data folder), pass root=..., "
        "or run once online with download=True.")


from ._download import data_root as _resolve_root  # noqa: E402
from ._download import fetch_file, file_hash  # noqa: E402,F401


def _download(path: Path, md5: str) -> None:
    """Fetch ``path.name`` from the mirrors (the first that works), MD5-checked, onto ``path``."""
    errors = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        errors.append(f"cannot create {path.parent}: {e}")
    else:
        for mirror in MNIST_MIRRORS:
            url = mirror + path.name
            try:
                fetch_file(url, path, "md5", md5)
                return
            except Exception as e:  # network errors, timeouts, bad content: try the next mirror
                errors.append(f"{url}: {type(e).__name__}: {e}")
    raise FileNotFoundError(
        f"MNIST file {path.name!r} is missing: expected it at {path}, and downloading it "
        f"failed ({'; '.join(errors)}). " + _FIX.format(name=path.name))


@functools.lru_cache(maxsize=8)
def _read_idx(path: str, mtime_ns: int, size: int, md5: str, magic: int) -> np.ndarray:
    """MD5-check and parse one gzipped idx file (cached per path, mtime and size)."""
    found = file_hash(Path(path))
    if found != md5:
        raise ValueError(
            f"MNIST file {path} is corrupted: expected md5 {md5}, found md5 {found}. "
            "Delete it and re-download it (load_mnist(download=True) while online), "
            "or copy a good one from the course's shared/data.")
    with gzip.open(path, "rb") as f:
        data = f.read()
    got = int.from_bytes(data[:4], "big")
    if got != magic:
        raise ValueError(f"{path}: bad idx magic number 0x{got:08x}, expected 0x{magic:08x}")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(shape)):
        raise ValueError(f"{path}: idx header says shape {shape} but holds "
                         f"{len(data) - offset} bytes of data")
    arr = np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)
    arr.flags.writeable = False
    return arr


def load_mnist(root=None, download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load the MNIST **test** split (t10k, 10,000 digits).

    ``root`` is the folder that contains ``MNIST/raw/`` (torchvision's layout; the course
    ships it as ``shared/data``). Look-up order: the ``root`` argument, else the environment
    variable ``MGN_DATA``, else ``platformdirs.user_cache_dir("mgn_utils")``. Each ``.gz``
    file's MD5 is checked before it is parsed. A missing file is downloaded when
    ``download`` is true (mirrors :data:`MNIST_MIRRORS`, 30 s timeout, MD5 checked, then
    renamed into place atomically).

    Returns ``(images, labels)``: ``images`` uint8 ``(10000, 28, 28)``, values 0..255;
    ``labels`` int64 ``(10000,)``, values 0..9. Both arrays are **read-only**
    (``flags.writeable == False``): they are cached in memory per file and shared between
    calls, so a second call is instant. Use ``images.copy()`` or
    ``images.astype(np.float32) / 255`` for an array you can modify.

    Raises ``FileNotFoundError`` when a file is missing and cannot be downloaded (offline,
    ``download=False``, root not writable), saying where it was expected and how to fix
    it; ``ValueError`` when a file's MD5 or idx header is wrong.
    """
    raw = _resolve_root(root) / "MNIST" / "raw"
    out = []
    for name, md5, magic in _MNIST_FILES.values():
        path = raw / name
        if not path.is_file():
            if not download:
                raise FileNotFoundError(
                    f"MNIST file {name!r} not found: expected it at {path} "
                    "(download=False). " + _FIX.format(name=name))
            _download(path, md5)
        st = path.stat()
        out.append(_read_idx(str(path), st.st_mtime_ns, st.st_size, md5, magic))
    images, labels = out
    if images.shape[1:] != (28, 28) or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"unexpected MNIST shapes {images.shape} and {labels.shape}")
    labels = labels.astype(np.int64)
    labels.flags.writeable = False
    return images, labels


def mnist_split(labels, holdout: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Fixed, seeded, stratified split of sample indices into train and held-out parts.

    For every class ``c`` (in sorted order) the indices ``i`` with ``labels[i] == c`` are
    shuffled with ``np.random.default_rng(seed)`` and ``round(holdout * n_c)`` of them go to
    the held-out part, so each class keeps its proportion in both parts. The same
    ``(labels, holdout, seed)`` always gives the same split.

    Parameters
    ----------
    labels : array-like of int, shape (N,)
    holdout : float in (0, 1), fraction of each class that is held out
    seed : int

    Returns
    -------
    train_idx, test_idx : np.ndarray, int64, sorted ascending, disjoint, together
        covering ``0 .. N-1``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout must lie in (0, 1), got {holdout}")
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        held.append(idx[:int(round(holdout * len(idx)))])
    mask = np.zeros(len(labels), dtype=bool)
    if held:
        mask[np.concatenate(held)] = True
    return np.flatnonzero(~mask).astype(np.int64), np.flatnonzero(mask).astype(np.int64)
