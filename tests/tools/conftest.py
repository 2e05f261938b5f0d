"""Fixtures for the tests of tools/ (see nbfixtures.py)."""

import pytest
from nbfixtures import Repo


@pytest.fixture
def repo(tmp_path):
    return Repo(tmp_path / "repo")
