"""The MNIST test split (offline first, downloaded with an MD5 check when missing) and a
stratified train/held-out split of it.

Conventions (MNIST): images are ``uint8`` arrays of shape ``(N, 28, 28)`` with values 0..255
(0 = background), labels are ``int64`` of shape ``(N,)`` with values 0..9. Only the official
**test** split (``t10k``, N = 10,000) is loaded: it is the split the course uses.
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

import numpy as np

from ._download import MNIST_MIRRORS, REGISTRY, data_root, file_hash, note_data
from ._download import download as _download_file

__all__ = ["MNIST_MIRRORS", "load_mnist", "mnist_split"]

# name -> (md5 of the .gz file, idx magic number); the URLs are in the download registry.
_MNIST_FILES = {
    "images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", 0x00000803),
    "labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", 0x00000801),
}
_NAMES = [f"MNIST/raw/{f}" for f, _, _ in _MNIST_FILES.values()]  # keys of REGISTRY


@functools.lru_cache(maxsize=8)
def _read_idx(path: str, mtime_ns: int, size: int, md5: str, magic: int) -> np.ndarray:
    """MD5-check and parse one gzipped idx file (cached per path, mtime and size)."""
    found = file_hash(Path(path))
    if found != md5:
        name = Path(path).name
        urls = REGISTRY.get(f"MNIST/raw/{name}", ([],))[0]
        raise ValueError(
            f"MNIST file {path} is corrupted: expected md5 {md5}, found md5 {found}. "
            "Delete it and run load_mnist(download=True) while online to download it again"
            + (f" (from {' or '.join(urls)})" if urls else "")
            + "."
        )
    with gzip.open(path, "rb") as f:
        data = f.read()
    got = int.from_bytes(data[:4], "big")
    if got != magic:
        raise ValueError(f"{path}: bad idx magic number 0x{got:08x}, expected 0x{magic:08x}")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(shape)):
        raise ValueError(
            f"{path}: idx header says shape {shape} but holds {len(data) - offset} bytes of data"
        )
    arr = np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)
    arr.flags.writeable = False
    return arr


def load_mnist(root=None, download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load the MNIST **test** split (t10k, 10,000 digits).

    Parameters
    ----------
    root : path-like, optional
        The data folder, which holds ``MNIST/raw/t10k-images-idx3-ubyte.gz`` and
        ``MNIST/raw/t10k-labels-idx1-ubyte.gz`` (torchvision's layout). Default: the
        environment variable ``MGN_DATA``, else ``platformdirs.user_cache_dir("mgn_utils")``.
    download : bool
        Download a missing file from the mirrors :data:`MNIST_MIRRORS` (in order, 30 s
        timeout each); its MD5 is checked before it is renamed into place.

    Returns
    -------
    images : np.ndarray, uint8, shape (10000, 28, 28)
        Values 0..255 (0 = background).
    labels : np.ndarray, int64, shape (10000,)
        Values 0..9.

    Notes
    -----
    Each ``.gz`` file's MD5 is checked before it is parsed, and the file's name and MD5 are
    recorded for the chapter's execution stamp (:func:`mgn_utils.provenance`). Both arrays are
    **read-only** (``flags.writeable == False``): they are cached in memory per file and
    shared between calls, so a second call is instant. Use ``images.copy()`` or
    ``images.astype(np.float32) / 255`` for an array you can modify.

    Raises
    ------
    FileNotFoundError
        A file is missing and cannot be downloaded (offline, ``download=False``, folder not
        writable); the message names the files, their URLs and the folder they must go into.
    ValueError
        A file's MD5 or idx header is wrong.
    """
    folder = data_root(root)
    out = []
    for (_fname, md5, magic), name in zip(_MNIST_FILES.values(), _NAMES):
        path = _fetch_into(name, folder, download)
        st = path.stat()
        out.append(_read_idx(str(path), st.st_mtime_ns, st.st_size, md5, magic))
        note_data(name, md5)
    images, labels = out
    if images.shape[1:] != (28, 28) or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"unexpected MNIST shapes {images.shape} and {labels.shape}")
    labels = labels.astype(np.int64)
    labels.flags.writeable = False
    return images, labels


def _fetch_into(name: str, folder: Path, allow: bool) -> Path:
    """The registered file ``name`` under ``folder``, downloaded when missing and ``allow``."""
    try:
        return _download_file(name, folder, download=allow, group=_NAMES)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"MNIST file {e}") from None


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
        held.append(idx[: round(holdout * len(idx))])
    mask = np.zeros(len(labels), dtype=bool)
    if held:
        mask[np.concatenate(held)] = True
    return np.flatnonzero(~mask).astype(np.int64), np.flatnonzero(mask).astype(np.int64)
