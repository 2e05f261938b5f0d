"""``MGNTransport``: a monotone gradient network fitted between two samples, in POT's ``ot.da``
and scikit-learn's conventions (``fit(Xs=, Xt=)``, ``transform(Xs=)``, ``get_params``).

The map is the gradient of a convex function by construction, so ``transform`` is monotone
(``⟨T(x) − T(x'), x − x'⟩ ≥ 0``) and defined everywhere, not only on the training samples:
unlike a discrete OT plan, it transports new points, and it can be inverted
(``inverse_transform``).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning

from .._validation import as_points, check_finite, check_float, check_int
from ._semidual import newton_inverse

__all__ = ["MGNTransport", "StandardizedMap"]

_MODELS = ("cmgn", "mmgn")
_LOSSES = ("emd", "sinkhorn")


def _torch_seed(random_state) -> int:
    """A seed for a local ``torch.Generator`` from an int, None or a numpy Generator."""
    if random_state is None:
        return int(np.random.default_rng().integers(2**62))  # fresh entropy, no global state
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**62))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    raise TypeError(
        f"random_state must be an int, None or a numpy.random.Generator, got {random_state!r}"
    )


def _emd_pairs(xs, xt, chunk, gen):
    """Pairs ``(x_i, ȳ_i)``: each source point and the barycentric projection of the exact
    plan (cost ``‖x−y‖²``, POT's ``ot.emd``) between disjoint random chunks of both sides.

    Both sides are shuffled and cut into ``k = ceil(max(n, m) / chunk)`` chunks; chunk ``j`` of
    the source is matched to chunk ``j`` of the target. Every source point gets one target, so
    the regression sees all ``n`` points instead of one subsample.
    """
    import ot

    n, m = len(xs), len(xt)
    k = -(-max(n, m) // chunk)
    ps, pt = torch.randperm(n, generator=gen), torch.randperm(m, generator=gen)
    a_all, b_all = xs.detach().double().cpu().numpy(), xt.detach().double().cpu().numpy()
    src, tgt = [], []
    for i_s, i_t in zip(np.array_split(ps.numpy(), k), np.array_split(pt.numpy(), k)):
        a, b = a_all[i_s], b_all[i_t]
        plan = ot.emd(ot.unif(len(a)), ot.unif(len(b)), ot.dist(a, b), numItermax=10**7)
        src.append(a)
        tgt.append(plan @ b / plan.sum(1, keepdims=True))
    cast = dict(dtype=xs.dtype, device=xs.device)
    return torch.as_tensor(np.concatenate(src), **cast), torch.as_tensor(
        np.concatenate(tgt), **cast
    )


def _w2_squared(y, z) -> float:
    """Exact-OT ``W2²`` (cost ``‖x−y‖²``, uniform weights) between two point clouds."""
    import ot

    a, b = y.detach().double().cpu().numpy(), z.detach().double().cpu().numpy()
    return float(ot.emd2(ot.unif(len(a)), ot.unif(len(b)), ot.dist(a, b), numItermax=10**7))


class StandardizedMap(torch.nn.Module):
    """``x ↦ s·net((x − μ)/s) + μ``: a network fitted in standardised coordinates, used in data
    coordinates.

    One scalar scale ``s`` (not one per feature) keeps the structure: if ``net = ∇φ̃`` with
    ``φ̃`` convex, this map is ``∇[s² φ̃((x − μ)/s) + ⟨μ, x⟩]`` and its Jacobian is
    ``net``'s Jacobian at ``(x − μ)/s``, still symmetric PSD. The MGNs' initial scales and
    learning rates assume unit-scale inputs; pixel colours in ``[0, 1]`` (spread about 0.3) or
    data in thousands would otherwise leave the network's non-linear part nearly linear or
    saturated.

    Args:
        net: the network in standardised coordinates, ``(B, d) -> (B, d)``.
        mean: ``μ``, shape ``(d,)``.
        scale: ``s > 0``.
    """

    def __init__(self, net: torch.nn.Module, mean: torch.Tensor, scale: float):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.as_tensor(mean).detach().clone())
        self.register_buffer("scale", torch.as_tensor(float(scale), dtype=self.mean.dtype))

    def _u(self, x):
        return (x - self.mean) / self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``T(x)``: ``(B, d) -> (B, d)``."""
        return self.scale * self.net(self._u(x)) + self.mean

    def jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, d) -> (B, d, d)``: the network's Jacobian at the standardised points."""
        return self.net.jacobian(self._u(x))

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        """``φ(x) = s² φ̃((x − μ)/s) + ⟨μ, x⟩`` (up to a constant): ``(B, d) -> (B,)``."""
        return self.scale**2 * self.net.potential(self._u(x)) + x @ self.mean


