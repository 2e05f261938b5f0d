"""Data the course reads: the MNIST test split, photos as colour clouds, and the pairs of the
Wasserstein-2 benchmark.

Every file the package downloads is listed in :data:`REGISTRY` (name -> URLs, hash algorithm,
digest) and checked against its hash before it is renamed into place. Offline, the loaders read
the folder named by the environment variable ``MGN_DATA`` and say exactly which files they need,
where to get them and where to put them. Each loader records the name and digest of every file
it read (:func:`mgn_utils.course.env.provenance`).
"""

from .._lazy import attach as _attach

__getattr__, __dir__, __all__ = _attach(
    __name__,
    {
        "MNIST_MIRRORS": "._mnist:MNIST_MIRRORS",
        "PHOTOS": "._photos:PHOTOS",
        "REGISTRY": "._download:REGISTRY",
        "W2BenchPair": "._w2bench:W2BenchPair",
        "colors_to_image": "._photos:colors_to_image",
        "data_root": "._download:data_root",
        "download": "._download:download",
        "fetch": "._download:fetch",
        "fetch_file": "._download:fetch_file",
        "file_hash": "._download:file_hash",
        "image_to_colors": "._photos:image_to_colors",
        "load_mnist": "._mnist:load_mnist",
        "load_pair": "._w2bench:load_pair",
        "load_photo": "._photos:load_photo",
        "mnist_split": "._mnist:mnist_split",
        "w2bench": "._w2bench",
    },
)
