"""``MGNTransport``: a monotone gradient network fitted between two samples, in POT's ``ot.da``
convention (``fit(Xs=, Xt=)``, ``transform(Xs=)``), for practitioners.

The map is the gradient of a convex function by construction, so ``transform`` is monotone
(``⟨T(x) − T(x'), x − x'⟩ ≥ 0``) and defined everywhere, not only on the training samples:
unlike a discrete OT plan, it transports new points.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import as_points, check_finite, check_float, check_int
from ..training import fit as _fit

__all__ = ["MGNTransport"]

_MODELS = ("cmgn", "mmgn")
_LOSSES = ("emd", "sinkhorn")


class MGNTransport:
    """Learn the optimal transport map between two samples with a monotone gradient network.

    Parameters
    ----------
    model : {"cmgn", "mmgn"} or torch.nn.Module
        The network: a C-MGN or M-MGN built at ``fit`` time with ``model_kwargs`` (default
        hidden width ``max(32, 2 d)``), or a ready module mapping ``(B, d) -> (B, d)``.
    loss : {"emd", "sinkhorn"}
        ``"emd"`` (default): solve the exact discrete OT problem between the training samples
        (POT's ``ot.emd``, cost ``‖x−y‖²``, at most ``max_emd`` points of each side) and regress
        the network onto its barycentric projection (mean squared error): a monotone, smooth
        fit of the empirical Brenier map. ``"sinkhorn"``: minimise the debiased Sinkhorn
        divergence between minibatches (:func:`mgn_utils.losses.sinkhorn_divergence`, ``eps`` in
        squared data units); samples only, works with samplers.
    steps, batch_size, lr : int, int, float
        Adam steps, minibatch size and learning rate (decayed exponentially to ``lr / 100``).
    gaussian_start : bool
        Start at the Gaussian (Bures) map between the samples (POT's
        ``ot.gaussian.empirical_bures_wasserstein_mapping``) instead of near the identity.
    eps : float
        Entropic regularisation of the ``"sinkhorn"`` loss.
    max_emd : int
        Largest number of points per side given to ``ot.emd`` (a random subset above it).
    device : str or torch.device, optional
        Where to train (default: cuda when available, else cpu).
    seed : int
        Seeds the initialisation, the subsets and the minibatches.
    progress : bool
        Show a progress bar.
    model_kwargs : dict, optional
        Extra arguments of the network's constructor.

    Attributes
    ----------
    model_ : torch.nn.Module
        The fitted network (float32, on ``device``).
    losses_ : list of float
        The training loss at every step.

    Examples
    --------
    >>> import numpy as np, mgn_utils
    >>> xs, xt = np.random.randn(500, 2), np.random.randn(500, 2) * 2 + 1
    >>> ot_map = mgn_utils.MGNTransport(steps=200, progress=False).fit(Xs=xs, Xt=xt)
    >>> ot_map.transform(Xs=xs[:3]).shape
    (3, 2)

    Chapter 00 ("Quick start") uses it; chapter 06 applies it to colour transfer.
    """

    def __init__(
        self,
        model="cmgn",
        loss: str = "emd",
        *,
        steps: int = 2000,
        batch_size: int = 512,
        lr: float = 1e-2,
        gaussian_start: bool = True,
        eps: float = 0.05,
        max_emd: int = 5000,
        device=None,
        seed: int = 0,
        progress: bool = True,
        model_kwargs: dict | None = None,
    ):
        if isinstance(model, str) and model not in _MODELS:
            raise ValueError(f"model must be one of {_MODELS} or a torch.nn.Module, got {model!r}")
        if not isinstance(model, (str, torch.nn.Module)):
            raise TypeError(f"model must be one of {_MODELS} or a torch.nn.Module")
        if loss not in _LOSSES:
            raise ValueError(f"loss must be one of {_LOSSES}, got {loss!r}")
        self.model, self.loss = model, loss
        self.steps = check_int(steps, "steps", minimum=0)
        self.batch_size = check_int(batch_size, "batch_size", minimum=2)
        self.lr = check_float(lr, "lr", positive=True)
        self.eps = check_float(eps, "eps", positive=True)
        self.max_emd = check_int(max_emd, "max_emd", minimum=2)
        self.gaussian_start, self.seed, self.progress = bool(gaussian_start), int(seed), progress
        self.model_kwargs = dict(model_kwargs or {})
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)

    # ------------------------------------------------------------------ conversions
    def _tensor(self, X, name, dim=None):
        x = as_points(X, name, dim)
        check_finite(x, name)
        return x.to(device=self.device, dtype=torch.float32)

    @staticmethod
    def _like(out: torch.Tensor, X):
        """numpy in → numpy out (input's float dtype), torch in → torch out (input's device)."""
        if torch.is_tensor(X):
            return out.to(device=X.device, dtype=X.dtype if X.is_floating_point() else out.dtype)
        arr = out.detach().cpu().numpy()
        dtype = np.asarray(X).dtype
        return arr.astype(dtype if np.issubdtype(dtype, np.floating) else np.float64)

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise RuntimeError("call fit(Xs=..., Xt=...) before transform/potential/jacobian")

    # ------------------------------------------------------------------ fitting
    def _build(self, xs, xt):
        from ..models import CMGN, MMGN

        if isinstance(self.model, torch.nn.Module):
            return self.model.to(self.device)
        d = xs.shape[1]
        cls = CMGN if self.model == "cmgn" else MMGN
        kwargs = {"hidden": max(32, 2 * d), **self.model_kwargs}
        torch.manual_seed(self.seed)
        if self.gaussian_start:
            return cls.gaussian_start(xs, xt, **kwargs).float().to(self.device)
        return cls(d, **kwargs).to(self.device)

    def fit(self, Xs, Xt):
        """Fit the map from the source samples ``Xs`` ``(n, d)`` to the target ``Xt`` ``(m, d)``.

        ``Xs``/``Xt`` are numpy arrays or tensors; with ``loss="sinkhorn"`` they may also be
        samplers ``sample(n, generator) -> (n, d)`` drawing fresh points (streaming); they are
        called with a CPU ``torch.Generator`` and their points are moved to ``device``.

        Returns
        -------
        self
        """
        sampler = callable(Xs) or callable(Xt)
        if sampler and self.loss != "sinkhorn":
            raise ValueError("samplers need loss='sinkhorn' (the 'emd' loss solves a fixed plan)")
        if sampler:
            if not (callable(Xs) and callable(Xt)):
                raise TypeError("give two arrays or two samplers, not one of each")
            gen = torch.Generator().manual_seed(self.seed)
            n0 = max(self.batch_size, 1024)
            xs = self._tensor(Xs(n0, gen), "Xs(n)")
            xt = self._tensor(Xt(n0, gen), "Xt(n)", xs.shape[1])
        else:
            xs = self._tensor(Xs, "Xs")
            xt = self._tensor(Xt, "Xt", xs.shape[1])
            if xs.shape[0] < 2 or xt.shape[0] < 2:
                raise ValueError("Xs and Xt need at least 2 rows each")
        self.dim_ = xs.shape[1]
        model = self._build(xs, xt)
        batch = self.batch_size
        if self.loss == "emd":
            src, tgt = self._emd_pairs(xs, xt)
            n = src.shape[0]

            def loss_fn(m, g):
                i = torch.randint(0, n, (min(batch, n),), generator=g, device=g.device)
                return ((m(src[i]) - tgt[i]) ** 2).sum(1).mean()
        else:
            from ..losses import sinkhorn_divergence

            eps = self.eps

            # samplers get a CPU generator of their own: a sampler of CPU points cannot take
            # the training loop's generator when the model trains on a GPU
            sample_gen = torch.Generator().manual_seed(self.seed + 1)

            def draw(data, k, g):
                if callable(data):
                    return self._tensor(data(k, sample_gen), "sample")
                i = torch.randint(0, data.shape[0], (k,), generator=g, device=g.device)
                return data[i]

            srcs, tgts = (Xs if sampler else xs), (Xt if sampler else xt)

            def loss_fn(m, g):
                return sinkhorn_divergence(m(draw(srcs, batch, g)), draw(tgts, batch, g), eps=eps)

        res = _fit(
            model,
            loss_fn,
            self.steps,
            lr=self.lr,
            lr_final=self.lr / 100,
            seed=self.seed,
            progress=self.progress,
            desc=f"MGNTransport ({self.loss})",
        )
        self.model_, self.losses_ = model.eval(), res.losses
        return self

    def _emd_pairs(self, xs, xt):
        """Source points and the barycentric projection of the exact plan onto the target."""
        import ot

        g = torch.Generator().manual_seed(self.seed)
        if xs.shape[0] > self.max_emd:
            xs = xs[torch.randperm(xs.shape[0], generator=g)[: self.max_emd].to(xs.device)]
        if xt.shape[0] > self.max_emd:
            xt = xt[torch.randperm(xt.shape[0], generator=g)[: self.max_emd].to(xt.device)]
        a, b = xs.detach().double().cpu().numpy(), xt.detach().double().cpu().numpy()
        plan = ot.emd(
            np.full(len(a), 1 / len(a)),
            np.full(len(b), 1 / len(b)),
            ot.dist(a, b),
            numItermax=10**7,
        )
        proj = (plan @ b) / plan.sum(1, keepdims=True)
        return xs, torch.as_tensor(proj, dtype=torch.float32, device=self.device)

    # ------------------------------------------------------------------ using the map
    def transform(self, Xs):
        """``T(Xs)``: ``(n, d) -> (n, d)``, numpy in → numpy out, torch in → torch out."""
        self._check_fitted()
        x = self._tensor(Xs, "Xs", self.dim_)
        with torch.no_grad():
            out = self.model_(x)
        return self._like(out, Xs)

    def potential(self, Xs):
        """The convex potential ``φ`` with ``T = ∇φ`` (up to a constant): ``(n, d) -> (n,)``."""
        self._check_fitted()
        x = self._tensor(Xs, "Xs", self.dim_)
        with torch.no_grad():
            out = self.model_.potential(x)
        return self._like(out, Xs)

    def jacobian(self, Xs):
        """The Jacobian of ``T``, symmetric PSD: ``(n, d) -> (n, d, d)``."""
        self._check_fitted()
        x = self._tensor(Xs, "Xs", self.dim_)
        with torch.no_grad():
            out = self.model_.jacobian(x)
        return self._like(out, Xs)

    def fit_transform(self, Xs, Xt):
        """``fit(Xs, Xt).transform(Xs)``."""
        return self.fit(Xs, Xt).transform(Xs)
