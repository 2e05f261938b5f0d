"""The package's lazy imports: ``import mgn_utils`` loads almost nothing, every public name
still resolves, and the removed legacy names are gone."""

import importlib
import subprocess
import sys

import pytest

PACKAGES = [
    "mgn_utils",
    "mgn_utils.models",
    "mgn_utils.distributions",
    "mgn_utils.datasets",
    "mgn_utils.solvers",
    "mgn_utils.course",
]


def _loaded_after(code: str) -> set:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {m for m in eval(out.strip().splitlines()[-1]) if m.startswith("mgn_utils")}


def test_import_loads_only_the_package():
    assert _loaded_after("import mgn_utils") == {"mgn_utils", "mgn_utils._lazy"}


def test_a_name_loads_only_its_module():
    loaded = _loaded_after("from mgn_utils.models import CMGN")
    assert "mgn_utils.models._mgn" in loaded
    assert not any(m.startswith(("mgn_utils.solvers", "mgn_utils.datasets")) for m in loaded)
    assert "mgn_utils.models._baselines" not in loaded


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves(package):
    mod = importlib.import_module(package)
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name
    assert set(mod.__all__) <= set(dir(mod))


def test_top_level_names_are_the_sub_packages_objects():
    import mgn_utils
    from mgn_utils.models import CMGN
    from mgn_utils.solvers import MGNTransport

    assert mgn_utils.CMGN is CMGN and mgn_utils.MGNTransport is MGNTransport
    assert mgn_utils.datasets.w2bench.__name__ == "mgn_utils.datasets._w2bench"
    # the public benchmark module (pairs and the course's trained maps) is its own module
    assert mgn_utils.w2bench.__name__ == "mgn_utils.w2bench"
    assert mgn_utils.w2bench.load_pair is mgn_utils.datasets.load_pair


@pytest.mark.parametrize(
    "name",
    [
        "data",
        "env",
        "report",
        "checkpoints",
        "morphing",
        "potential",
        "PotentialMLP",
        "setup_notebook",
        "NotebookEnv",
        "provenance",
        "no_such_name",
    ],
)
def test_removed_and_unknown_names_raise(name):
    import mgn_utils

    with pytest.raises(AttributeError, match=f"has no attribute '{name}'"):
        getattr(mgn_utils, name)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"mgn_utils.{name}")


def test_eager_import_surfaces_everything():
    loaded = _loaded_after("import os\nos.environ['MGN_EAGER_IMPORT'] = '1'\nimport mgn_utils")
    assert {"mgn_utils.solvers._transport", "mgn_utils.course.env", "mgn_utils.losses"} <= loaded
