"""Every file the package downloads, in one registry, and the hash-checked download itself.

The idea is d2l's ``DATA_HUB``: :data:`REGISTRY` maps a file's *name* to the URLs it can be
fetched from (tried in order) and the digest it must have. A name is the file's path inside the
data folder (``MGN_DATA``), e.g. ``"MNIST/raw/t10k-images-idx3-ubyte.gz"``, so
``data_root() / name`` is where the file lives. :func:`download` finds or fetches a registered
file there; :func:`fetch` fetches one onto a given path; both check the digest before the file
is renamed into place, so a partial or wrong download never takes the name of a good file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

from ._provenance import note_data  # re-exported: the loaders record what they read

__all__ = [
    "MNIST_MIRRORS",
    "REGISTRY",
    "W2BENCH_MIRRORS",
    "data_root",
    "download",
    "fetch",
    "fetch_file",
    "file_hash",
    "how_to_get",
    "note_data",
]

_TIMEOUT_S = 30.0

# MNIST's test split (the ``.gz`` files of LeCun et al.); the original site answers 403 now.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_MNIST_MD5 = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

# The Wasserstein-2 benchmark's checkpoints (Korotin et al., MIT licence) at a pinned commit.
W2BENCH_REPOSITORY = "iamalexkorotin/Wasserstein2Benchmark"
W2BENCH_COMMIT = "647a1acc85f88e207733d087cbe87987cc0dea06"
W2BENCH_MIRRORS = (
    (
        f"https://raw.githubusercontent.com/{W2BENCH_REPOSITORY}/{W2BENCH_COMMIT}"
        "/benchmarks/Mix3toMix10/"
    ),
    f"https://cdn.jsdelivr.net/gh/{W2BENCH_REPOSITORY}@{W2BENCH_COMMIT}/benchmarks/Mix3toMix10/",
)
_W2BENCH_SHA256 = {
    "2_v1.pt": "12fbf72953af1371002cb4a0b67757bd63b335e923fc5f7d4076fbeb81ee72b5",
    "2_v2.pt": "28d161bf7b352d678fb77f512b51266574da06455d3eabf9173695813efc1716",
    "4_v1.pt": "edbe9ff24297c685d070811930f2d17b63f0fd299cba0f792617798211e1bbc2",
    "4_v2.pt": "ec2a061e00be682b5212cfd9801d6d874768bd8b7ba3c2a80e2dc48d5a473425",
    "8_v1.pt": "0ace0d609d39eac0cbbb0f1e26ca1cd2329a8c48da7122f3118389755ca5be16",
    "8_v2.pt": "f2ef690cf8f9c3c9aed9c15471a64c8dc9da68f5d565b1c091d8f2e7caec5cb5",
    "16_v1.pt": "d50a23710ca3b71a01007cd53c6b578de087c9879e0506866bac9196357e1891",
    "16_v2.pt": "722088932a1a0dbbf9cc1e90a6b9d86df0536f4520caf205b33161c74c0dd574",
    "32_v1.pt": "d843897886c9346c3a0d14c2a0824f5b235ca4cf7932dda77a8c8f5c1a3fc201",
    "32_v2.pt": "34e8fed6bc0c7cfc54fa607b2bfb17118b70a1c135be486f55299299062f767f",
    "64_v1.pt": "ea8778313115151315cdc4a60198fea41e18800295559391c97e9a49b5b8f56c",
    "64_v2.pt": "2bbc6d8e5c7f29a6e188e23ea10b811e1b07b1bd0f355cc8916356eed2e7428b",
}

#: name (path inside the data folder) -> (URLs tried in order, hash algorithm, hex digest)
REGISTRY: dict[str, tuple[list[str], str, str]] = {
    **{
        f"MNIST/raw/{f}": ([m + f for m in MNIST_MIRRORS], "md5", md5)
        for f, md5 in _MNIST_MD5.items()
    },
    **{
        f"w2bench/Mix3toMix10/{f}": ([m + f for m in W2BENCH_MIRRORS], "sha256", sha)
        for f, sha in _W2BENCH_SHA256.items()
    },
}


def data_root(root=None) -> Path:
    """The data folder.

    Parameters
    ----------
    root : path-like, optional
        The folder to use. Default: the environment variable ``MGN_DATA``, else
        ``platformdirs.user_cache_dir("mgn_utils")``.

    Returns
    -------
    pathlib.Path
        The folder, absolute (it need not exist).
    """
    if root is None:
        root = os.environ.get("MGN_DATA") or None
    if root is None:
        import platformdirs

        root = platformdirs.user_cache_dir("mgn_utils")
    return Path(root).expanduser().resolve()


def file_hash(path: Path, algorithm: str = "md5") -> str:
    """Hex digest of a file, read in 1 MiB chunks.

    Parameters
    ----------
    path : path-like
    algorithm : str
        Any :mod:`hashlib` name (``"md5"``, ``"sha256"``, ...).

    Returns
    -------
    str
    """
    if algorithm not in hashlib.algorithms_available:
        raise ValueError(
            f"algorithm must be a hashlib name such as 'md5' or 'sha256', got {algorithm!r}"
        )
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_file(
    url: str,
    path: Path,
    algorithm: str | None = None,
    expected: str | None = None,
    timeout: float = _TIMEOUT_S,
) -> None:
    """Download ``url`` onto ``path`` through a temporary file, checking its digest first.

    The bytes go to a temporary file next to ``path``; when ``expected`` is given, its
    ``algorithm`` digest is compared with it; only then is the file renamed atomically onto
    ``path``.

    Parameters
    ----------
    url : str
    path : pathlib.Path
    algorithm : str, optional
        A :mod:`hashlib` name; needed when ``expected`` is given.
    expected : str, optional
        The hex digest the file must have.
    timeout : float
        Seconds, passed to :func:`urllib.request.urlopen`.

    Raises
    ------
    Exception
        Whatever the download raised (network error, timeout), or ``ValueError`` for a wrong
        digest. The temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
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


