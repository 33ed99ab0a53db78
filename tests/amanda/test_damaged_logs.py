"""A log that exists but cannot be read whole (issue 13, item 3): unreadable,
cut mid-line, binary garbage, NULs.  Every answer that depends on it fails
with the file and line: plan (exact and minimal) is not restorable, check
is not ok, --strict sees it; a NUL never becomes part of a host or disk
name.  On the example records, u.ann's chain for 2026-03-08 is the level 0
of 03-06 and the incrementals of 03-06 04:00, 03-07 and 03-08; the 03-07
one is logged in log.20260307010000.0, the log damaged here."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from cli_child import coda_restore
from paths import EXAMPLE

LOG = "log/log.20260307010000.0"


@pytest.fixture
def records(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "ex")
    return tmp_path / "ex"


def _sources(ex):
    return ["--logdir", ex / "log", "--tapelist", ex / "tapelist", "--holding", ex / "holding",
            "--now", "2026-03-09"]


def _damage(ex, how: str) -> int:
    """Damage the log; the line number the answer must cite."""
    path = ex / LOG
    data = path.read_bytes()
    lines = data.split(b"\n")
    if how == "nul":  # a NUL inside the host name of u.ann's 03-07 records
        path.write_bytes(data.replace(b"localhost u.ann 20260307010000", b"local\0host u.ann 20260307010000"))
        return next(i for i, line in enumerate(lines, 1) if b"u.ann 20260307010000" in line)
    if how == "garbage":  # a binary block among other volumes' lines
        lines.insert(50, b"\xff\xfe\x01\x02 garbage \x9c")
        path.write_bytes(b"\n".join(lines))
        return 51
    if how == "cut":  # the last line without its end
        path.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 8])
        return len(data.rstrip(b"\n").split(b"\n"))
    raise AssertionError(how)


def _answers_fail(ex, where: str, no_dac: bool = False):
    for chain in ("exact", "minimal"):
        done = coda_restore("plan", "u.ann", "--date", "2026-03-08", "--chain", chain, *_sources(ex), no_dac=no_dac)
        assert done.returncode == 3, done.stdout + done.stderr
        assert "NOT RESTORABLE: the records cannot prove the chain" in done.stdout
        assert "Traceback" not in done.stderr
        done = coda_restore("plan", "u.ann", "--date", "2026-03-08", "--chain", chain, *_sources(ex), "--json",
                            no_dac=no_dac)
        plan = json.loads(done.stdout)
        assert plan["restorable"] is False and where in plan["reason"], plan["reason"]
    done = coda_restore("check", "u.ann", *_sources(ex), "--json", no_dac=no_dac)
    report = json.loads(done.stdout)
    assert done.returncode != 0 and report["ok"] is False
    assert where in report["volumes"][0]["reason"]
    strict = coda_restore("plan", "u.ann", "--date", "2026-03-08", *_sources(ex), "--strict", no_dac=no_dac)
    assert strict.returncode == 1 and "--strict" in strict.stderr


@pytest.mark.parametrize("how", ["nul", "garbage", "cut"])
def test_a_damaged_log_makes_every_answer_that_depends_on_it_fail_with_file_and_line(records, how):
    line = _damage(records, how)
    _answers_fail(records, f"{records / LOG}:{line}")


@pytest.mark.skipif(shutil.which("setpriv") is None or os.geteuid() != 0, reason="needs root and setpriv")
def test_an_unreadable_log_makes_every_answer_that_depends_on_it_fail(records):
    (records / LOG).chmod(0)
    _answers_fail(records, f"{records / LOG} (cannot be read: Permission denied)", no_dac=True)


def test_a_nul_never_becomes_part_of_a_host_or_disk_name(records):
    _damage(records, "nul")
    done = coda_restore("volumes", *_sources(records)[:2], "--json")
    names = [(v["host"], v["disk"]) for v in json.loads(done.stdout)["volumes"]]
    assert names and not any("\0" in h or "\0" in d for h, d in names)


def test_a_damaged_log_after_the_target_leaves_earlier_answers_alone(records):
    _damage(records, "garbage")
    done = coda_restore("plan", "u.ann", "--date", "2026-03-06 05:00", *_sources(records))
    assert done.returncode == 0 and "RESTORABLE" in done.stdout  # the damage is dated after the target
