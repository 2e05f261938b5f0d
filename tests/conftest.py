import os
from pathlib import Path

import pytest
import torch

# The offline data sits beside the repository (../shared/data) unless MGN_DATA says otherwise.
os.environ.setdefault("MGN_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))


def _devices() -> list[str]:
    """cpu, plus cuda and mps when present (MGN_TEST_DEVICES=cpu,cuda overrides)."""
    forced = os.environ.get("MGN_TEST_DEVICES")
    if forced:
        return [d.strip() for d in forced.split(",") if d.strip()]
    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


@pytest.fixture(params=_devices())
def device(request) -> str:
    """Each test that takes ``device`` runs once per available device (as POT's backends)."""
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
