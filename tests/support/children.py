"""Children that hang, and a bound on how long a test waits for one."""

from __future__ import annotations

import threading

HANGING_WRAPPER = ["sh", "-c", "sleep 600 & echo $! >&2; wait"]  # a wrapper whose child hangs


def within(seconds, fn):
    """fn's result or exception, or a failure if it is still running after ``seconds``."""
    box = {}

    def call():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 (handed to the test)
            box["error"] = exc

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still running after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box.get("value")
