"""A whole-server restore on the bulk lab (testbed/lab/bulk_lab.py): real
Amanda's chg-disk changer serving two drives at once, ``run --plan BULK``
restoring every restorable volume exactly, refusing the rest with reasons,
and resuming after a kill -9 without reading again a tape already done."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_runner import run_cli
from lab import builder
from lab.bulk_lab import BulkLab, load_or_build
from lab.coda_lab import CodaLab, at_epoch, checkout_tool

pytestmark = pytest.mark.lab

DESC = BulkLab()
CODA_RESTORE = Path(sys.executable).with_name("coda-restore")


@pytest.fixture(scope="module")
def bulk_lab():
    try:
        builder.check_can_build()
        with builder.session_lock(DESC.spec()) as share:
            lab = load_or_build(DESC, reuse=os.environ.get("CODARESTORE_LAB_REUSE", "") not in ("", "0"),
                                progress=lambda m: print(f"bulk lab: {m}", file=sys.stderr))
            share()
            yield lab
    except builder.LabError as err:
        pytest.fail(f"cannot build the bulk lab: {err}", pytrace=False)


def _purge_restored(lab: CodaLab, day: str) -> None:
    server = lab.server()
    for v in server.volumes():
        if v.name.endswith(f".{day}"):
            server.purge(v.id, v.name)


def _fetch(lab: CodaLab, volume: str, datestamp: str, level: int, stdout) -> subprocess.Popen:
    return subprocess.Popen(["runuser", "-u", "backup", "--", "amfetchdump", "-a", "-p", "--exact-match",
                             lab.config, "localhost", lab.disk(volume), datestamp, str(level)],
                            stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE)


def _stamp(lab: CodaLab, volume: str, day: str, level: int) -> str:
    """The datestamp of ``volume``'s dump of ``day`` (YYYY-MM-DD) at ``level``
    as Amanda lists it: amdump may start a second after the night's hour."""
    found = subprocess.run(["runuser", "-u", "backup", "--", "amadmin", lab.config, "find", "localhost",
                            lab.disk(volume)], capture_output=True, text=True, check=True).stdout
    (stamp,) = {f"{d}{t}".replace("-", "").replace(":", "") for d, t, _, _, lv, *_ in
                (line.split() for line in found.splitlines()[1:] if line.strip())
                if d == day and lv == str(level)}
    return stamp


def _drives_in_use(lab: CodaLab) -> str:
    return (lab.lab.root / "vtapes" / "state").read_text()


def test_the_changer_serves_two_drives_at_once(bulk_lab):
    # the first amfetchdump's image does not fit in a 4 KiB pipe nobody reads:
    # it holds its drive and tape (codarestore-bulk-05) while a second reads another tape
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    first = _fetch(bulk_lab, "u.b01", _stamp(bulk_lab, "u.b01", "2026-06-05", 0), 0, w)
    os.close(w)
    try:
        deadline = time.monotonic() + 60
        while "drive0" not in _drives_in_use(bulk_lab) and time.monotonic() < deadline:
            time.sleep(0.1)
        second = _fetch(bulk_lab, "u.b06", _stamp(bulk_lab, "u.b06", "2026-06-06", 0), 0, subprocess.PIPE)  # codarestore-bulk-01
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
        assert len(out) > 40 * 1024
        assert first.poll() is None, "the first amfetchdump ended before the second read its tape"
        assert b"codarestore-bulk-01" in err
        assert "'slot' => 'slot5'" in _drives_in_use(bulk_lab)  # still held by the first (drive0)
    finally:
        with os.fdopen(r, "rb") as held:
            data = held.read()
        first.wait(timeout=120)
    assert first.returncode == 0 and len(data) > 40 * 1024


def _plan(lab: CodaLab, tmp_path: Path, date: str) -> Path:
    names = tmp_path / "volumes.txt"
    names.write_text("".join(f"{lab.disk(v)}\n" for v in DESC.names()) + "u.nosuch\n")
    out = tmp_path / "bulk.plan"
    run_cli("plan", "--from", names, "--date", date, "--drives", "2", "--staging", tmp_path / "staging",
            "--config", lab.config, "--now", "2026-06-10", "-o", out, exit_status=10)
    return out


def _run_argv(lab: CodaLab, plan: Path, tmp_path: Path) -> list[str]:
    volutil = checkout_tool(lab.lab.root, tmp_path / "bin")
    return ["run", "--plan", str(plan), "--config", lab.config, "--server", "localhost", "--partition",
            "/vicepa", "--workdir", str(tmp_path / "w"), "--volutil", str(volutil), "--now", "2026-06-10",
            "--restores-per-server", "2"]


def _check_restored(lab: CodaLab, report: dict, night: str) -> None:
    at = at_epoch(lab.night(night).at) + 60
    by_name = {v["name"]: v for v in report["volumes"]}
    for volume in DESC.names():
        v = by_name[lab.disk(volume)]
        if volume == "u.b05":  # its level 0 was on the reused tape
            assert v["outcome"] == "refused" and "has no level 0" in v["reason"], v
            continue
        assert v["outcome"] == "restored", v
        assert lab.server().state(v["restored_name"]) == lab.server().state_at(volume, at), volume
        assert int(v["volume_id"], 16) == next(x.id for x in lab.server().volumes() if x.name == v["restored_name"])
    assert by_name["u.nosuch"]["outcome"] == "refused" and "unknown volume" in by_name["u.nosuch"]["reason"]