def _semidual(model, xs, xt, steps: int = 30, rtol: float = 1e-6) -> float:
    """The semi-dual objective ``mean φ(xs) + mean φ*(xt)`` of the map's potential (cost
    ``½‖x−y‖²``; smallest for the Brenier potential, and free of the curse of dimensionality of
    empirical ``W2``). ``φ*(y) = ⟨x*, y⟩ − φ(x*)`` with ``x* = T⁻¹(y)`` by damped Newton steps;
    ``inf`` when Newton leaves a row unsolved (an unsolved conjugate would be a lower bound, so
    the candidate is refused rather than favoured)."""
    with torch.no_grad():
        x, res = newton_inverse(model, xt, xt.clone(), steps=steps)
        if bool((res > rtol * (1 + xt.norm(dim=1))).any()):
            return float("inf")
        conj = (x * xt).sum(1) - model.potential(x)
        return float(model.potential(xs).mean() + conj.mean())


class MGNTransport(BaseEstimator):
    """Learn the optimal transport map between two samples with a monotone gradient network.

    Samples are batch-first ``(n, d)`` rows; the transport cost is ``‖x−y‖²`` (so the criteria
    below are ``W2²``, in squared data units).

    Parameters
    ----------
    model : {"cmgn", "mmgn"} or torch.nn.Module
        The network: a C-MGN or M-MGN built at ``fit`` time with ``model_kwargs`` (defaults:
        C-MGN ``hidden=max(32, 2 d)``, ``activation="tanh"``; M-MGN ``hidden=max(16, d)``,
        ``modules=4``), or a ready module mapping ``(B, d) -> (B, d)`` with a ``jacobian``
        method (needed by ``inverse_transform``). A module passed in is copied, never
        modified; its state is the start (candidate zero). The C-MGN's default is ``tanh``,
        not the class's ``softplus``: its derivative is a bump, so the Jacobian can rise and
        fall across the data; with ``softplus`` (derivative a step) the estimator did not
        move off the linear map on an 8-D pair with a sigmoid-shaped Brenier map
        (``benchmarks/estimator.py``).
    loss : {"emd", "sinkhorn"}
        ``"emd"`` (default): regress the network (mean squared error) onto the barycentric
        projection of the exact discrete OT plan (POT's ``ot.emd``) between the training
        samples, solved on disjoint random chunks of at most ``max_emd`` points per side so
        every training point is used. ``"sinkhorn"``: minimise the debiased Sinkhorn divergence
        between minibatches (:func:`mgn_utils.losses.sinkhorn_divergence`) with the absolute
        ``ε = eps × tr Cov(Xt)`` (``eps`` is relative to the target's total variance).
    steps, batch_size, lr : int, int, float
        Adam steps, minibatch size and learning rate (decayed exponentially to ``lr / 100`` by
        ``torch.optim.lr_scheduler.ExponentialLR``).
    gaussian_start : bool
        Start a built network at the Gaussian (Bures) map between the training samples
        (``CMGN.gaussian_start``) instead of near the identity.
    standardize : bool
        Fit a built network in standardised coordinates ``u = (x − μ)/s`` (``μ`` the mean of
        the training ``Xs``, ``s`` the root mean per-feature variance, one scalar for both
        sides) and return it as a ``StandardizedMap`` in data coordinates. One scalar
        keeps the map the gradient of a convex function; it makes the fit independent of the
        data's units (the networks' initial scales assume unit-scale inputs). A module passed
        in is used as it is.
    eps : float
        Relative entropic regularisation of the ``"sinkhorn"`` loss (see ``loss``).
    max_emd : int
        Largest number of points per side in one ``ot.emd`` solve.
    validation_fraction : float
        Share of each side held out (``0 <= f < 1``) for model selection. The criterion needs
        no true map: the semi-dual objective ``mean φ(Xs_val) + mean φ*(Xt_val)`` of the
        network's potential (cost ``½‖x−y‖²``), with the conjugate ``φ*(y) = ⟨x*, y⟩ − φ(x*)``
        at ``x* = T⁻¹(y)`` by Newton steps; it is smallest for the Brenier potential and its
        error falls as ``1/√n`` in any dimension (a candidate whose conjugate Newton does not
        solve scores ``inf``). A module without ``potential`` and ``jacobian`` is scored by the
        exact-OT ``W2²`` between ``T(Xs_val)`` and ``Xt_val`` (POT's ``ot.emd2``), which is
        biased upwards by sampling noise in high dimension. It is evaluated at the start
        (step 0, candidate zero) and every ``eval_every`` steps; the best state is kept, so a
        fit never ends worse than its start on validation. With ``0``, no selection: the last
        state is kept.
    eval_every : int, optional
        Steps between validation evaluations (default ``max(1, steps // 20)``).
    max_validation : int
        At most this many held-out points per side enter the criterion.
    inverse_tol, inverse_steps : float, int
        ``inverse_transform`` stops when ``‖T(x) − y‖ <= inverse_tol × (1 + ‖y‖)`` for every
        row, after at most ``inverse_steps`` damped Newton steps; otherwise it warns
        (``sklearn.exceptions.ConvergenceWarning``).
    dtype : torch.dtype, optional
        Compute dtype. Default: the dtype of ``Xs`` when it is float32 or float64, else
        float32 (integers, float16).
    device : str or torch.device, optional
        Where to train (default: cuda when available, else cpu).
    random_state : int, numpy.random.Generator or None
        Drives a local ``torch.Generator`` (initialisation, split, chunks, minibatches); the
        global torch and numpy random states are left untouched.
    progress : bool
        Show a progress bar.
    model_kwargs : dict, optional
        Extra arguments of the network's constructor.

    Attributes
    ----------
    model_ : torch.nn.Module
        The fitted map in data coordinates (compute dtype, on ``device``), at its best
        validation state: a ``StandardizedMap`` around the built network
        (``model_.net``) with ``standardize=True``, else the network itself.
    history_ : dict
        ``"step"`` and ``"train_loss"`` (every step, from 1), ``"val_step"`` and
        ``"val_criterion"`` (the validation criterion; step 0 is the start).
    best_step_ : int
        The step whose state ``model_`` holds (0: the start).
    eps_abs_ : float
        The absolute ε used by ``loss="sinkhorn"`` (squared data units), else None.
    n_features_in_ : int
        ``d``.

    Examples
    --------
    >>> import numpy as np, mgn_utils
    >>> rng = np.random.default_rng(0)
    >>> xs, xt = rng.standard_normal((500, 2)), rng.standard_normal((500, 2)) * 2 + 1
    >>> est = mgn_utils.MGNTransport(steps=200, progress=False, random_state=0)
    >>> est.fit(Xs=xs, Xt=xt).transform(Xs=xs[:3]).shape
    (3, 2)

    Chapter 06 applies it to colour transfer.
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
        standardize: bool = True,
        eps: float = 0.01,
        max_emd: int = 2000,
        validation_fraction: float = 0.2,
        eval_every: int | None = None,
        max_validation: int = 1000,
        inverse_tol: float = 1e-6,
        inverse_steps: int = 50,
        dtype=None,
        device=None,
        random_state=0,
        progress: bool = False,
        model_kwargs: dict | None = None,
    ):
        self.model, self.loss, self.steps, self.batch_size, self.lr = (
            model,
            loss,
            steps,
            batch_size,
            lr,
        )
        self.gaussian_start, self.eps, self.max_emd = gaussian_start, eps, max_emd
        self.standardize = standardize
        self.validation_fraction, self.eval_every = validation_fraction, eval_every
        self.max_validation, self.inverse_tol, self.inverse_steps = (
            max_validation,
            inverse_tol,
            inverse_steps,
        )
        self.dtype, self.device, self.random_state = dtype, device, random_state
        self.progress, self.model_kwargs = progress, model_kwargs

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        if isinstance(self.model, str):
            if self.model not in _MODELS:
                raise ValueError(
                    f"model must be one of {_MODELS} or a torch.nn.Module, got {self.model!r}"
                )
        elif not isinstance(self.model, torch.nn.Module):
            raise TypeError(
                f"model must be one of {_MODELS} or a torch.nn.Module, got "
                f"{type(self.model).__name__}"
            )
        if self.loss not in _LOSSES:
            raise ValueError(f"loss must be one of {_LOSSES}, got {self.loss!r}")
        check_int(self.steps, "steps", minimum=0)
        check_int(self.batch_size, "batch_size", minimum=2)
        check_float(self.lr, "lr", positive=True)
        check_float(self.eps, "eps", positive=True)
        check_int(self.max_emd, "max_emd", minimum=2)
        check_int(self.max_validation, "max_validation", minimum=2)
        check_int(self.inverse_steps, "inverse_steps", minimum=1)
        check_float(self.inverse_tol, "inverse_tol", positive=True)
        f = check_float(self.validation_fraction, "validation_fraction", nonnegative=True)
        if f >= 1:
            raise ValueError(f"validation_fraction must be in [0, 1), got {f}")
        if self.eval_every is not None:
            check_int(self.eval_every, "eval_every", minimum=1)
        if self.dtype not in (None, torch.float32, torch.float64):
            raise ValueError(
                f"dtype must be None, torch.float32 or torch.float64, got {self.dtype!r}"
            )
        if self.model_kwargs is not None and not isinstance(self.model_kwargs, dict):
            raise TypeError(f"model_kwargs must be a dict or None, got {type(self.model_kwargs)}")
        _torch_seed(0 if self.random_state is None else self.random_state)

    def _points(self, X, name, dim=None):
        x = as_points(X, name, dim)
        check_finite(x, name)
        return x.to(device=self.device_, dtype=self.dtype_)

    @staticmethod
    def _like(out: torch.Tensor, X):
        """numpy in → numpy out (input's float dtype), torch in → torch out (input's device)."""
        if torch.is_tensor(X):
            dtype = X.dtype if X.is_floating_point() else out.dtype
            return out.to(device=X.device, dtype=dtype)
        arr = out.detach().cpu().numpy()
        dtype = np.asarray(X).dtype
        return arr.astype(dtype if np.issubdtype(dtype, np.floating) else arr.dtype)

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise RuntimeError("call fit(Xs=..., Xt=...) before transform/inverse_transform")

    # ------------------------------------------------------------------ fitting
    def _build(self, xs, xt):
        from ..models import CMGN, MMGN

        if isinstance(self.model, torch.nn.Module):
            return copy.deepcopy(self.model).to(device=self.device_, dtype=self.dtype_)
        d = xs.shape[1]
        if self.model == "cmgn":
            cls, kwargs = CMGN, {"hidden": max(32, 2 * d), "activation": "tanh"}
        else:
            cls, kwargs = MMGN, {"hidden": max(16, d), "modules": 4}
        kwargs.update(self.model_kwargs or {})
        if self.gaussian_start:
            return cls.gaussian_start(xs, xt, **kwargs)
        return cls(d, **kwargs).to(device=self.device_, dtype=self.dtype_)

    def fit(self, Xs, Xt):
        """Fit the map from the source samples ``Xs`` ``(n, d)`` to the target ``Xt`` ``(m, d)``.

        ``Xs`` and ``Xt`` are numpy arrays, lists or tensors with the same ``d`` and at least 2
        rows each (at least 2 training rows after the validation split), finite.

        Returns
        -------
        self
        """
        self._check_params()
        self.device_ = torch.device(self.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        x0 = as_points(Xs, "Xs")
        self.dtype_ = self.dtype or (
            x0.dtype if x0.dtype in (torch.float32, torch.float64) else torch.float32
        )
        xs = self._points(Xs, "Xs")
        xt = self._points(Xt, "Xt", xs.shape[1])
        f = float(self.validation_fraction)
        n_val = [int(f * len(v)) for v in (xs, xt)]
        if min(len(xs) - n_val[0], len(xt) - n_val[1]) < 2:
            raise ValueError(
                f"Xs and Xt need at least 2 training rows each after holding out "
                f"validation_fraction={f}; got {len(xs)} and {len(xt)} rows"
            )
        if f > 0 and min(n_val) < 2:
            raise ValueError(
                f"validation_fraction={f} holds out fewer than 2 rows of Xs ({len(xs)}) or Xt "
                f"({len(xt)}): give more rows or validation_fraction=0"
            )
        gen = torch.Generator().manual_seed(_torch_seed(self.random_state))
        # the networks' constructors draw from torch's global generator: fork it, seed it from
        # the local one, and restore it afterwards
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(2**62, (1,), generator=gen)))
            split = [torch.randperm(len(v), generator=gen).to(v.device) for v in (xs, xt)]
            (xs_val, xs), (xt_val, xt) = (
                (v[p[:k][: self.max_validation]], v[p[k:]])
                for v, p, k in zip((xs, xt), split, n_val)
            )
            if self.standardize and isinstance(self.model, str):
                mean, scale = xs.mean(0), float(xs.var(0).mean().sqrt())
                if not scale > 0:
                    raise ValueError("Xs has zero variance: its training rows are all equal")
                us, ut = (xs - mean) / scale, (xt - mean) / scale
                net = self._build(us, ut)
                mapped = StandardizedMap(net, mean, scale)
            else:
                scale, us, ut = 1.0, xs, xt
                net = mapped = self._build(xs, xt)
        self.n_features_in_ = xs.shape[1]
        self.eps_abs_ = float(self.eps * xt.var(0).sum()) if self.loss == "sinkhorn" else None
        self._train(net, mapped, us, ut, xs_val, xt_val, gen, scale**2)
        return self

    def _train(self, model, mapped, xs, xt, xs_val, xt_val, gen, unit):
        """Train ``model`` on ``xs``, ``xt`` (standardised coordinates when ``mapped`` wraps it);
        select on the raw validation rows through ``mapped``; losses are recorded times
        ``unit`` (squared data units)."""
        batch, steps = int(self.batch_size), int(self.steps)
        if self.loss == "emd":
            src, tgt = _emd_pairs(xs, xt, int(self.max_emd), gen)

            def loss_fn():
                i = torch.randint(0, len(src), (min(batch, len(src)),), generator=gen)
                i = i.to(src.device)
                return ((model(src[i]) - tgt[i]) ** 2).sum(1).mean()
        else:
            from ..losses import sinkhorn_divergence

            eps_abs = self.eps_abs_ / unit  # the same ε in the coordinates trained in

            def draw(data):
                i = torch.randint(0, len(data), (min(batch, len(data)),), generator=gen)
                return data[i.to(data.device)]

            def loss_fn():
                return sinkhorn_divergence(model(draw(xs)), draw(xt), eps=eps_abs)

        validate = len(xs_val) > 0

        semidual = hasattr(model, "potential") and hasattr(model, "jacobian")

        def criterion():
            if semidual:
                return _semidual(mapped, xs_val, xt_val)
            with torch.no_grad():
                return _w2_squared(mapped(xs_val), xt_val)

        every = int(self.eval_every or max(1, steps // 20))
        hist = {"step": [], "train_loss": [], "val_step": [], "val_criterion": []}
        best = (criterion() if validate else float("inf"), 0, copy.deepcopy(model.state_dict()))
        if validate:
            hist["val_step"].append(0)
            hist["val_criterion"].append(best[0])
        opt = torch.optim.Adam(model.parameters(), lr=float(self.lr))
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.01 ** (1 / max(steps, 1)))
        bar = range(1, steps + 1)
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(bar, desc=f"MGNTransport ({self.loss})")
        model.train()
        for step in bar:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn()
            loss.backward()
            opt.step()
            sched.step()
            hist["step"].append(step)
            hist["train_loss"].append(float(loss.detach()) * unit)
            if validate and (step % every == 0 or step == steps):
                val = criterion()
                hist["val_step"].append(step)
                hist["val_criterion"].append(val)
                if val < best[0]:
                    best = (val, step, copy.deepcopy(model.state_dict()))
        if validate:
            model.load_state_dict(best[2])
        self.best_step_ = best[1] if validate else steps
        self.model_, self.history_ = mapped.eval(), hist

    # ------------------------------------------------------------------ using the map
    def _apply(self, method, X):
        self._check_fitted()
        x = self._points(X, "Xs", self.n_features_in_)
        with torch.no_grad():
            return self._like(getattr(self.model_, method)(x), X)

    def transform(self, Xs):
        """``T(Xs)``: ``(n, d) -> (n, d)``; numpy in → numpy out, torch in → torch out, in the
        input's float dtype (computed in the compute dtype)."""
        return self._apply("forward", Xs)

    def potential(self, Xs):
        """The convex potential ``φ`` with ``T = ∇φ`` (up to a constant): ``(n, d) -> (n,)``."""
        return self._apply("potential", Xs)

    def jacobian(self, Xs):
        """The Jacobian of ``T``, symmetric PSD: ``(n, d) -> (n, d, d)``."""
        return self._apply("jacobian", Xs)

    def inverse_transform(self, Xt):
        """``T⁻¹(Xt)``: the points ``x`` with ``T(x) = y`` for each row ``y`` of ``Xt`` ``(m, d)``.

        Solved by damped Newton steps with the network's closed-form Jacobian (symmetric
        positive definite, so the solution is unique), started at ``y``, until
        ``‖T(x) − y‖ <= inverse_tol × (1 + ‖y‖)`` on every row or ``inverse_steps`` steps; a
        ``ConvergenceWarning`` names the rows that did not reach it.
        """
        self._check_fitted()
        y = self._points(Xt, "Xt", self.n_features_in_)
        tol = float(self.inverse_tol) * (1 + y.norm(dim=1))
        x, done = y.clone(), 0
        res = (self.model_(x) - y).norm(dim=1).detach() if len(y) else y[:, 0]
        while done < int(self.inverse_steps) and bool((res > tol).any()):
            k = min(5, int(self.inverse_steps) - done)
            x, res = newton_inverse(self.model_, y, x, steps=k)
            done += k
        bad = int((res > tol).sum())
        if bad:
            warnings.warn(
                f"inverse_transform: {bad} of {len(y)} rows did not reach "
                f"‖T(x) − y‖ <= {self.inverse_tol} (1 + ‖y‖) in {self.inverse_steps} Newton "
                f"steps (largest residual {float(res.max()):.3g})",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self._like(x, Xt)

    def fit_transform(self, Xs, Xt):
        """``fit(Xs, Xt).transform(Xs)``."""
        return self.fit(Xs, Xt).transform(Xs)
