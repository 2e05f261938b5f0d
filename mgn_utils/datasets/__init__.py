"""Data the course reads: the MNIST test split, photos as colour clouds, and the pairs of the
Wasserstein-2 benchmark. Every download is checked against a hash; offline, the loaders read
the folder named by ``MGN_DATA`` and say exactly which files they need."""
from . import _w2bench as w2bench
from ._download import data_root, fetch_file, file_hash
from ._mnist import MNIST_MIRRORS, load_mnist, mnist_split
from ._photos import PHOTOS, colors_to_image, image_to_colors, load_photo
from ._w2bench import W2BenchPair, load_pair

__all__ = [
    "data_root", "fetch_file", "file_hash", "MNIST_MIRRORS", "load_mnist", "mnist_split",
    "PHOTOS", "load_photo", "image_to_colors", "colors_to_image", "W2BenchPair", "load_pair",
    "w2bench",
]
