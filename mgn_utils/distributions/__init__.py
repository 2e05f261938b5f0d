"""Reference distributions and closed-form Gaussian optimal transport.

Conventions used throughout this module
---------------------------------------
* **Batch-first row vectors.** A batch of ``n`` points in ``R^d`` is a tensor of
  shape ``(n, d)``; ``sample(n)`` returns ``(n, d)`` and ``log_prob(x)`` takes
  ``(n, d)`` and returns ``(n,)``.
* **Dtypes.** Floating-point tensors keep their dtype and device. Other input
  goes through ``torch.as_tensor``: numpy float arrays keep their dtype
  (float64 stays float64), Python float lists become
  ``torch.get_default_dtype()``, and integer input is cast to
  ``torch.get_default_dtype()``. Inputs with different floating dtypes are
  promoted to the common one (``torch.promote_types``) and moved to the device
  of the first one.
* **Cost.** The optimal transport quantities here are for the quadratic cost
  ``c(x, y) = ||x - y||^2`` (the usual 2-Wasserstein distance). With the cost
  ``1/2 ||x - y||^2`` the optimal map is the same (Brenier map) and the optimal
  value is ``W2^2 / 2``.
* **W2 vs W2^2.** :func:`gaussian_w2` returns ``W2`` (the distance, *not*
  squared), like POT's ``ot.gaussian.bures_wasserstein_distance``.
* **Validation.** Bad shapes, non-finite values, non-symmetric or non positive
  definite covariances and weights not summing to one raise ``ValueError``
  with a message naming the expected shape.
"""

from .._lazy import attach as _attach

__getattr__, __dir__, __all__ = _attach(
    __name__,
    {
        "Gaussian": "._gaussian:Gaussian",
        "GaussianMixture": "._gaussian:GaussianMixture",
        "Banana": "._banana:Banana",
        "ImageKDE": "._image_kde:ImageKDE",
        "empirical_gaussian_map": "._gaussian:empirical_gaussian_map",
        "gaussian_ot_map": "._gaussian:gaussian_ot_map",
        "gaussian_w2": "._gaussian:gaussian_w2",
        "sqrtm_psd": "._gaussian:sqrtm_psd",
    },
)
