"""The Wasserstein-2 benchmark of Korotin et al. (NeurIPS 2021): high-dimensional pairs Mix3 -> Q.

A pair ``(P, Q)`` in dimension ``d`` has a known optimal transport map, so a learned map can be
scored against the truth from samples alone:

* ``P`` ("Mix3") is an equal-weight mixture of three Gaussians, rebuilt from NumPy's legacy seed 0;
* ``T*(x) = ∇ψ*(x) = (∇ψ_v1(x) + ∇ψ_v2(x) − m) / s`` where ``ψ_v1, ψ_v2`` are two trained input
  convex neural networks (the checkpoints ``Mix3toMix10/{d}_v1.pt``, ``{d}_v2.pt``) and ``m``, ``s``
  standardise the map; ``ψ*`` is convex, so by Brenier's theorem ``T*`` is the optimal map from
  ``P`` to ``Q := T*♯P`` for the cost ``½‖x − y‖²`` (equally for ``‖x − y‖²``).

Conventions: batch-first row vectors ``(n, d)``, float32 (the benchmark's precision). The
benchmark's "cost" is ``½ E‖x − T*(x)‖² = W2²/2``; the metrics below say which they use.

Data: the two checkpoints of a pair are read from ``{root}/Mix3toMix10/{d}_v1.pt`` and
``{d}_v2.pt``, where ``root`` is the argument, else ``$MGN_DATA/w2bench``, else the user cache
folder; missing ones are downloaded from the benchmark's repository at a pinned commit (URLs in
:data:`mgn_utils.datasets.REGISTRY`) and checked against SHA-256 hashes. The standardisation
``m``, ``s``, the metric constants and the linear baseline ship with the package
(``mgn_utils/datasets/w2bench_reference/``, computed with the original code, so that ``T*`` is
the same everywhere); re-estimating them happens only on request (``constants="estimate"``).

Origin: ``github.com/iamalexkorotin/Wasserstein2Benchmark`` (MIT licence); the loader was written
from a specification of that repository's code, none of which is used here.
"""

from __future__ import annotations

import io
import math
import os
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ._download import _W2BENCH_SHA256, W2BENCH_COMMIT, fetch, file_hash, how_to_get, note_data

__all__ = [
    "CHECKPOINT_SHA256",
    "CONSTANTS_SHA256",
    "PAPER_DIMS",
    "REPOSITORY_COMMIT",
    "SIGMA",
    "STRONG_CONVEXITY",
    "W2BenchPair",
    "load_pair",
    "mixture_parameters",
]

SIGMA = 0.4  # standard deviation scale of each Mix3 component
N_COMPONENTS = 3
STRONG_CONVEXITY = 0.01  # λ of the (λ/2)‖x‖² term added to each ICNN potential by the benchmark
PAPER_DIMS = (2, 4, 8, 16, 32, 64, 128, 256)  # the dimensions of the paper's high-dimensional pairs

REPOSITORY = "iamalexkorotin/Wasserstein2Benchmark"
REPOSITORY_COMMIT = W2BENCH_COMMIT

# SHA-256 of the checkpoints (byte-for-byte copies of the repository's files; the same table is
# the download registry's) and of the constants shipped in ``w2bench_reference/``.
CHECKPOINT_SHA256 = dict(_W2BENCH_SHA256)
CONSTANTS_SHA256 = {
    2: "d8e56cadb37f13b6accd5ac4baa36f95a41c3a8fc6461503033a4535991cd95c",
    4: "5a00d6d18db70cfea1fe37ad7eabfc4b1da2e578f8a74eb3027c1b748ad6c849",
    8: "49219678daa5aba176f0c22e55bf5c1621c711b877534179d2c4e98dbfc0d811",
    16: "10632f8c888e1fa2e51b15badeab5ca717eb039c6cb722a5af73b08e74331478",
    32: "739eee8dc4d646ca1a39cd49b343020e7630257fca763fdb027d823871e7a0f5",
    64: "02ea243cb8d45eab0af31afd2353a667bd84a302129206ea3fe529bb22c19679",
}
_REFERENCE = "w2bench_reference"  # the package folder of the stored constants


# --------------------------------------------------------------------------- files
def _resolve_root(root) -> Path:
    if root is None:
        data = os.environ.get("MGN_DATA") or None
        if data is not None:
            root = Path(data) / "w2bench"
        else:
            import platformdirs

            root = Path(platformdirs.user_cache_dir("mgn_utils")) / "w2bench"
    return Path(root).expanduser().resolve()


