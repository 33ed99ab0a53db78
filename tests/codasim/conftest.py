"""Fixtures of the simulator's own tests: a fresh server on a fake clock
that starts at T0 (1_700_000_000, the T0 these modules assert against)."""

import pytest

from codasim import FakeClock, Server


@pytest.fixture
def clock():
    return FakeClock(1_700_000_000)


@pytest.fixture
def srv(tmp_path, clock):
    return Server(tmp_path / "server", clock=clock)
