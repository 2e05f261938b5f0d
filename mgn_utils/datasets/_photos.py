"""Photos as colour clouds (chapter "Colour transfer between images")."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

__all__ = ["PHOTOS", "load_photo", "image_to_colors", "colors_to_image"]

# ------------------------------------------------------------------------------------------
# Photos as colour clouds (chapter "Colour transfer between images").
#
# Conventions: a photo is a float32 numpy array of shape (H, W, 3), RGB, values in [0, 1];
# its colour cloud is a torch tensor of shape (H*W, 3), one row per pixel in row-major
# (C) order, so ``colors_to_image(image_to_colors(img), img.shape)`` gives ``img`` back.
# ------------------------------------------------------------------------------------------


# name -> (package, how to load it, licence). All ship inside installed wheels: no download.
PHOTOS = {
    "coffee": ("scikit-image", "skimage.data.coffee()", "CC0 (Rachel Michetti)"),
    "astronaut": ("scikit-image", "skimage.data.astronaut()", "public domain (NASA)"),
    "rocket": ("scikit-image", "skimage.data.rocket()", "public domain (SpaceX)"),
    "chelsea": ("scikit-image", "skimage.data.chelsea()", "CC0 (Stefan van der Walt)"),
    "china": (
        "scikit-learn",
        'sklearn.datasets.load_sample_image("china.jpg")',
        "CC BY 2.0 (danielbuechele, Flickr)",
    ),
    "flower": (
        "scikit-learn",
        'sklearn.datasets.load_sample_image("flower.jpg")',
        "CC BY 2.0 (vultilion, Flickr)",
    ),
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
            "instead of a name."
        ) from e
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
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(
            f"name_or_path must be a photo name ({', '.join(sorted(PHOTOS))}) or a path, "
            f"got {type(name_or_path).__name__}"
        )
    if isinstance(name_or_path, str) and name_or_path in PHOTOS:
        img = _photo_array(name_or_path)
    else:
        path = Path(name_or_path).expanduser()
        looks_like_path = (
            not isinstance(name_or_path, str)
            or path.suffix != ""
            or "/" in name_or_path
            or "\\" in name_or_path
        )
        if not looks_like_path:
            raise ValueError(
                f"unknown photo {name_or_path!r}: use one of "
                f"{', '.join(sorted(PHOTOS))}, or the path of an image file"
            )
        if not path.is_file():
            raise FileNotFoundError(
                f"no image file at {path} (bundled names: {', '.join(sorted(PHOTOS))})"
            )
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
    if not torch.is_tensor(img):
        img = np.asarray(img)
        if img.dtype.kind not in "biuf":
            raise TypeError(
                f"expected an image of shape (H, W, 3) of numbers, got dtype {img.dtype}"
            )
    t = torch.as_tensor(img)
    if t.ndim != 3 or t.shape[2] != 3:
        raise ValueError(f"expected an image of shape (H, W, 3), got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        raise ValueError(
            f"expected floating-point colours in [0, 1], got dtype {t.dtype} "
            "(load photos with load_photo, which scales to [0, 1])"
        )
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
        raise ValueError(
            f"expected colours of shape ({H * W}, 3) for an image of shape "
            f"({H}, {W}, 3), got {c.shape}"
        )
    img = c.reshape(H, W, 3).astype(np.float32)
    return np.clip(img, 0.0, 1.0) if clip else img
