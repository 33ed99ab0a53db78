"""Hostile surroundings of the CLI (issue 13, items 7, 8 and 10): a full
stdout, outputs that cannot be written, odd arguments, damaged holding
files and record paths of the wrong kind.  Each ends in one clear message
and a documented status, never a traceback, and leaves nothing half-written.
The installed entry point runs in a child, as an operator runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from coda_restore.errors import EXIT_STATUSES
from cli_child import coda_restore
from paths import EXAMPLE

HOLDING_FILE = "holding/20260308010000/localhost.u.ann.1"
NOW = ("--now", "2026-03-09")


def clear(done, status: int, *needles: str) -> None:
    """One 'coda-restore: error:' line, the documented status, no traceback."""
    assert done.returncode == status, (done.returncode, done.stderr)
    assert status in EXIT_STATUSES
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("coda-restore: error:")]
    assert len(errors) == 1, done.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


@pytest.fixture
def records(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "ex")
    return tmp_path / "ex"


def plan_args(ex: Path, *extra):
    return ["plan", "u.ann", "--date", "2026-03-08", "--logdir", ex / "log", "--tapelist", ex / "tapelist",
            "--holding", ex / "holding", *NOW, *extra]


# -- stdout on a full disk ------------------------------------------------------


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["plan", "--help"], "plan", "plan-json", "volumes"])
def test_stdout_on_a_full_disk_is_one_clear_error(records, args):
    if args == "plan":
        args = plan_args(records)
    elif args == "plan-json":
        args = plan_args(records, "--json")
    elif args == "volumes":
        args = ["volumes", "--logdir", records / "log"]
    with open("/dev/full", "w") as full:
        done = coda_restore(*args, stdout=full)
    clear(done, 1, "cannot write standard output: No space left on device")


# -- plan --output ---------------------------------------------------------------


def test_plan_output_to_a_directory_or_a_missing_one_is_refused_before_reading(records, tmp_path):
    clear(coda_restore(*plan_args(records, "--output", tmp_path)), 1, "is a directory")
    clear(coda_restore(*plan_args(records, "--output", tmp_path / "no" / "p.json")), 1,
          f"directory {tmp_path / 'no'} does not exist")


def test_plan_output_past_ulimit_f_or_on_a_full_device_leaves_nothing_half_written(records, tmp_path):
    out = tmp_path / "plan.json"
    clear(coda_restore(*plan_args(records, "--output", out), limit_fsize=512), 1, f"cannot write {out}: File too large")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ex"]  # no truncated plan, no temporary
    done = coda_restore(*plan_args(records, "--output", out))  # the next plan is not blocked
    assert done.returncode == 0 and out.read_text().startswith("{")
    clear(coda_restore(*plan_args(records, "--output", "/dev/full")), 1, "cannot write /dev/full")


# -- extract --tar of a cut dump -----------------------------------------------


def test_extract_tar_of_a_cut_dump_exits_4_without_exception_noise(tmp_path):
    from voldump_vectors import f1

    cut = tmp_path / "cut.dump"
    cut.write_bytes(f1()[:-40])
    clear(coda_restore("extract", cut, "--tar", "-", stdout=subprocess.DEVNULL), 4, "truncated dump")
    clear(coda_restore("extract", cut, "--tar", tmp_path / "x.tar"), 4, "truncated dump")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.dump"]


# -- odd arguments ---------------------------------------------------------------


@pytest.mark.parametrize("extra,needle", [
    (["--date", "99999999999 days ago"], "before the year 1"),
    (["--date", "999999 weeks ago"], "before the year 1"),
    (["--date", "friday", "--tz", "/etc/passwd"], "unknown time zone '/etc/passwd'"),
    (["--date", "friday", "--tz", "../../../etc/localtime"], "unknown time zone"),
    (["--date", "friday", "--tz", "zone.tab"], "unknown time zone"),
])
def test_odd_dates_and_zones_are_usage_errors(records, extra, needle):
    args = ["plan", "u.ann", "--logdir", records / "log", *NOW, *extra]
    clear(coda_restore(*args), 2, needle)


# -- damaged holding files and record paths of the wrong kind ------------------------


@pytest.mark.parametrize("size,said", [(100, "shorter than its 32768-byte Amanda header"),
                                       (32768, "has a header but no data"),
                                       (0, "the file is empty (0 bytes)")])
def test_a_cut_or_empty_holding_file_is_no_copy_and_is_reported(records, size, said):
    os.truncate(records / HOLDING_FILE, size)
    done = coda_restore(*plan_args(records))
    assert done.returncode == 3, done.stdout + done.stderr  # the chain's last link is gone
    assert "RESTORABLE" in done.stdout and "NOT RESTORABLE" in done.stdout
    assert f"{records / HOLDING_FILE}" in done.stderr and said in done.stderr


@pytest.mark.skipif(shutil.which("setpriv") is None or os.geteuid() != 0, reason="needs root and setpriv")
def test_an_unreadable_holding_run_directory_is_a_warning_not_a_traceback(records):
    run_dir = records / "holding" / "20260308010000"
    run_dir.chmod(0)
    try:
        done = coda_restore(*plan_args(records), no_dac=True)
    finally:
        run_dir.chmod(0o755)
    assert "Traceback" not in done.stderr
    assert f"{run_dir}: cannot list holding run directory: Permission denied" in done.stderr
    assert done.returncode == 3  # its dump is no available copy


def test_record_paths_of_the_wrong_kind_are_named_truly(records, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    clear(coda_restore("volumes", "--logdir", records / "tapelist"), 2, "is not a directory")
    clear(coda_restore("volumes", "--logdir", records / "log", "--tapelist", records / "log"), 2,
          "is a directory, not a file")
    clear(coda_restore("volumes", "--logdir", records / "log", "--tapelist", fifo), 2, "is not a regular file")
    clear(coda_restore("volumes", "--logdir", records / "none"), 2, "does not exist")


def test_extract_to_that_stops_part_way_says_exactly_what_it_wrote(tmp_path):
    from voldump_vectors import f1

    cut = tmp_path / "cut.dump"
    cut.write_bytes(f1()[:-40])  # cut in the last vnode: the others are written first
    out = tmp_path / "out"
    done = coda_restore("extract", cut, "--to", out)
    assert done.returncode == 4 and "truncated dump" in done.stderr and "Traceback" not in done.stderr
    on_disk = {"directories": 0, "files": 0, "symlinks": 0}
    for p in out.rglob("*"):
        on_disk["symlinks" if p.is_symlink() else "directories" if p.is_dir() else "files"] += 1
    said = done.stderr.split("before it stopped: ", 1)[1]
    for kind, n in on_disk.items():
        assert (f"{n} {kind}" in said) == bool(n), (on_disk, said)
    last = said.split("the last was ", 1)[1].split(";")[0]
    assert (out / last).exists() or (out / last).is_symlink()
