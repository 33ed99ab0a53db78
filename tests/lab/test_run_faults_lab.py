"""Fault injection for ``coda-restore run`` on the Coda lab (issue 13, the
standing suite): hung, dying and failing amfetchdump (wrappers in front of
the real one, reached through runuser as root runs it) and volutil (wrappers
in front of the lab's), a full --output disk, kill -9 at the fetch and at
the restore, two runs at once.  Each ends in one clear message and the
documented status, leaves no process and no volume it should not."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_runner import run_cli
from paths import REPO
from test_run_lab import _events, _exists, _purge, _restore_args, _run_args, _state_at
from lab.coda_lab import checkout_tool

pytestmark = pytest.mark.lab

REAL_AMFETCHDUMP = shutil.which("amfetchdump") or "/usr/sbin/amfetchdump"
MARK = "6013"  # "sleep 6013": a hanging child this file's wrappers start, and nothing else does


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def _left_behind() -> list[int]:
    """Our hanging children still alive (then killed, each by its pid)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "cmdline").read_bytes().split(b"\0")[:2] == [b"sleep", MARK.encode()]:
                    pids.append(int(d.name))
            except OSError:
                pass
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return pids


@pytest.fixture
def fake_amfetchdump(tmp_path_factory, monkeypatch):
    """Put an amfetchdump wrapper first on PATH; runuser keeps PATH, so
    Amanda's user runs it (its directory must be readable by that user)."""
    bindir = Path(tmp_path_factory.mktemp("bin", numbered=True))
    bindir.chmod(0o755)
    for p in bindir.parents:
        if str(p).startswith("/tmp/pytest-of-"):
            p.chmod(0o755)

    def install(body: str) -> None:
        _script(bindir / "amfetchdump", body)
        monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")

    yield install
    assert _left_behind() == []


AMFETCHDUMP_FAULTS = {
    "hangs before a byte": (f"sleep {MARK}\n", 1, "amfetchdump moved no data for 3 s (--stall-timeout); stopped it"),
    "forks a child that hangs": (f"sleep {MARK} &\nwait\n", 1, "stopped it"),
    "fails: label not found": ("echo 'amfetchdump: label DAILY-07 not found in the changer' >&2\nexit 1\n", 1,
                               "label DAILY-07 not found"),
    "dies mid-stream": (f"{REAL_AMFETCHDUMP} \"$@\" | head -c 40000\n"
                        "echo 'amfetchdump: tape read error: Input/output error' >&2\nexit 2\n", 1,
                        "tape read error"),
}


@pytest.mark.parametrize("fault", sorted(AMFETCHDUMP_FAULTS))
def test_an_amfetchdump_fault_ends_clearly_and_creates_nothing(coda_lab, tmp_path, fake_amfetchdump, fault):
    body, status, said = AMFETCHDUMP_FAULTS[fault]
    fake_amfetchdump(body)
    name = "u.jan.tfetch"
    started = time.monotonic()
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-13", tmp_path / "w", name), "--stall-timeout", "3",
                exit_status=status)
    assert time.monotonic() - started < 60
    assert said in r.stderr and r.stderr.count("coda-restore: error:") == 1, r.stderr
    assert "no Amanda header" not in r.stderr and "truncated" not in r.stderr
    assert not _exists(coda_lab, name)


VOLUTIL_FAULTS = {  # volutil restore -f STAGED: 6, the server did not restore it, the volume named
    "restore never reads": (f"sleep {MARK}\n", 6, "volutil restore moved no data for 3 s"),
    "restore is a wrapper whose child hangs": (f"sleep {MARK} &\nwait\n", 6, "stopped it"),
    "restore dies part way": ("head -c 3000 \"$(eval echo \\${$#})\" >/dev/null 2>&1\n"
                              "echo 'volutil: lost contact with the server' >&2\nexit 1\n",
                              6, "lost contact with the server"),
}


@pytest.mark.parametrize("fault", sorted(VOLUTIL_FAULTS))
def test_a_volutil_restore_fault_ends_clearly_and_names_the_volume(coda_lab, tmp_path, fault):
    body, status, said = VOLUTIL_FAULTS[fault]
    real = checkout_tool(coda_lab.lab.root, tmp_path / "real")
    vu = _script(tmp_path / "volutil", f"case \" $* \" in *\" restore \"*) ;; *) exec {real} \"$@\";; esac\n" + body)
    name = "u.jan.tvfault"
    try:
        r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-13", tmp_path / "w", name), "--volutil", vu,
                    "--stall-timeout", "3", exit_status=status)
    finally:
        left = _left_behind()
    assert left == []
    assert said in r.stderr and "may be half-created" in r.stderr and "purge" in r.stderr, r.stderr
    assert not _exists(coda_lab, name)


