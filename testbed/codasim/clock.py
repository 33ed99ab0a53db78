"""Where the simulator's "now" comes from.

The process clock by default, so the lab's libfaketime moves it.  Unit tests
either pass their own clock to ``Server`` or set ``CODASIM_NOW`` (Unix
seconds) for a subprocess.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

Clock = Callable[[], int]


def system_clock() -> int:
    """Unix seconds: CODASIM_NOW when set, else the (possibly faked) process clock."""
    forced = os.environ.get("CODASIM_NOW")
    if forced:
        return int(forced)
    return int(time.time())


class FakeClock:
    """A clock a test moves by hand: ``clock.now = 1700000000; clock.tick(3600)``."""

    def __init__(self, now: int = 1_700_000_000):
        self.now = now

    def __call__(self) -> int:
        return self.now

    def tick(self, seconds: int = 1) -> int:
        self.now += seconds
        return self.now