def _checkpoint(root: Path, dim: int, version: str, download: bool) -> tuple[Path, str]:
    """Path and SHA-256 of ``{root}/Mix3toMix10/{dim}_{version}.pt``, downloaded when missing."""
    fname = f"{dim}_{version}.pt"
    name = f"w2bench/Mix3toMix10/{fname}"
    path = root / "Mix3toMix10" / fname
    sha = CHECKPOINT_SHA256.get(fname)
    group = [f"w2bench/Mix3toMix10/{dim}_{v}.pt" for v in ("v1", "v2")]
    if sha is None:
        if not path.is_file():
            raise FileNotFoundError(
                f"w2bench checkpoint {fname!r} not found: expected it at {path}. Only the "
                f"dimensions {sorted({int(k.split('_')[0]) for k in CHECKPOINT_SHA256})} can be "
                "downloaded (their SHA-256 hashes are pinned); put the files for other dimensions "
                "there by hand."
            )
        return path, file_hash(path, "sha256")  # unpinned: read as it is, digest recorded
    if not path.is_file():
        if not download:
            raise FileNotFoundError(
                f"w2bench checkpoint {fname!r} not found: expected it at {path} (download=False). "
                + how_to_get(group, path)
            )
        try:
            fetch(name, path, group=group)  # the registry's URLs in order, SHA-256 checked
        except FileNotFoundError as e:
            raise FileNotFoundError(f"w2bench checkpoint {e}") from None
    found = file_hash(path, "sha256")
    if found != sha:
        raise ValueError(
            f"w2bench file {path} is corrupted: expected sha256 {sha}, found {found}. Delete it "
            "and call load_pair again while online to download it again. " + how_to_get(group, path)
        )
    return path, found


def _stored_constants(dim: int) -> tuple[dict, str]:
    """The constants shipped with the package for ``dim``, SHA-256-checked, and their name."""
    fname = f"mix3tomix10_d{dim}_constants.npz"
    expected = CONSTANTS_SHA256.get(dim)
    res = resources.files(__package__).joinpath(_REFERENCE).joinpath(fname)  # 3.9: one arg
    if expected is None or not res.is_file():
        raise ValueError(
            f"no stored constants for dim={dim}: the package ships them for the dimensions "
            f"{sorted(CONSTANTS_SHA256)} only. Pass constants='estimate' to re-estimate m, s, "
            "Var(P), Var(Q) and the linear baseline from 2**14 samples (T* then differs from the "
            "original's by about 0.01 to 0.03 L2-UVP points and the linear baseline by up to about "
            "0.5), or constants=PATH to a constants .npz file with the same keys."
        )
    raw = res.read_bytes()
    return _parse_constants(raw, expected, f"mgn_utils/datasets/{_REFERENCE}/{fname}"), fname


def _parse_constants(raw: bytes, expected: str | None, label: str) -> dict:
    import hashlib

    found = hashlib.sha256(raw).hexdigest()
    if expected is not None and found != expected:
        raise ValueError(
            f"{label} is corrupted: expected sha256 {expected}, found {found}. Reinstall "
            "mgn_utils (the file ships with the package)."
        )
    with np.load(io.BytesIO(raw)) as z:
        constants = {k: z[k] for k in z.files}
    note_data(label, found)
    return constants


