import os
from pathlib import Path

import pytest
import torch

# The shared offline data sits beside the repository (../shared/data) unless MGN_DATA says otherwise.
os.environ.setdefault("MGN_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
