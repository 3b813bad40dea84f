from __future__ import annotations

import pytest

from appsec_guard import matrix as matrix_mod
from appsec_guard.matrix import Matrix

# pytest's own fixture for running real pytest sessions (tests of the pytest plugin)
pytest_plugins = ("pytester",)


@pytest.fixture(scope="session")
def matrix() -> Matrix:
    return matrix_mod.load()