def _journal(tmp_path: Path) -> dict:
    return json.loads(next((tmp_path / "w").glob("bulk-*/bulk-journal.json")).read_text())


def test_a_whole_server_restore_with_two_drives_reads_each_tape_once(bulk_lab, tmp_path):
    _purge_restored(bulk_lab, "20260607")
    plan = _plan(bulk_lab, tmp_path, "2026-06-07")
    r = run_cli(*_run_argv(bulk_lab, plan, tmp_path), "--json", exit_status=10)  # some: two are refused
    report = json.loads(r.stdout)
    _check_restored(bulk_lab, report, "b07")
    schedule = json.loads(plan.read_text())["schedule"]
    labels = [t["label"] for t in schedule["tapes"]]
    assert sorted(report["tapes_read"]) == sorted(labels) and len(set(labels)) == len(labels)
    journal = _journal(tmp_path)
    # one amfetchdump per image, on the tape's drive; a drive's amfetchdumps of
    # one tape follow each other (the tape is taken once, then left)
    for t in schedule["tapes"]:
        on_tape = [f for f in journal["fetches"] if f["label"] == t["label"]]
        assert len(on_tape) == sum(f["partnum"] == 1 for f in t["files"]) and {f["drive"] for f in on_tape} == {t["drive"]}
    for drive in (1, 2):
        labels = [f["label"] for f in journal["fetches"] if f["drive"] == drive]
        blocks = [lb for i, lb in enumerate(labels) if i == 0 or labels[i - 1] != lb]
        assert len(blocks) == len(set(blocks)), f"drive {drive} went back to a tape: {labels}"
    assert {t["drive"] for t in schedule["tapes"]} == {1, 2}


def test_a_bulk_run_killed_resumes_without_reading_done_tapes_again(bulk_lab, tmp_path):
    # 2026-06-07: no volume is whole before the last tape of drive 2, so the
    # kill after the first tape lands before any volutil restore
    _purge_restored(bulk_lab, "20260607")
    plan = _plan(bulk_lab, tmp_path, "2026-06-07")
    argv = [str(CODA_RESTORE), *_run_argv(bulk_lab, plan, tmp_path)]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    first_done: list[str] = []
    while time.monotonic() < deadline and child.poll() is None:
        try:
            first_done = _journal(tmp_path)["tapes_done"]
        except (StopIteration, ValueError, FileNotFoundError):
            first_done = []
        if first_done:
            os.killpg(child.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    child.wait(timeout=60)
    assert first_done and child.returncode == -signal.SIGKILL, "the run ended before a tape was done"
    first_done = _journal(tmp_path)["tapes_done"]
    r = run_cli(*_run_argv(bulk_lab, plan, tmp_path), "--json", exit_status=None)
    report = json.loads(r.stdout)
    journal = _journal(tmp_path)
    again = {f["label"] for f in journal["fetches"] if f["run"] == 2}
    assert not again & set(first_done), f"read again: {again & set(first_done)}"
    assert set(first_done) <= set(report["tapes_skipped"])
    _check_restored(bulk_lab, report, "b07")


def test_a_failed_volume_is_retried_once_and_reported_while_the_others_go_on(bulk_lab, tmp_path):
    _purge_restored(bulk_lab, "20260607")
    bulk_lab.server().create_volume("u.b06.20260607")  # the name u.b06's restore would take
    try:
        plan = _plan(bulk_lab, tmp_path, "2026-06-07")
        r = run_cli(*_run_argv(bulk_lab, plan, tmp_path), "--json", exit_status=10)
    finally:
        _purge_restored(bulk_lab, "20260607")
    by_name = {v["name"]: v for v in json.loads(r.stdout)["volumes"]}
    failed = by_name[bulk_lab.disk("u.b06")]
    assert failed["outcome"] == "failed" and failed["attempts"] == 2
    assert "u.b06.20260607" in failed["reason"] and "exists" in failed["reason"]
    assert [v for v in by_name.values() if v["outcome"] == "restored"] and all(
        v["outcome"] != "failed" for n, v in by_name.items() if n != bulk_lab.disk("u.b06"))


def test_verify_all_proves_the_chains_the_bulk_plan_restores(bulk_lab, tmp_path):
    # the weekly drill and the disaster-day plan must agree: the same volumes
    # restorable, by the same dumps, every link proven without volutil
    plan = json.loads(_plan(bulk_lab, tmp_path, "2026-06-07").read_text())
    planned = {v["disk"]: [f"{s['datestamp']}/{s['level']}" for s in v["plan"]["steps"]]
               for v in plan["volumes"] if v["verdict"] == "restorable"}
    before = {v.id for v in bulk_lab.server().volumes()}
    out = run_cli("verify", "--all", "--date", "2026-06-07", "--now", "2026-06-10", "--config", bulk_lab.config,
                  "--workdir", tmp_path / "drill", "--json", exit_status=10)  # u.b05 lost its level 0
    doc = json.loads(out.stdout)
    assert {v.id for v in bulk_lab.server().volumes()} == before  # a drill restores nothing
    proven = {v["disk"]: v for v in doc["volumes"] if v["proven"]}
    assert {d: v["steps"] for d, v in proven.items()} == planned
    assert all(k["ok"] for v in proven.values() for k in v["links"]["checked"])
    assert any(len(steps) > 1 for steps in planned.values())  # some chain has a link to prove
    (refused,) = [v for v in doc["volumes"] if not v["proven"]]
    assert refused["disk"] == bulk_lab.disk("u.b05") and "has no level 0" in refused["failure"]
