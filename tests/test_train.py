"""The training pipeline: registry, keep-best, resume, manifests, budget; the semi-dual value."""

import json

import pytest
import torch

import mgn_utils.course.train as tr
from mgn_utils import CMGN
from mgn_utils.course.checkpoints import file_hash, load_checkpoint
from mgn_utils.solvers import semidual_value

TARGET = torch.tensor([[2.0, 0.5], [0.5, 1.0]])


def _arch(config):
    torch.manual_seed(config["seed"])
    return torch.nn.Linear(2, 2)


def _build(config, device):
    """A toy experiment: regress a linear map; validation is the error on a fixed set, and a
    diagnostic is recorded beside it."""
    model = _arch(config).to(device)
    x_val = torch.randn(256, 2, generator=torch.Generator().manual_seed(99))

    def loss_fn(m, gen):
        x = torch.randn(64, 2, generator=gen)
        return ((m(x) - x @ TARGET) ** 2).mean()

    def validate(m):
        return float(((m(x_val) - x_val @ TARGET) ** 2).mean()) + config["bump"] * float(
            m.bias.norm()
        )

    return tr.Run(model, loss_fn, validate, lambda m: {"weight_norm": float(m.weight.norm())})


@pytest.fixture
def toy(tmp_path, monkeypatch):
    monkeypatch.delenv("MGN_CHECKPOINTS", raising=False)
    monkeypatch.setattr(tr, "EXPERIMENTS", {})
    monkeypatch.setattr(tr, "_load_registry", lambda: None)
    tr.register(
        tr.Experiment(
            name="toy",
            description="a linear regression",
            config=dict(steps=300, seed=0, lr=0.05, lr_final_factor=0.1, bump=0.0),
            build=_build,
            architecture=_arch,
            folder="toy",
        )
    )
    return tmp_path


def _train(root, **kw):
    kw.setdefault("validate_every", 20)
    kw.setdefault("checkpoint_every", 100)
    return tr.train("toy", root=root, progress=False, **kw)


def test_manifest_entry_has_the_provenance_and_loads(toy):
    entry = _train(toy)
    folder = toy / "toy"
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    assert manifest["toy-s0"] == entry
    assert entry["sha256"] == file_hash(folder / "toy-s0.pt", "sha256")
    m = entry["metrics"]
    assert m["steps_done"] == 300 and m["finished"] and m["seed"] == 0
    assert m["package_sha256"] == tr.package_hash() and len(m["package_sha256"]) == 64
    assert entry["torch"] == torch.__version__ and entry["config"]["steps"] == 300
    curves = m["curves"]
    assert curves["step"] == list(range(0, 301, 20))
    assert len(curves["validation"]) == len(curves["wall_s"]) == len(curves["weight_norm"])
    assert curves["wall_s"] == sorted(curves["wall_s"])
    assert curves["validation"][-1] < 0.1 * curves["validation"][0]  # it trained
    model = _arch(entry["config"])
    load_checkpoint(model, "toy-s0", entry["config"], root=toy, folder="toy", url=None)
    assert m["best_validation"] == pytest.approx(_build(entry["config"], "cpu").validate(model))


def test_keep_best_selects_by_validation_not_the_last_step(toy):
    # the bump makes validation rise once the bias grows: the kept model is the best one seen
    entry = _train(toy, overrides={"bump": 5.0})
    m = entry["metrics"]
    vals = m["curves"]["validation"]
    assert m["best_validation"] == min(vals)
    assert m["best_step"] == m["curves"]["step"][vals.index(min(vals))]


def test_resume_continues_to_the_uninterrupted_result(toy, tmp_path):
    full = _train(tmp_path / "a")
    # a run stopped at once by its wall-time budget, then resumed twice
    stopped = _train(tmp_path / "b", hours=1e-9)
    assert not stopped["metrics"]["finished"] and stopped["metrics"]["steps_done"] < 300
    _train(tmp_path / "b", resume=True, hours=1e-9)
    resumed = _train(tmp_path / "b", resume=True)
    a, b = full["metrics"], resumed["metrics"]
    assert b["finished"] and b["curves"]["step"] == a["curves"]["step"]
    assert b["curves"]["validation"] == pytest.approx(a["curves"]["validation"], rel=1e-6)
    assert resumed["sha256"] == full["sha256"]  # the same weights, byte for byte


def test_resume_refuses_another_configuration(toy):
    _train(toy, hours=1e-9)
    with pytest.raises(ValueError, match="another configuration"):
        _train(toy, resume=True, steps=500)


def test_unknown_names_and_keys(toy):
    with pytest.raises(KeyError, match="registered: toy"):
        tr.train("nope", root=toy)
    with pytest.raises(ValueError, match="unknown configuration keys"):
        _train(toy, overrides={"width": 3})
    with pytest.raises(ValueError, match="already registered"):
        tr.register(tr.EXPERIMENTS["toy"])


def test_semidual_value_is_the_closed_form_at_the_brenier_map():
    # P = N(0, I_2), Q = N(0, 4 I_2): T = 2x, value = ½E|x|² + ½E|y|² - ½W2² = 1 + 4 - 1 = 4
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(20000, 2, generator=g), 2 * torch.randn(20000, 2, generator=g)
    best = CMGN(2, 4, layers=2, w_scale=0.0).init_affine(2 * torch.eye(2), torch.zeros(2), x)
    worse = CMGN(2, 4, layers=2, w_scale=0.0).init_affine(1.5 * torch.eye(2), torch.zeros(2), x)
    v_best = semidual_value(best, x, y, y / 2)
    assert v_best == pytest.approx(4.0, abs=0.1)
    assert semidual_value(worse, x, y, y / 2) > v_best + 0.1


def test_the_course_registry_builds_its_architectures():
    from mgn_utils.course.experiments import W2_DIMS

    exp = tr.experiment("w2bench-semidual-d16")
    assert {f"w2bench-semidual-d{d}" for d in W2_DIMS} <= set(tr.EXPERIMENTS)
    net = exp.architecture(exp.config)
    assert isinstance(net, CMGN) and net.dim == 16


def test_pretrained_map_loads_a_trained_run_and_explains_a_missing_one(tmp_path, monkeypatch):
    from mgn_utils.course.checkpoints import CheckpointError
    from mgn_utils.w2bench import load_pair, pretrained_map

    monkeypatch.delenv("MGN_CHECKPOINTS", raising=False)
    with pytest.raises(ValueError, match="d must be one of"):
        pretrained_map(3, root=tmp_path)
    with pytest.raises(CheckpointError, match="scripts/train.py w2bench-semidual-d2"):
        pretrained_map(2, root=tmp_path, steps=6)
    tr.train("w2bench-semidual-d2", steps=6, root=tmp_path, progress=False, validate_every=3)
    T = pretrained_map(2, root=tmp_path, steps=6)
    pair = load_pair(2)
    x = pair.sample_source(64, torch.Generator().manual_seed(5))
    assert T(x).shape == (64, 2) and not any(p.requires_grad for p in T.parameters())
    assert T.manifest["metrics"]["steps_done"] == 6
    assert pair.l2_uvp(T, x) < 100.0