def test_a_full_output_disk_names_the_file_and_leaves_nothing(coda_lab, tmp_path, small_disk):
    disk = small_disk(32)  # the merged dump is about 61 KiB
    out = disk / "merged.dump"
    r = run_cli(*_run_args(coda_lab, "u.jan", "2026-05-13", tmp_path / "w", "--output", out), exit_status=1)
    assert f"cannot write {out}: No space left on device" in r.stderr, r.stderr
    assert os.listdir(disk) == []


def _start(args, log: Path):
    return subprocess.Popen([sys.executable, "-m", "coda_restore", *map(str, args), "--log-json", str(log)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(child, log: Path, step: str, finished: bool | None = None, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while not [e for e in _events(log) if e["step"] == step and (finished is None or e["finished"] == finished)]:
        assert child.poll() is None and time.monotonic() < deadline, f"the run ended before {step}"
        time.sleep(0.02)


@pytest.mark.parametrize("stage", ["preflight", "fetch", "merge", "restore", "verify"])
def test_kill_9_at_each_stage_then_the_rerun_resumes_or_names_the_volume(coda_lab, tmp_path, stage):
    name, workdir, log = f"u.jan.tk9{stage[:3]}", tmp_path / "w", tmp_path / "events.jsonl"
    real = checkout_tool(coda_lab.lab.root, tmp_path / "real")
    pids = tmp_path / "volutil.pids"
    # restore and dump back wait a little, so that the kill lands inside them
    slow = _script(tmp_path / "slow" / "volutil",
                   f"echo $$ >> {pids}\ncase \" $* \" in *\" restore \"*|*\" dump \"*) sleep 2;; esac\n"
                   f"exec {real} \"$@\"\n")
    args = _restore_args(coda_lab, "u.jan", "2026-05-13", workdir, name)
    child = _start([*args, "--volutil", slow], log)
    _wait_for(child, log, stage)
    child.kill()
    child.communicate(timeout=60)
    deadline = time.monotonic() + 60  # an orphaned volutil finishes on its own
    while pids.exists() and any(Path(f"/proc/{p}").exists() for p in pids.read_text().split()) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    rerun = run_cli(*args, exit_status=None)
    if rerun.exit_code == 6:  # the server has the volume: named, with the way out
        assert stage in ("restore", "verify"), rerun.stderr
        assert f"volume {name} may be half-created" in rerun.stderr and "purge VOLID" in rerun.stderr
        _purge(coda_lab, name)
        rerun = run_cli(*args)
    assert rerun.exit_code == 0, rerun.stderr
    assert coda_lab.server().state(name) == _state_at(coda_lab, "u.jan", "n10")


def test_two_runs_of_one_volume_at_once_the_second_is_refused(coda_lab, tmp_path):
    workdir, log = tmp_path / "w", tmp_path / "events.jsonl"
    real = checkout_tool(coda_lab.lab.root, tmp_path / "real")
    slow = _script(tmp_path / "volutil", f"case \" $* \" in *\" restore \"*) sleep 3;; esac\nexec {real} \"$@\"\n")
    first = _start([*_restore_args(coda_lab, "u.jan", "2026-05-13", workdir, "u.jan.ttwo"), "--volutil", slow], log)
    try:
        _wait_for(first, log, "start")
        r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-13", workdir, "u.jan.ttwo2"), exit_status=1)
        assert "another coda-restore run holds" in r.stderr
    finally:
        _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err.decode()
    assert not _exists(coda_lab, "u.jan.ttwo2")


def test_a_volutil_printing_bytes_that_are_not_utf8_is_shown_in_the_preflight_not_a_traceback(coda_lab, tmp_path):
    odd = _script(tmp_path / "volutil", "printf 'volutil: \\377\\376 garbled reply\\n' >&2\nprintf '\\377\\n'\nexit 1\n")
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-13", tmp_path / "w", "u.jan.todd"), "--volutil", odd,
                "--dry-run", exit_status=9)
    assert "garbled reply" in r.stdout + r.stderr and "\ufffd" in r.stdout + r.stderr


def test_sigterm_during_the_restore_stops_volutil_too_and_exits_5(coda_lab, tmp_path):
    # every child leads its own process group, so a signal to the run does not reach it by itself
    name, workdir, log = "u.jan.tterm", tmp_path / "w", tmp_path / "events.jsonl"
    real = checkout_tool(coda_lab.lab.root, tmp_path / "real")
    pidfile = tmp_path / "restore.pid"
    slow = _script(tmp_path / "slow" / "volutil",
                   f"case \" $* \" in *\" restore \"*) echo $$ > {pidfile}; sleep {MARK};; esac\nexec {real} \"$@\"\n")
    child = _start([*_restore_args(coda_lab, "u.jan", "2026-05-13", workdir, name), "--volutil", slow], log)
    _wait_for(child, log, "restore")
    deadline = time.monotonic() + 30
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 5, err.decode()
    gone = Path(f"/proc/{pidfile.read_text().strip()}")
    deadline = time.monotonic() + 10  # SIGKILL is delivered, then the orphan is reaped by init
    while gone.exists() and "Z" not in (gone / "stat").read_text().split()[2:3] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _left_behind() == [], err.decode()