def _entry(name: str) -> tuple[list[str], str, str]:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"{name!r} is not a registered download (registered: {', '.join(sorted(REGISTRY))})"
        ) from None


def how_to_get(names, path: Path) -> str:
    """The sentence that tells a user how to get registered files by hand.

    Parameters
    ----------
    names : iterable of str
        Registered names (see :data:`REGISTRY`), all in the same sub-folder.
    path : pathlib.Path
        Where the loader expected the first of them.

    Returns
    -------
    str
        Names the files, their URLs, the folder they must go into (under ``$MGN_DATA`` and the
        one this call looked in), and says that ``MGN_DATA`` selects the data folder.
    """
    names = list(names)
    sub = names[0].rsplit("/", 1)[0] + "/"
    files = "; ".join(f"{n.rsplit('/', 1)[1]} from {' or '.join(_entry(n)[0])}" for n in names)
    return (
        f"To get the files by hand, download {files}, and put the files into $MGN_DATA/{sub} "
        f"(here: {Path(path).parent}{os.sep}). The environment variable MGN_DATA selects the "
        "data folder (unset: the user cache folder); a loader's root=... argument overrides it."
    )


def fetch(name: str, path: Path, timeout: float = _TIMEOUT_S, group=None) -> Path:
    """Download the registered file ``name`` onto ``path``, trying its URLs in order.

    Parameters
    ----------
    name : str
        A key of :data:`REGISTRY`.
    path : pathlib.Path
        Where the file goes.
    timeout : float
        Seconds per URL.
    group : iterable of str, optional
        The registered names to list in the error message (default: ``[name]``).

    Returns
    -------
    pathlib.Path
        ``path``, holding the file with the registered digest.

    Raises
    ------
    FileNotFoundError
        No URL gave the file with the right digest (offline, timeout, wrong content), or the
        folder cannot be created; the message lists every URL's error and how to get the file.
    """
    urls, algorithm, digest = _entry(name)
    path = Path(path)
    fix = how_to_get(group or [name], path)
    what = f"{name.rsplit('/', 1)[1]!r} is missing: expected it at {path}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FileNotFoundError(f"{what}, and the folder cannot be created ({e}). {fix}") from None
    errors = []
    for url in urls:
        try:
            fetch_file(url, path, algorithm, digest, timeout=timeout)
            return path
        except Exception as e:  # noqa: BLE001 (network, timeout, bad content: try the next URL)
            errors.append(f"{url}: {type(e).__name__}: {e}")
    raise FileNotFoundError(f"{what}, and downloading it failed ({'; '.join(errors)}). {fix}")


def download(name: str, folder=None, download: bool = True, group=None) -> Path:
    """The registered file ``name`` inside the data folder, downloaded first when missing.

    Parameters
    ----------
    name : str
        A key of :data:`REGISTRY`; the file is ``data_root(folder) / name``.
    folder : path-like, optional
        The data folder (default: :func:`data_root`).
    download : bool
        Fetch a missing file (:func:`fetch`); when false a missing file raises.
    group : iterable of str, optional
        The registered names to list in the error message (default: ``[name]``).

    Returns
    -------
    pathlib.Path
        The file's path. A file already present is returned as it is: the loader checks its
        digest when it reads it.

    Raises
    ------
    FileNotFoundError
        The file is missing and cannot be downloaded; the message says how to get it.
    """
    _entry(name)
    path = data_root(folder) / name
    if not path.is_file():
        if not download:
            raise FileNotFoundError(
                f"{name.rsplit('/', 1)[1]!r} not found: expected it at {path} (download=False). "
                + how_to_get(group or [name], path)
            )
        fetch(name, path, group=group)
    return path
