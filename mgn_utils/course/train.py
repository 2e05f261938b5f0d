"""Long training out of the notebooks: a registry of experiments and one resumable runner.

An :class:`Experiment` is defined once, here (or in the library code it calls): its default
configuration, how to build the model, the training loss and the validation criterion from a
configuration, and how to build the bare architecture for loading. :func:`train` runs one:

* the loop is :func:`mgn_utils.training.fit` (a ``tqdm`` bar, a cosine learning-rate decay
  from ``torch.optim.lr_scheduler``, resumable from its state file);
* every ``validate_every`` steps the validation criterion is computed on held-out samples
  (lower is better, and it needs no true map), beside any labelled diagnostics (e.g. the test
  L2-UVP of a benchmark), which are recorded but never used to select;
* the best model so far by validation is kept (keep-best), and every ``checkpoint_every``
  steps it is published as ``NAME.pt`` with a manifest entry
  (:func:`~mgn_utils.course.checkpoints.save_checkpoint`): configuration, package and commit
  hashes, seed, device, torch version, steps done, wall time, and the curves;
* ``resume=True`` continues a stopped run from its last state (model, optimiser, scheduler,
  random generator, curves, best model and wall time so far); the result is that of an
  uninterrupted run.

Files, under ``checkpoint_root()/FOLDER``: ``NAME.pt`` and ``MANIFEST.json`` (what a chapter
loads), and ``runs/NAME.state.pt`` and ``runs/NAME.run.json`` (what a resumed run needs).
``NAME`` is the experiment's name with ``-sSEED``.

From the shell: ``python scripts/train.py EXPERIMENT [--device cuda] [--steps N] [--resume]``;
``python scripts/train.py --list`` lists the registry.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

__all__ = [
    "Experiment",
    "Run",
    "EXPERIMENTS",
    "experiment",
    "load_run",
    "package_hash",
    "register",
    "run_name",
    "train",
]


@dataclass
class Run:
    """What :attr:`Experiment.build` returns for one configuration.

    Attributes
    ----------
    model : nn.Module
        The model to train, at its start (e.g. the Gaussian map), on the run's device.
    loss_fn : callable
        ``loss_fn(model, generator) -> scalar tensor``; all random numbers from ``generator``.
    validate : callable
        ``validate(model) -> float`` on held-out samples, lower is better; selects the kept
        model, so it must not use ground truth the method would not have.
    diagnostics : callable, optional
        ``diagnostics(model) -> {name: float}``, recorded beside the validation and never used
        to select (e.g. a benchmark's test error).
    """

    model: nn.Module
    loss_fn: Callable
    validate: Callable
    diagnostics: Callable | None = None


@dataclass(frozen=True)
class Experiment:
    """One long experiment of the course.

    Attributes
    ----------
    name : str
        Registry key; letters, digits and ``-``.
    description : str
        One line, for ``--list``.
    config : dict
        Default configuration (JSON-serialisable); must hold ``steps``, ``seed``, ``lr`` and
        ``lr_final_factor`` (cosine decay to ``lr * lr_final_factor`` over ``steps``).
    build : callable
        ``build(config, device) -> Run``.
    architecture : callable
        ``architecture(config) -> nn.Module``: the untrained model, to load a checkpoint into.
    validation : str
        The validation criterion's name, as recorded in the curves.
    folder : str
        Checkpoint sub-folder.
    """

    name: str
    description: str
    config: dict
    build: Callable
    architecture: Callable
    validation: str = "validation"
    folder: str = "runs"
    tags: tuple = field(default_factory=tuple)


#: the registry: experiment name -> :class:`Experiment` (filled by :func:`register`)
EXPERIMENTS: dict[str, Experiment] = {}


def register(exp: Experiment) -> Experiment:
    """Add ``exp`` to :data:`EXPERIMENTS` (a name may be registered once)."""
    if exp.name in EXPERIMENTS:
        raise ValueError(f"experiment {exp.name!r} is already registered")
    for key in ("steps", "seed", "lr", "lr_final_factor"):
        if key not in exp.config:
            raise ValueError(f"experiment {exp.name!r}: its config needs {key!r}")
    EXPERIMENTS[exp.name] = exp
    return exp


def experiment(name: str) -> Experiment:
    """The registered experiment ``name``; a :class:`KeyError` lists the known names."""
    _load_registry()
    try:
        return EXPERIMENTS[name]
    except KeyError:
        known = ", ".join(sorted(EXPERIMENTS)) or "none"
        raise KeyError(f"no experiment {name!r}; registered: {known}") from None


def _load_registry() -> None:
    from . import experiments  # noqa: F401  (registers the course's experiments)


def run_name(name: str, seed: int) -> str:
    """The checkpoint name of experiment ``name`` with ``seed``: ``NAME-sSEED``."""
    return f"{name}-s{int(seed)}"


def load_run(name: str, seed: int = 0, device=None, *, steps: int | None = None, root=None):
    """The model a finished (or checkpointed) run of experiment ``name`` published.

    Builds the bare architecture from the registered configuration (with ``seed`` and, when
    given, ``steps``), loads ``NAME-sSEED.pt`` from the experiment's folder under ``root``
    (default :func:`~mgn_utils.course.checkpoints.checkpoint_root`; a missing file is fetched
    from the installed commit and its SHA-256 checked, weights only), and returns it in eval
    mode with frozen weights, on ``device`` (default ``cpu``). ``model.manifest`` is its
    manifest entry (configuration, steps done, wall time, curves).

    Raises
    ------
    KeyError
        For an unregistered ``name`` (the message lists the registry).
    mgn_utils.course.checkpoints.CheckpointError
        When no stored checkpoint matches; the message says how to train it.
    """
    from .checkpoints import CheckpointError, load_checkpoint

    exp = experiment(name)
    config = dict(exp.config, seed=int(seed))
    if steps is not None:
        config["steps"] = int(steps)
    model = exp.architecture(config)
    kw = {} if root is None else dict(root=root)
    try:
        entry = load_checkpoint(model, run_name(exp.name, seed), config, folder=exp.folder, **kw)
    except CheckpointError as e:
        raise CheckpointError(
            f"{e}; to train it: python scripts/train.py {exp.name} --resume"
            + ("" if int(seed) == 0 else f" --seed {int(seed)}")
            + ("" if steps is None else f" --steps {int(steps)}")
        ) from None
    model.requires_grad_(False).eval()
    model.manifest = entry
    return model.to(torch.device(device or "cpu"))


def package_hash() -> str:
    """SHA-256 over the ``mgn_utils`` sources (every ``.py`` file, by relative path)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


class _Tracker:
    """Validation, diagnostics, keep-best and the wall clock of one run (a callback)."""

    name = "tracker"

    def __init__(self, run: Run, every: int, state: dict | None):
        self.run, self.every = run, every
        st = state or {}
        self.curves: dict = st.get("curves", {"step": [], "wall_s": [], "validation": []})
        self.best_step = st.get("best_step")
        self.best_value = st.get("best_value", math.inf)
        self.wall_before = float(st.get("wall_s", 0.0))
        self.best_state = None
        self._t0 = time.perf_counter()
        self._eval_s = 0.0

    def wall(self) -> float:
        """Training wall time so far (this and earlier sessions), validation excluded."""
        return self.wall_before + time.perf_counter() - self._t0 - self._eval_s

    def truncate(self, step: int) -> None:
        keep = [i for i, s in enumerate(self.curves["step"]) if s <= step]
        self.curves = {k: [v[i] for i in keep] for k, v in self.curves.items()}

    def record(self, step: int, model: nn.Module) -> None:
        t = time.perf_counter()
        was = model.training
        model.eval()
        with torch.no_grad():
            value = float(self.run.validate(model))
            extra = dict(self.run.diagnostics(model)) if self.run.diagnostics else {}
        model.train(was)
        self._eval_s += time.perf_counter() - t
        if not math.isfinite(value):
            raise FloatingPointError(f"the validation criterion is not finite at step {step}")
        if self.curves["step"] and self.curves["step"][-1] == step:
            return
        self.curves["step"].append(step)
        self.curves["wall_s"].append(round(self.wall(), 2))
        self.curves["validation"].append(value)
        for k, v in extra.items():
            self.curves.setdefault(k, []).append(float(v))
        if value < self.best_value:
            self.best_value, self.best_step = value, step
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def __call__(self, step, model, losses):
        self.record(step, model)

    def start(self, step, model):
        self._t0, self._eval_s = time.perf_counter(), 0.0
        if step == 0:
            self.record(0, model)

    def end(self, step, model):
        self.record(step, model)


class _Budget:
    """Stops the loop once ``hours`` of wall time have passed in this process."""

    name, every = "budget", 1

    def __init__(self, hours: float | None):
        self.deadline = None if hours is None else time.perf_counter() + 3600.0 * hours

    def __call__(self, step, model, losses):
        return self.deadline is not None and time.perf_counter() > self.deadline


def train(
    name: str,
    *,
    steps: int | None = None,
    seed: int | None = None,
    device=None,
    resume: bool = False,
    hours: float | None = None,
    validate_every: int | None = None,
    checkpoint_every: int | None = None,
    root=None,
    progress: bool = True,
    overrides: dict | None = None,
) -> dict:
    """Train experiment ``name`` and publish its best model with a manifest entry.

    Parameters
    ----------
    name : str
        A registered experiment (:data:`EXPERIMENTS`).
    steps, seed : int, optional
        Override the configuration's total steps and seed (part of the configuration, so of
        the checkpoint's identity).
    device : str or torch.device, optional
        Where to train (default ``cpu``).
    resume : bool
        Continue from ``runs/NAME.state.pt`` when it exists (same configuration required).
    hours : float, optional
        Stop after this much wall time in this call (resume later to continue).
    validate_every, checkpoint_every : int, optional
        Steps between validations (default ``steps // 100``) and between published
        checkpoints (default ``10 * validate_every``).
    root : path-like, optional
        The checkpoint folder (default :func:`~mgn_utils.course.checkpoints.checkpoint_root`).
    progress : bool
        Show a ``tqdm`` bar.
    overrides : dict, optional
        Other configuration keys to change.

    Returns
    -------
    dict
        The manifest entry of the published checkpoint (see :func:`_publish`).
    """
    from ..training import Checkpoint, fit
    from .checkpoints import _canonical, _folder, _inside, checkpoint_root

    exp = experiment(name)
    config = dict(exp.config)
    unknown = set(overrides or {}) - set(config)
    if unknown:
        raise ValueError(f"unknown configuration keys for {name!r}: {sorted(unknown)}")
    config.update(overrides or {})
    if steps is not None:
        config["steps"] = int(steps)
    if seed is not None:
        config["seed"] = int(seed)
    config = _canonical(config)
    total = int(config["steps"])
    if total < 1:
        raise ValueError(f"steps must be >= 1, got {total}")
    validate_every = int(validate_every or max(1, total // 100))
    checkpoint_every = int(checkpoint_every or 10 * validate_every)
    device = torch.device(device or "cpu")
    base = _inside(checkpoint_root(root), _folder(exp.folder))
    rname = run_name(name, config["seed"])
    state_path = base / "runs" / f"{rname}.state.pt"
    run_path = base / "runs" / f"{rname}.run.json"

    saved = None
    if resume and state_path.exists() and run_path.exists():
        saved = json.loads(run_path.read_text(encoding="utf-8"))
        if saved.get("config") != config:
            raise ValueError(
                f"cannot resume {rname}: its run was started with another configuration "
                f"({saved.get('config')}); start afresh without --resume or pass that one"
            )
    elif not resume:
        for p in (state_path, run_path):
            p.unlink(missing_ok=True)

    torch.manual_seed(config["seed"])
    run = exp.build(config, device)
    tracker = _Tracker(run, validate_every, saved)
    if saved is not None:
        best = torch.load(base / "runs" / f"{rname}.best.pt", weights_only=True)
        tracker.best_state = best
        step0 = int(torch.load(state_path, weights_only=True, map_location="cpu")["step"])
        tracker.truncate(step0)

    def publish(step):
        return _publish(exp, config, run.model, tracker, step, base, rname, device)

    class _Save(Checkpoint):
        def __call__(self, step, model, losses):
            super().__call__(step, model, losses)
            publish(step)

    saver = _Save(state_path, checkpoint_every)
    budget = _Budget(hours)
    budget.every = validate_every
    lr, factor = float(config["lr"]), float(config["lr_final_factor"])

    def scheduler(opt):
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total, eta_min=lr * factor)

    res = fit(
        run.model,
        run.loss_fn,
        total,
        lr=lr,
        seed=config["seed"],
        scheduler=scheduler,
        device=device,
        callbacks=[tracker, saver, budget],
        resume=saved is not None,
        progress=progress,
        desc=rname,
    )
    del res
    return publish(tracker.curves["step"][-1])


def _publish(exp, config, model, tracker, step, base: Path, rname: str, device) -> dict:
    """Write the kept model as ``NAME.pt`` with its manifest entry, and the run's sidecar."""
    from .checkpoints import save_checkpoint

    best = tracker.best_state if tracker.best_state is not None else model.state_dict()
    (base / "runs").mkdir(parents=True, exist_ok=True)
    tmp = base / "runs" / f"{rname}.best.pt.tmp"
    torch.save({k: v.detach().cpu() for k, v in best.items()}, tmp)
    os.replace(tmp, base / "runs" / f"{rname}.best.pt")
    sidecar = dict(
        config=config,
        curves=tracker.curves,
        best_step=tracker.best_step,
        best_value=tracker.best_value,
        wall_s=round(tracker.wall(), 2),
        step=step,
    )
    tmp = base / "runs" / f"{rname}.run.json.tmp"
    tmp.write_text(json.dumps(sidecar, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, base / "runs" / f"{rname}.run.json")

    kept = copy.deepcopy(model)  # on the training device, so the manifest names it
    kept.load_state_dict(best)
    metrics = dict(
        experiment=exp.name,
        seed=config["seed"],
        steps_done=step,
        steps=config["steps"],
        finished=step >= config["steps"],
        best_step=tracker.best_step,
        validation=exp.validation,
        best_validation=tracker.best_value,
        wall_s=round(tracker.wall(), 2),
        train_device=str(device),
        package_sha256=package_hash(),
        curves=tracker.curves,
    )
    return save_checkpoint(kept, rname, config, metrics, root=base, duration_s=tracker.wall())
