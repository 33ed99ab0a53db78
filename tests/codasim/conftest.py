"""Fixtures of the simulator's own tests: a fresh server on a fake clock
that starts at T0 (tests/support/sim_cycles.py)."""

import pytest

from codasim import FakeClock, Server
from sim_cycles import T0


@pytest.fixture
def clock():
    return FakeClock(T0)


@pytest.fixture
def srv(tmp_path, clock):
    return Server(tmp_path / "server", clock=clock)