# --------------------------------------------------------------------------- P (Mix3)
def mixture_parameters(dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres ``C`` ``(3, d)`` and matrices ``A`` ``(3, d, d)`` of Mix3, float32, from seed 0.

    Draw order (NumPy legacy ``RandomState(0)``): for each coordinate ``j`` a permutation of
    ``(0, 1, 2)`` (``choice(range(3), 3, replace=False)``) gives ``C[:, j]``, then ``−1``; then
    ``A = normal(size=(3, d, d))`` in float32 with unit-norm rows; finally ``C`` and ``A`` are
    divided by ``mult = sqrt(mean_k ‖C_k‖² + d σ²) / sqrt(d)`` so that ``E‖x‖² = d``.
    """
    rng = np.random.RandomState(0)
    centers = np.zeros((N_COMPONENTS, dim), dtype=np.float32)
    for j in range(dim):
        centers[:, j] = rng.choice(range(N_COMPONENTS), N_COMPONENTS, replace=False)
    centers -= 1
    maps = rng.normal(size=(N_COMPONENTS, dim, dim)).astype(np.float32)
    maps /= np.linalg.norm(maps, axis=2, keepdims=True)
    mult = np.sqrt((centers**2).sum(axis=1).mean() + dim * SIGMA**2) / np.sqrt(dim)
    centers /= mult
    maps /= mult
    return centers, maps


# --------------------------------------------------------------------------- ψ (DenseICNN)
def _icnn_potential(sd: dict, x: torch.Tensor) -> torch.Tensor:
    """One benchmark potential ψ_v(x), ``(n, d) -> (n,)`` (DenseICNN, rank 1, CELU, λ = 0.01)."""

    def quad(i):
        q = sd[f"quadratic_layers.{i}.quadratic_decomposed"][:, 0, :]  # (d, h)
        return (
            (x @ q) ** 2
            + x @ sd[f"quadratic_layers.{i}.weight"].T
            + sd[f"quadratic_layers.{i}.bias"]
        )

    z = quad(0)  # no activation on the first layer
    z = F.celu(z @ sd["convex_layers.0.weight"].T + quad(1))
    z = F.celu(z @ sd["convex_layers.1.weight"].T + quad(2))
    return (z @ sd["final_layer.weight"].T).squeeze(-1) + 0.5 * STRONG_CONVEXITY * (x**2).sum(-1)


class W2BenchPair:
    """One benchmark pair ``P -> Q`` in dimension ``dim`` (build it with :func:`load_pair`).

    Tensors are float32, on :attr:`device` (the CPU unless moved with :meth:`to`); inputs must
    be on the same device.

    Attributes
    ----------
    dim : int
        The dimension ``d``.
    state_dicts : list of dict
        The two potentials ``ψ_v1``, ``ψ_v2`` (the checkpoints' state dicts).
    centers : Tensor
        Shape ``(3, d)``: the centres ``C_k`` of Mix3's components ``N(C_k, σ² A_k A_kᵀ)``.
    maps : Tensor
        Shape ``(3, d, d)``: their ``A_k``.
    m : Tensor
        Shape ``(d,)``; with ``s`` (float), the standardisation of ``T*``.
    source_var : float
        The metric's ``Var(P)`` (``tr Cov``, ddof 0).
    target_var : float
        The metric's ``Var(Q)``.
    target_mean : Tensor
        Shape ``(d,)``: the metric's ``E[Q]``.
    linear_W : Tensor
        Shape ``(d, d)``; with ``linear_b`` ``(d,)``, the benchmark's linear baseline, the
        Gaussian (Bures) OT map between the moment-matched Gaussians of ``P`` and ``Q``
        (``linear_W_inv``, ``linear_b_inv``: back).
    constants : str
        ``"stored"`` (from the constants file) or ``"estimated"`` (re-estimated).
    """

    _TENSORS = (
        "centers",
        "maps",
        "m",
        "target_mean",
        "linear_W",
        "linear_b",
        "linear_W_inv",
        "linear_b_inv",
    )

    def __init__(self, dim: int, potentials: list[dict], constants: dict, source: str):
        self.dim = dim
        self.state_dicts = potentials  # the two checkpoints, float32 tensors
        self.centers = torch.as_tensor(constants["centers"], dtype=torch.float32)
        self.maps = torch.as_tensor(constants["maps"], dtype=torch.float32)
        self.m = torch.as_tensor(constants["m"], dtype=torch.float32)
        self.s = float(constants["s"])
        self.source_var = float(constants["P_var"])
        self.target_var = float(constants["Q_var"])
        self.target_mean = torch.as_tensor(constants["Q_mean"], dtype=torch.float32)
        self.linear_W = torch.as_tensor(constants["lin_W"], dtype=torch.float32)
        self.linear_b = torch.as_tensor(constants["lin_b"], dtype=torch.float32)
        self.linear_W_inv = torch.as_tensor(constants["lin_W_inv"], dtype=torch.float32)
        self.linear_b_inv = torch.as_tensor(constants["lin_b_inv"], dtype=torch.float32)
        self.constants = source

    @property
    def device(self) -> torch.device:
        """Where the pair's tensors live."""
        return self.centers.device

    def to(self, device) -> W2BenchPair:
        """A copy of the pair with every tensor (potentials included) on ``device``."""
        new = object.__new__(W2BenchPair)
        new.__dict__.update(self.__dict__)
        for name in self._TENSORS:
            setattr(new, name, getattr(self, name).to(device))
        new.state_dicts = [{k: v.to(device) for k, v in sd.items()} for sd in self.state_dicts]
        return new

    def __repr__(self) -> str:
        return (
            f"W2BenchPair(dim={self.dim}, Var(P)={self.source_var:.4g}, "
            f"Var(Q)={self.target_var:.4g}, s={self.s:.6g}, constants={self.constants!r})"
        )

    # ----------------------------------------------------------------- sampling
    def _check_x(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_tensor(x) or x.ndim != 2 or x.shape[1] != self.dim:
            shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
            raise ValueError(
                f"expected x of shape (n, {self.dim}) (batch-first row vectors), got {shape}"
            )
        if x.device.type != self.device.type:
            raise ValueError(
                f"x is on {x.device} but the pair on {self.device}: use pair.to(x.device)"
            )
        return x.to(torch.float32)

    def _mix(self, k: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        x = torch.empty_like(z)
        for j in range(N_COMPONENTS):
            idx = k == j
            x[idx] = SIGMA * (z[idx] @ self.maps[j].T) + self.centers[j]
        return x

    def sample_source(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples of ``P`` ``(n, d)``: ``k ~ U{0,1,2}``, ``z ~ N(0, I)``,
        ``x = σ A_k z + C_k``.

        All random numbers come from ``generator`` (torch's global one when ``None``), drawn on
        the generator's device; the samples are returned on :attr:`device`.
        """
        n = int(n)
        dev = self.device if generator is None else generator.device
        k = torch.randint(0, N_COMPONENTS, (n,), generator=generator, device=dev).to(self.device)
        z = torch.randn(n, self.dim, generator=generator, device=dev).to(self.device)
        return self._mix(k, z)

    def sample_target(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples of ``Q = T*♯P`` ``(n, d)`` (fresh source samples pushed by ``T*``)."""
        return self.true_map(self.sample_source(n, generator))

    def reference_sample(self, n: int = 4096, seed: int = 2024) -> torch.Tensor:
        """The original code's draw of ``n`` samples after ``np.random.seed(seed)`` and
        ``torch.manual_seed(seed)``: blocks of at most 1024 rows, ``randint`` (NumPy) then ``randn``
        (torch) per block. With the defaults this is the original's 4096-sample evaluation set. It
        uses its own generators and leaves the global ones untouched."""
        rs = np.random.RandomState(seed)
        g = torch.Generator().manual_seed(seed)
        out, left = [], int(n)
        while left > 0:
            b = min(1024, left)
            k = torch.from_numpy(rs.randint(0, N_COMPONENTS, size=b))
            z = torch.randn(b, self.dim, generator=g).to(self.device)
            out.append(self._mix(k.to(self.device), z))
            left -= b
        return torch.cat(out)

    # ----------------------------------------------------------------- the map
    def _psi_sum(self, x: torch.Tensor) -> torch.Tensor:
        return sum(_icnn_potential(sd, x) for sd in self.state_dicts)

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        """The benchmark potential ``ψ*(x) = (ψ_v1(x) + ψ_v2(x) − m·x) / s``: ``(n, d) -> (n,)``."""
        x = self._check_x(x)
        return (self._psi_sum(x) - x @ self.m) / self.s

    def true_map(self, x: torch.Tensor, chunk: int = 65536) -> torch.Tensor:
        """The ground-truth OT map ``T*(x) = (G(x) − m) / s``, ``G = ∇(ψ_v1 + ψ_v2)`` by autograd.

        ``(n, d) -> (n, d)``, float32, detached (no gradient flows back to ``x``). Works under
        ``torch.no_grad()``. Rows are processed ``chunk`` at a time.
        """
        x = self._check_x(x)
        outs = []
        with torch.enable_grad():
            for xc in x.detach().split(chunk):
                xc = xc.clone().requires_grad_(True)
                (g,) = torch.autograd.grad(self._psi_sum(xc).sum(), xc)
                outs.append((g - self.m) / self.s)
        return torch.cat(outs) if outs else x.new_zeros(0, self.dim)

    __call__ = true_map

    def linear_map(self, x: torch.Tensor) -> torch.Tensor:
        """The linear baseline of the benchmark, ``x ↦ x W + b`` (``W`` symmetric), ``(n, d)``."""
        return self._check_x(x) @ self.linear_W + self.linear_b

    def linear_inverse_map(self, x: torch.Tensor) -> torch.Tensor:
        """The linear baseline of the inverse direction ``Q -> P``: ``(n, d) -> (n, d)``."""
        return self._check_x(x) @ self.linear_W_inv + self.linear_b_inv

    # ----------------------------------------------------------------- metrics
    def l2_uvp(self, T_hat, x: torch.Tensor) -> float:
        """``100 · mean ‖T̂(x) − T*(x)‖² / Var(Q)`` over the rows of ``x`` (percent).

        ``T_hat``: a callable ``(n, d) -> (n, d)`` (called under ``torch.no_grad()``) or precomputed
        values ``(n, d)``. ``Var(Q)`` is the stored metric constant :attr:`target_var`.
        """
        from ..metrics import l2_uvp

        x = self._check_x(x)
        return l2_uvp(T_hat, self.true_map(x), x, self.target_var)

    def cosine(self, T_hat, x: torch.Tensor, cost: float | None = None) -> float:
        """Cosine similarity of the displacements ``T̂(x) − x`` and ``T*(x) − x``.

        ``E⟨T*(x) − x, T̂(x) − x⟩ / sqrt(2·cost · E‖T̂(x) − x‖²)`` with
        ``cost = ½ E‖x − T*(x)‖²`` (``= W2²/2``). The original estimates ``cost`` on a separate
        1024-sample draw; by default it is estimated here on ``x`` itself, which keeps the value in
        ``[−1, 1]``. 1 means the displacements point the same way (the lengths do not count).
        """
        x = self._check_x(x)
        if callable(T_hat):
            with torch.no_grad():
                T_hat = T_hat(x)
        y = self.true_map(x)
        if cost is None:
            cost = 0.5 * float(((y - x) ** 2).sum(1).mean())
        num = float(((y - x) * (T_hat - x)).sum(1).mean())
        return num / math.sqrt(2 * cost * float(((T_hat - x) ** 2).sum(1).mean()))


def _estimate_constants(dim: int, sds: list[dict], centers: np.ndarray, maps: np.ndarray) -> dict:
    """Re-estimate ``m``, ``s``, the metric constants and the linear baseline from ``2**14``
    samples each (seeded torch generator), the way the original computes them."""
    from ..distributions import gaussian_ot_map

    pair = W2BenchPair(
        dim,
        sds,
        {
            "centers": centers,
            "maps": maps,
            "m": np.zeros(dim, np.float32),
            "s": 1.0,
            "P_var": 1.0,
            "Q_var": 1.0,
            "Q_mean": np.zeros(dim, np.float32),
            "lin_W": np.eye(dim, dtype=np.float32),
            "lin_b": np.zeros(dim, np.float32),
            "lin_W_inv": np.eye(dim, dtype=np.float32),
            "lin_b_inv": np.zeros(dim, np.float32),
        },
        "estimated",
    )
    g = torch.Generator().manual_seed(0)
    n = 2**14
    X = pair.sample_source(n, g)
    G = pair.true_map(pair.sample_source(n, g))  # m = 0, s = 1: the raw gradient ∇ψ_sum
    m = G.mean(0)
    s = float(G.var(0, unbiased=False).sum().div(dim).sqrt())
    pair.m, pair.s = m, s
    Y = pair.true_map(pair.sample_source(n, g))
    cov = lambda Z: torch.from_numpy(np.cov(Z.double().numpy().T).reshape(dim, dim))
    mp, mq = torch.zeros(dim, dtype=torch.float64), Y.double().mean(0)
    W, b = gaussian_ot_map(mp, cov(X), mq, cov(Y))
    Wi, bi = gaussian_ot_map(mq, cov(Y), mp, cov(X))
    return {
        "centers": centers,
        "maps": maps,
        "m": m.numpy(),
        "s": s,
        "P_var": float(X.var(0, unbiased=False).sum()),
        "Q_var": float(Y.var(0, unbiased=False).sum()),
        "Q_mean": mq.float().numpy(),
        "lin_W": W.float().numpy(),
        "lin_b": b.float().numpy(),
        "lin_W_inv": Wi.float().numpy(),
        "lin_b_inv": bi.float().numpy(),
    }


def load_pair(dim: int, root=None, download: bool = True, constants="stored") -> W2BenchPair:
    """Load the benchmark pair Mix3 -> Q in dimension ``dim``.

    Parameters
    ----------
    dim : int
        The dimension ``d``. Constants ship for 2, 4, 8, 16, 32 and 64 (the paper's pairs up to
        64, whose checkpoints can be downloaded); any other ``d`` needs its checkpoints under
        ``root`` and ``constants="estimate"`` or a constants file.
    root : path-like, optional
        The ``w2bench`` folder, holding ``Mix3toMix10/{d}_v1.pt`` and ``{d}_v2.pt``. Default:
        ``$MGN_DATA/w2bench``, else ``platformdirs.user_cache_dir("mgn_utils")/w2bench``.
    download : bool
        Fetch missing checkpoints from the benchmark repository (commit
        :data:`REPOSITORY_COMMIT`, SHA-256 checked against :data:`CHECKPOINT_SHA256` before
        they are renamed into place).
    constants : {"stored", "estimate"} or path-like
        Where ``m``, ``s``, the metric constants and the linear baseline come from.
        ``"stored"`` (default): the files shipped with the package, SHA-256 checked against
        :data:`CONSTANTS_SHA256`; a dimension without one raises. ``"estimate"``: re-estimated
        from ``2**14`` samples each (``T*`` then differs from the original's by about 0.01 to
        0.03 L2-UVP points, the linear baseline by up to about 0.5). A path: a ``.npz`` file
        with the same keys (checked against :data:`CONSTANTS_SHA256` when ``dim`` is listed).

    Returns
    -------
    W2BenchPair
        With ``constants`` equal to ``"stored"`` or ``"estimated"``.

    Notes
    -----
    Checkpoints are read with ``torch.load(..., weights_only=True)``. Mix3's parameters are
    regenerated from the seed and must equal the stored ones exactly. The name and SHA-256 of
    every file read are recorded for the chapter's execution stamp (:func:`mgn_utils.provenance`).

    Raises
    ------
    FileNotFoundError
        A checkpoint is missing and cannot be downloaded; the message names the files, their
        URLs and the folder they must go into (``$MGN_DATA/w2bench/Mix3toMix10/``).
    ValueError
        A bad ``dim`` or ``constants``, no stored constants for ``dim``, a corrupted file, or
        regenerated parameters that differ from the stored ones.
    """
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be a positive int, got {dim!r}")
    dim = int(dim)
    if isinstance(constants, str) and constants in ("stored", "estimate"):
        stored = _stored_constants(dim)[0] if constants == "stored" else None
    elif isinstance(constants, (str, os.PathLike)):
        cpath = Path(constants).expanduser()
        if not cpath.is_file():
            raise ValueError(
                f"constants must be 'stored', 'estimate' or the path of a constants .npz file; "
                f"{str(cpath)!r} is not a file"
            )
        stored = _parse_constants(cpath.read_bytes(), CONSTANTS_SHA256.get(dim), str(cpath))
    else:
        raise ValueError(f"constants must be 'stored', 'estimate' or a path, got {constants!r}")
    root = _resolve_root(root)
    sds = []
    for v in ("v1", "v2"):
        path, sha = _checkpoint(root, dim, v, download)
        sd = torch.load(path, map_location="cpu", weights_only=True)
        sds.append({k: t.to(torch.float32) for k, t in sd.items()})
        note_data(f"w2bench/Mix3toMix10/{path.name}", sha)
    if sds[0]["quadratic_layers.0.weight"].shape[1] != dim:
        raise ValueError(
            f"{root}/Mix3toMix10/{dim}_v1.pt holds a potential of dimension "
            f"{sds[0]['quadratic_layers.0.weight'].shape[1]}, not {dim}"
        )
    centers, maps = mixture_parameters(dim)
    if stored is None:
        return W2BenchPair(dim, sds, _estimate_constants(dim, sds, centers, maps), "estimated")
    if not (np.array_equal(stored["centers"], centers) and np.array_equal(stored["maps"], maps)):
        raise ValueError(
            f"the Mix3 parameters regenerated from seed 0 differ from the stored ones (d = {dim}); "
            "the NumPy legacy random stream or the float32 scaling has changed"
        )
    return W2BenchPair(dim, sds, stored, "stored")
