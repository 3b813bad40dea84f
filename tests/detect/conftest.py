import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from typing import Iterator

import pytest

from helpers.agent import run_test_agent


@pytest.fixture
def agent_port() -> Iterator[int]:
    """Datadog's test agent on a free loopback port, advertising /v0.7/config."""
    with run_test_agent() as port:
        yield port


@pytest.fixture
def agent_without_rc_port() -> Iterator[int]:
    """The test agent with an /info endpoint list that lacks /v0.7/config."""
    with run_test_agent(endpoints=["/v0.4/traces", "/v0.5/traces", "/telemetry/proxy/"]) as port:
        yield port
