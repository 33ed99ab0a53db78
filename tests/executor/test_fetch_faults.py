"""Faults of the child that feeds a fetch (issue 13, items 1 and 5): a hung
child behind ``runuser`` or a wrapper is stopped as a whole by the stall
watchdog, and a child that fails by itself is reported before what its
short stream looks like."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from coda_restore.errors import CommandFailed
from coda_restore.amanda.config import AmandaConfig, as_amanda_user
from coda_restore.errors import Stalled
from coda_restore.executor.fetch import Watchdog, read_amanda_header, spool
from children import HANGING_WRAPPER, within


def _header(stream):
    return read_amanda_header(stream, "localhost", "u.jan", "20260510010000", 0)


def _spool(argv, dest, timeout=1.0):
    watchdog = Watchdog(timeout)
    try:
        return spool(argv, dest, _header, watchdog, lambda n: None)
    finally:
        watchdog.close()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None, reason="needs root and runuser")
def test_a_hung_fetch_under_runuser_is_stopped_with_its_children_and_says_so(tmp_path):
    argv = as_amanda_user(HANGING_WRAPPER, "backup")  # root runs Amanda's tools this way
    with pytest.raises(Stalled, match=r"amfetchdump moved no data for 1 s \(--stall-timeout\); stopped it"):
        within(20, lambda: _spool(argv, tmp_path / "x.dump"))
    assert list(tmp_path.iterdir()) == []  # no .part left


def test_a_hung_wrapper_script_is_stopped_with_the_child_it_forked(tmp_path):
    wrapper = tmp_path / "amfetchdump"
    wrapper.write_text("#!/bin/sh\nsleep 600 &\nwait\n")
    wrapper.chmod(0o755)
    with pytest.raises(Stalled):
        within(20, lambda: _spool([str(wrapper)], tmp_path / "x.dump"))


@pytest.mark.parametrize("stderr", ["amfetchdump: tape error: Input/output error",
                                    "changer is busy", "label DAILY-07 not found"])
def test_a_fetch_that_fails_by_itself_reports_its_status_and_stderr_first(tmp_path, stderr):
    argv = [sys.executable, "-c", f"import sys; sys.stderr.write({stderr!r}); sys.exit(3)"]
    with pytest.raises(CommandFailed) as err:
        within(20, lambda: _spool(argv, tmp_path / "x.dump", timeout=None))
    assert err.value.status == 3 and stderr in str(err.value)
    assert "no Amanda header" in str(err.value.__cause__)  # what the stream alone says, as the cause


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("amfetchdump") is None, reason="needs root and Amanda")
def test_the_real_amfetchdump_failing_under_runuser_is_reported_as_itself(tmp_path):

    argv = AmandaConfig("codarestore-no-such-config").fetch_argv("localhost", "u.jan", "20260510010000", 0, "backup")
    with pytest.raises(CommandFailed) as err:
        within(60, lambda: _spool(argv, tmp_path / "x.dump", timeout=30))
    assert err.value.status == 1 and "could not open conf file" in str(err.value)
    assert "amfetchdump" in str(err.value) and "no Amanda header" not in str(err.value)
