"""The course's long experiments, registered for :func:`mgn_utils.course.train.train`.

Wasserstein-2 benchmark (chapter 09), for each ``d`` in :data:`W2_DIMS`:

* ``w2bench-semidual-dD``: the chapter's recommended game, the semi-dual with a Newton
  conjugate (:func:`~mgn_utils.solvers.semidual_loss`), a C-MGN started at the Gaussian map
  of the two samples; trained only on the benchmark's samplers. Validation: the semi-dual
  objective on 4,096 held-out samples of each measure (:func:`~mgn_utils.solvers.semidual_value`,
  no true map needed). Diagnostic, recorded and never used to select: L2-UVP on 4,096 fresh
  source samples (``test_l2_uvp``).
* ``w2oracle-ARCH-dD``: the capacity study. The same start, regressed on the *true* map
  (``‖T(x) − T*(x)‖²`` on fresh samples): how close the architecture can get at all (its
  representational floor). Validation: L2-UVP on 4,096 held-out source samples, labelled as
  an oracle criterion (it uses the true map; this experiment exists to measure that floor).

Seeds: the model's start and the sample stream follow ``config["seed"]``; the held-out sets
use their own fixed seeds (``VAL_SEED``, ``TEST_SEED``), the same for every run.
"""

from __future__ import annotations

import torch

from .train import Experiment, register

__all__ = ["W2_DIMS", "W2_STEPS", "ORACLE_ARCHS", "VAL_SEED", "TEST_SEED", "w2_architecture"]

W2_DIMS = (2, 4, 8, 16, 32, 64)
#: the semi-dual runs' total steps per d (the cosine decay spans them), sized for a few tens of
#: minutes on one CPU thread; a GPU run passes ``--steps`` for a longer one
W2_STEPS = {2: 10_000, 4: 15_000, 8: 20_000, 16: 40_000, 32: 25_000, 64: 20_000}
VAL_SEED, TEST_SEED = 7_000_001, 7_000_002
N_HELD_OUT = 4096

#: capacity-study candidates: name -> architecture keys of the configuration
ORACLE_ARCHS = {
    "cmgn-h128-l8": dict(arch="cmgn", hidden=128, layers=8, activation="tanh"),
    "cmgn-h256-l4": dict(arch="cmgn", hidden=256, layers=4, activation="tanh"),
    "cmgn-h512-l8": dict(arch="cmgn", hidden=512, layers=8, activation="tanh"),
    "cmgn-h128-l16": dict(arch="cmgn", hidden=128, layers=16, activation="tanh"),
    "mmgn-h64-k8": dict(arch="mmgn", hidden=64, modules=8),
}


def w2_architecture(config: dict) -> torch.nn.Module:
    """The untrained network a configuration names (``arch`` "cmgn" or "mmgn")."""
    from ..models import CMGN, MMGN

    d = config["d"]
    if config["arch"] == "cmgn":
        return CMGN(
            d,
            hidden=config["hidden"],
            layers=config["layers"],
            activation=config["activation"],
            w_scale=config["w_scale"],
        )
    if config["arch"] == "mmgn":
        return MMGN(d, hidden=config["hidden"], modules=config["modules"])
    raise ValueError(f"arch must be 'cmgn' or 'mmgn', got {config['arch']!r}")


def _pair(d: int, device):
    from ..datasets import load_pair

    return load_pair(d).to(device)


def _gaussian_started(config: dict, pair, device):
    """The architecture, started at the Gaussian map of ``n_init`` samples of each measure,
    and that map's inverse ``y -> x`` (where Newton starts)."""
    from ..solvers import sample_gaussian_map

    gen = torch.Generator(device=device).manual_seed(config["seed"])
    x0 = pair.sample_source(config["n_init"], gen)
    y0 = pair.sample_target(config["n_init"], gen)
    torch.manual_seed(config["seed"])
    model = w2_architecture(config).to(device)
    A, b = sample_gaussian_map(x0, y0)
    model.init_affine(A, b, x0)
    A_inv = torch.linalg.inv(A.double())
    A_inv = ((A_inv + A_inv.T) / 2).float()
    return model, (lambda y: (y - b) @ A_inv)


