"""Tests of mgn_utils.course.env.setup_notebook."""

import dataclasses
import random
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mgn_utils.course.env import NotebookEnv, setup_notebook


@pytest.fixture(autouse=True)
def _no_profile_env(monkeypatch):
    monkeypatch.delenv("MGN_PROFILE", raising=False)
    monkeypatch.delenv("MGN_SEED", raising=False)


def _expected_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    return torch.device("mps" if mps is not None and mps.is_available() else "cpu")


def test_defaults_full_on_the_best_device(capsys):
    env = setup_notebook()
    assert isinstance(env, NotebookEnv)
    assert env.device == _expected_device()
    assert env.profile == "full" and env.seed == 0 and env.is_colab is False
    assert env.torch_version == torch.__version__ and isinstance(env.mgn_utils_version, str)
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith(f"mgn_utils {env.mgn_utils_version} | torch {torch.__version__} |")
    assert f"device {_expected_device()} | profile full | seed 0" in out


def test_quiet_prints_nothing(capsys):
    setup_notebook(quiet=True)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "value, expected", [("smoke", "smoke"), ("full", "full"), (" SMOKE ", "smoke"), ("", "full")]
)
def test_profile_from_env(monkeypatch, value, expected):
    monkeypatch.setenv("MGN_PROFILE", value)
    assert setup_notebook(quiet=True).profile == expected


def test_argument_beats_env(monkeypatch):
    monkeypatch.setenv("MGN_PROFILE", "smoke")
    assert setup_notebook(profile="full", quiet=True).profile == "full"


@pytest.mark.parametrize("where", ["arg", "env"])
def test_bad_profile(monkeypatch, where):
    if where == "env":
        monkeypatch.setenv("MGN_PROFILE", "fast")
    with pytest.raises(ValueError, match="full, smoke") as e:
        setup_notebook(profile="fast" if where == "arg" else None, quiet=True)
    assert "fast" in str(e.value)


def test_pick():
    assert setup_notebook(profile="smoke", quiet=True).pick(smoke=200, full=20_000) == 200
    assert setup_notebook(profile="full", quiet=True).pick(smoke=200, full=20_000) == 20_000
    assert setup_notebook(profile="smoke", quiet=True).pick(1, 2) == 1


def test_frozen():
    env = setup_notebook(quiet=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.profile = "smoke"


def _draw():
    return random.random(), np.random.rand(3).tolist(), torch.randn(3).tolist()


def test_seeding_reproducible():
    setup_notebook(seed=7, quiet=True)
    a = _draw()
    setup_notebook(seed=7, quiet=True)
    b = _draw()
    setup_notebook(seed=8, quiet=True)
    c = _draw()
    assert a == b and a != c


def test_bad_seed():
    with pytest.raises(ValueError):
        setup_notebook(seed=-1, quiet=True)
    with pytest.raises(TypeError):
        setup_notebook(seed=1.5, quiet=True)


def test_matplotlib_defaults_without_pyplot():
    import matplotlib

    setup_notebook(quiet=True)
    assert matplotlib.rcParams["figure.dpi"] == 110
    assert list(matplotlib.rcParams["figure.figsize"]) == [6.0, 4.0]
    assert matplotlib.rcParams["axes.grid"] is False


def test_no_pyplot_import_and_threads_untouched():
    import subprocess

    # setup_notebook itself must not import pyplot (the package __init__ may, elsewhere)
    code = (
        "import sys, torch; n = torch.get_num_threads(); "
        "from mgn_utils.course.env import setup_notebook; had = 'matplotlib.pyplot' in "
        "sys.modules; "
        "setup_notebook(quiet=True); "
        "assert ('matplotlib.pyplot' in sys.modules) == had; assert torch.get_num_threads() == n"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_provenance_reports_where_results_were_computed(monkeypatch):
    from mgn_utils.course import env as env_mod

    monkeypatch.setitem(env_mod._USED, "computed_on", set())
    monkeypatch.setitem(env_mod._USED, "device", "cuda")  # chosen, but nothing ran there
    env_mod.note_device(torch.device("cpu"))
    assert env_mod.provenance()["device"] == "cpu"
    monkeypatch.setitem(env_mod._USED, "device", None)
    monkeypatch.setitem(env_mod._USED, "computed_on", set())
    assert env_mod.provenance()["device"] == "cpu"  # nothing chosen, nothing noted


def test_mgn_seed_shifts_the_seed(monkeypatch, capsys):
    monkeypatch.setenv("MGN_SEED", "3")
    env = setup_notebook(seed=10)
    assert env.seed == 13
    assert "| seed 13" in capsys.readouterr().out
    a = torch.rand(4)
    monkeypatch.delenv("MGN_SEED")
    assert setup_notebook(seed=13, quiet=True).seed == 13
    assert torch.equal(torch.rand(4), a)  # the same global draws as seed 13 without a shift


@pytest.mark.parametrize("bad", ["-1", "two", "1.5"])
def test_bad_mgn_seed(monkeypatch, bad):
    monkeypatch.setenv("MGN_SEED", bad)
    with pytest.raises(ValueError, match="MGN_SEED must be a non-negative integer"):
        setup_notebook(quiet=True)
