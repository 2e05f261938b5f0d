"""Data the course reads: the MNIST test split, photos as colour clouds, and the pairs of the
Wasserstein-2 benchmark.

Every file the package downloads is listed in :data:`REGISTRY` (name -> URLs, hash algorithm,
digest) and checked against its hash before it is renamed into place. Offline, the loaders read
the folder named by the environment variable ``MGN_DATA`` and say exactly which files they need,
where to get them and where to put them. Each loader records the name and digest of every file
it read (:func:`mgn_utils.provenance`).
"""

from . import _w2bench as w2bench
from ._download import REGISTRY, data_root, download, fetch, fetch_file, file_hash
from ._mnist import MNIST_MIRRORS, load_mnist, mnist_split
from ._photos import PHOTOS, colors_to_image, image_to_colors, load_photo
from ._w2bench import W2BenchPair, load_pair

__all__ = [
    "MNIST_MIRRORS",
    "PHOTOS",
    "REGISTRY",
    "W2BenchPair",
    "colors_to_image",
    "data_root",
    "download",
    "fetch",
    "fetch_file",
    "file_hash",
    "image_to_colors",
    "load_mnist",
    "load_pair",
    "load_photo",
    "mnist_split",
    "w2bench",
]