def _held_out(pair, seed: int, device):
    g = torch.Generator(device=device).manual_seed(seed)
    return pair.sample_source(N_HELD_OUT, g), pair.sample_target(N_HELD_OUT, g)


def _test_l2_uvp(pair, device):
    x_test, _ = _held_out(pair, TEST_SEED, device)
    t_test = pair.true_map(x_test)

    def diagnostics(model):
        from ..metrics import l2_uvp

        with torch.no_grad():
            return {"test_l2_uvp": l2_uvp(model, t_test, x_test, pair.target_var)}

    return diagnostics


def _build_semidual(config: dict, device):
    from ..solvers import semidual_loss, semidual_value
    from .train import Run

    pair = _pair(config["d"], device)
    model, start = _gaussian_started(config, pair, device)
    x_val, y_val = _held_out(pair, VAL_SEED, device)
    y_val_start = start(y_val)
    B = config["batch"]

    def loss_fn(T, gen):
        x, y = pair.sample_source(B, gen), pair.sample_target(B, gen)
        loss, _ = semidual_loss(
            T, x, y, start(y), newton_steps=config["newton_steps"], nodes=config["nodes"]
        )
        return loss

    def validate(T):
        return semidual_value(T, x_val, y_val, y_val_start, newton_steps=8, nodes=8)

    return Run(model, loss_fn, validate, _test_l2_uvp(pair, device))


def _build_oracle(config: dict, device):
    from ..metrics import l2_uvp
    from .train import Run

    pair = _pair(config["d"], device)
    model, _ = _gaussian_started(config, pair, device)
    x_val, _ = _held_out(pair, VAL_SEED, device)
    t_val = pair.true_map(x_val)
    B, var = config["batch"], pair.target_var

    def loss_fn(T, gen):
        x = pair.sample_source(B, gen)
        with torch.no_grad():
            t = pair.true_map(x)
        return ((T(x) - t) ** 2).sum(1).mean() / var

    def validate(T):
        with torch.no_grad():
            return l2_uvp(T, t_val, x_val, var)

    return Run(model, loss_fn, validate, None)


def _cmgn_defaults(d: int) -> dict:
    return dict(
        d=d,
        arch="cmgn",
        hidden=max(128, 2 * d),
        layers=8,
        activation="tanh",
        w_scale=0.1,
        modules=0,
        n_init=16384,
    )


for _d in W2_DIMS:
    register(
        Experiment(
            name=f"w2bench-semidual-d{_d}",
            description=f"W2 benchmark d={_d}: C-MGN, semi-dual with a Newton conjugate",
            config=dict(
                _cmgn_defaults(_d),
                batch=256,
                newton_steps=3,
                nodes=4,
                lr=1e-2 if _d <= 4 else 3e-3,
                lr_final_factor=0.01,
                steps=W2_STEPS[_d],
                seed=0,
            ),
            build=_build_semidual,
            architecture=w2_architecture,
            validation="semi-dual objective on held-out samples (lower is better)",
            folder="w2bench",
        )
    )
    for _arch, _keys in ORACLE_ARCHS.items():
        register(
            Experiment(
                name=f"w2oracle-{_arch}-d{_d}",
                description=f"W2 benchmark d={_d}: {_arch} regressed on the true map (oracle)",
                config=dict(
                    _cmgn_defaults(_d),
                    **_keys,
                    batch=512,
                    lr=3e-3,
                    lr_final_factor=0.01,
                    steps=50_000,
                    seed=0,
                ),
                build=_build_oracle,
                architecture=w2_architecture,
                validation="oracle: L2-UVP (%) on held-out samples, uses the true map",
                folder="w2oracle",
            )
        )
