"""Data loaders: the MNIST test split (offline first, download with checksum when online),
and photos as colour clouds (``load_photo``, ``image_to_colors``, ``colors_to_image``, at the end).

Conventions (MNIST): images are ``uint8`` arrays of shape ``(N, 28, 28)`` with values 0..255
(0 = background), labels are ``int64`` of shape ``(N,)`` with values 0..9. Only the official
**test** split (``t10k``, N = 10,000) is loaded: it is the split the course ships offline.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import os
import tempfile
import urllib.request
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


def _resolve_root(root) -> Path:
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


# ------------------------------------------------------------------------------------------
# Photos as colour clouds (chapter "Colour transfer between images").
#
# Conventions: a photo is a float32 numpy array of shape (H, W, 3), RGB, values in [0, 1];
# its colour cloud is a torch tensor of shape (H*W, 3), one row per pixel in row-major
# (C) order, so ``colors_to_image(image_to_colors(img), img.shape)`` gives ``img`` back.
# ------------------------------------------------------------------------------------------

import torch  # noqa: E402  (only the colour-cloud helpers below need it)

__all__ += ["PHOTOS", "load_photo", "image_to_colors", "colors_to_image"]

# name -> (package, how to load it, licence). All ship inside installed wheels: no download.
PHOTOS = {
    "coffee": ("scikit-image", "skimage.data.coffee()", "CC0 (Rachel Michetti)"),
    "astronaut": ("scikit-image", "skimage.data.astronaut()", "public domain (NASA)"),
    "rocket": ("scikit-image", "skimage.data.rocket()", "public domain (SpaceX)"),
    "chelsea": ("scikit-image", "skimage.data.chelsea()", "CC0 (Stefan van der Walt)"),
    "china": ("scikit-learn", 'sklearn.datasets.load_sample_image("china.jpg")',
              "CC BY 2.0 (danielbuechele, Flickr)"),
    "flower": ("scikit-learn", 'sklearn.datasets.load_sample_image("flower.jpg")',
               "CC BY 2.0 (vultilion, Flickr)"),
}


def _photo_array(name: str) -> np.ndarray:
    package = PHOTOS[name][0]
    try:
        if package == "scikit-image":
            import skimage.data as source
        else:
            from sklearn.datasets import load_sample_image
    except ImportError as e:
        raise ImportError(
            f"load_photo({name!r}) needs {package}, which is not installed ({e}). "
            f"Install it with `pip install {package}`, or pass the path of an image file "
            "instead of a name.") from e
    if package == "scikit-image":
        return getattr(source, name)()
    return load_sample_image(f"{name}.jpg")


def _read_image_file(path: Path) -> np.ndarray:
    """Read an image file with Pillow (a dependency of matplotlib), else matplotlib."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - matplotlib requires Pillow
        import matplotlib.image as mpimg
        return mpimg.imread(path)
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def load_photo(name_or_path) -> np.ndarray:
    """Load a photo as a float32 array of shape ``(H, W, 3)`` (RGB), values in ``[0, 1]``.

    ``name_or_path`` is one of the bundled names (:data:`PHOTOS`: ``"coffee"``,
    ``"astronaut"``, ``"rocket"``, ``"chelsea"`` from scikit-image's ``skimage.data``;
    ``"china"``, ``"flower"`` from scikit-learn's ``load_sample_image``; both load offline,
    licences in :data:`PHOTOS`) or the path of an image file (read with Pillow; any mode is
    converted to RGB, an alpha channel is dropped). Neither scikit-image nor scikit-learn is
    a dependency of this package: they are imported only when a name needs them.

    Raises ``ValueError`` for an unknown name (the message lists the names),
    ``FileNotFoundError`` for a path that does not exist, ``ImportError`` (saying what to
    install) when the package that ships a named photo is missing.
    """
    if isinstance(name_or_path, str) and name_or_path in PHOTOS:
        img = _photo_array(name_or_path)
    else:
        path = Path(name_or_path).expanduser()
        looks_like_path = (not isinstance(name_or_path, str) or path.suffix != ""
                           or "/" in name_or_path or "\\" in name_or_path)
        if not looks_like_path:
            raise ValueError(f"unknown photo {name_or_path!r}: use one of "
                             f"{', '.join(sorted(PHOTOS))}, or the path of an image file")
        if not path.is_file():
            raise FileNotFoundError(f"no image file at {path} (bundled names: "
                                    f"{', '.join(sorted(PHOTOS))})")
        img = _read_image_file(path)
    img = np.asarray(img)
    if img.ndim == 2:  # grey levels: repeat into three equal channels
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"expected an image of shape (H, W, 3), got shape {img.shape}")
    img = img[:, :, :3]
    if np.issubdtype(img.dtype, np.integer):
        img = img.astype(np.float32) / float(np.iinfo(img.dtype).max)
    else:
        img = np.clip(img.astype(np.float32), 0.0, 1.0)
    return np.ascontiguousarray(img, dtype=np.float32)


def image_to_colors(img, dtype=None):
    """Colour cloud of an image: ``(H, W, 3)`` array or tensor -> ``(H*W, 3)`` torch tensor.

    One row per pixel, in row-major order (row 0 left to right, then row 1, ...). Numpy
    input keeps its floating dtype (float32 from :func:`load_photo`) unless ``dtype`` is given.
    """
    t = torch.as_tensor(np.asarray(img) if not torch.is_tensor(img) else img)
    if t.ndim != 3 or t.shape[2] != 3:
        raise ValueError(f"expected an image of shape (H, W, 3), got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        raise ValueError(f"expected floating-point colours in [0, 1], got dtype {t.dtype} "
                         "(load photos with load_photo, which scales to [0, 1])")
    t = t.reshape(-1, 3)
    return t.to(dtype) if dtype is not None else t


def colors_to_image(colors, shape, clip: bool = True) -> np.ndarray:
    """Inverse of :func:`image_to_colors`: ``(H*W, 3)`` colours -> float32 ``(H, W, 3)`` array.

    ``shape`` is ``(H, W)`` or ``(H, W, 3)`` (e.g. the source image's ``.shape``). With
    ``clip=True`` (default) values are clipped to ``[0, 1]`` so the result can be shown with
    ``imshow``: a transport map may send colours slightly outside the RGB cube.
    """
    c = colors.detach().cpu().numpy() if torch.is_tensor(colors) else np.asarray(colors)
    H, W = int(shape[0]), int(shape[1])
    if len(shape) == 3 and shape[2] != 3:
        raise ValueError(f"shape must be (H, W) or (H, W, 3), got {tuple(shape)}")
    if c.ndim != 2 or c.shape != (H * W, 3):
        raise ValueError(f"expected colours of shape ({H * W}, 3) for an image of shape "
                         f"({H}, {W}, 3), got {c.shape}")
    img = c.reshape(H, W, 3).astype(np.float32)
    return np.clip(img, 0.0, 1.0) if clip else img
