"""``coda-restore run`` end to end on the Coda lab: real Amanda (amfetchdump
through its vtape changer), amcoda's dumps, and the simulated Coda server's
``volutil restore``.  The restored volume is compared with the simulator's
recorded state of the volume at the night restored."""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_cli
from lab.coda_lab import CodaLab, at_epoch, volutil_wrapper

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parent.parent


def _run_args(lab: CodaLab, volume: str, date: str, workdir: Path, *extra: str) -> list[str]:
    return ["run", lab.disk(volume), "--date", date, "--config", lab.config, "--workdir", str(workdir),
            "--volutil", str(volutil_wrapper(lab.lab.root)), *extra]


def _restore_args(lab, volume, date, workdir, name, *extra):
    _purge(lab, name)  # a lab reused from an earlier session keeps what it restored
    return _run_args(lab, volume, date, workdir, "--server", "localhost", "--partition", "/vicepa",
                     "--name", name, *extra)


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _state_at(lab: CodaLab, volume: str, night: str):
    # the night's edits are made at its instant; the clone a few seconds later
    return lab.server().state_at(volume, at_epoch(lab.night(night).at) + 60)


def _exists(lab: CodaLab, name: str) -> bool:
    return any(v.name == name for v in lab.server().volumes())


def _purge(lab: CodaLab, name: str) -> None:
    server = lab.server()
    for v in server.volumes():
        if v.name == name and name not in ("u.jan", "p.proj"):
            server.purge(v.id, name)


@pytest.mark.parametrize("volume,night,date", [
    ("u.jan", "n03", "2026-05-06"),   # level 0 + level 1
    ("u.jan", "n05", "2026-05-08"),   # across the failed night n04
    ("u.jan", "n10", "2026-05-13"),   # levels 0,1,2,3 on four tapes
    ("p.proj", "n10", "2026-05-13"),  # a new level 0 after the broken link of n06
])
def test_run_restores_exactly_the_state_of_the_night(coda_lab, tmp_path, volume, night, date):
    name = f"{volume}.t{night}"
    log = tmp_path / "events.jsonl"
    result = run_cli(*_restore_args(coda_lab, volume, date, tmp_path / "w", name, "--log-json", str(log)))
    assert f"restored {name} as volume" in result.stdout
    assert coda_lab.server().state(name) == _state_at(coda_lab, volume, night)
    steps = [e["step"] for e in _events(log)]
    assert steps[0] == "preflight" and steps[-1] == "end"
    # every link was checked before volutil saw a byte
    assert steps.index("verify") < steps.index("restore")


def test_dry_run_prints_exactly_the_commands_a_run_executes(coda_lab, tmp_path):
    args = _restore_args(coda_lab, "u.jan", "2026-05-12", tmp_path / "w", "u.jan.tdry")
    dry = run_cli(*args, "--dry-run", "--json")
    planned = json.loads(dry.stdout)["commands"]
    assert not _exists(coda_lab, "u.jan.tdry")  # dry-run changed nothing
    log = tmp_path / "events.jsonl"
    run_cli(*args, "--log-json", str(log))
    ran = [e["message"] for e in _events(log) if e["step"] in ("fetch", "restore") and not e["finished"]]
    assert ran == [shlex.join(c) for c in planned]


def test_an_existing_target_name_is_refused_and_nothing_is_fetched(coda_lab, tmp_path):
    log = tmp_path / "events.jsonl"
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-06", tmp_path / "w", "u.jan",  # the live volume
                               "--log-json", str(log)), exit_status=2)
    assert "volume u.jan already exists on localhost" in r.stderr
    assert not [e for e in _events(log) if e["step"] == "fetch"]


def test_minimal_chain_restores_the_tree_and_announces_what_it_skips(coda_lab, tmp_path):
    # p.proj on 05-10: the exact chain cannot cross n06's recorded dump, whose
    # holding file was lost; Amanda's chain (05-08/0, 05-10/1) skips it
    exact = run_cli("plan", coda_lab.disk("p.proj"), "--date", "2026-05-10", "--config", coda_lab.config,
                    exit_status=3)
    assert "broken" in exact.stdout
    plan = json.loads(run_cli("plan", coda_lab.disk("p.proj"), "--date", "2026-05-10", "--chain", "minimal",
                              "--config", coda_lab.config, "--json").stdout)
    assert [s["level"] for s in plan["steps"]] == [0, 1]
    assert any("20260509" in w["message"] for w in plan["warnings"]), plan["warnings"]
    name = "p.proj.tmin"
    r = run_cli(*_restore_args(coda_lab, "p.proj", "2026-05-10", tmp_path / "w", name, "--chain", "minimal"))
    restored = coda_lab.server().state(name)
    resurrected = {p for p in restored if p.startswith("lost+found/")}
    # n06 deleted nothing in p.proj, so nothing comes back; the tree is exact
    assert {p: n for p, n in restored.items() if p not in resurrected} == _state_at(coda_lab, "p.proj", "n07")
    assert len(resurrected) == r.stdout.count("orphans")


def test_minimal_chain_brings_back_exactly_the_deletion_it_skips_as_an_orphan(coda_lab, tmp_path):
    # p.proj on 05-15: Amanda's chain is 05-12/0, 05-13/1, 05-15/2; it skips
    # the recorded 05-14/2, the only dump that reports the deletion of /src/x.c
    plan = json.loads(run_cli("plan", coda_lab.disk("p.proj"), "--date", "2026-05-15", "--chain", "minimal",
                              "--config", coda_lab.config, "--json").stdout)
    assert any("20260514" in w["message"] for w in plan["warnings"] if w["code"] == "skipped-dumps")
    exact, minimal = "p.proj.texact", "p.proj.tmin2"
    run_cli(*_restore_args(coda_lab, "p.proj", "2026-05-15", tmp_path / "e", exact))
    r = run_cli(*_restore_args(coda_lab, "p.proj", "2026-05-15", tmp_path / "m", minimal, "--chain", "minimal"))
    expected = _state_at(coda_lab, "p.proj", "n12")
    assert "/src/x.c" not in expected and coda_lab.server().state(exact) == expected
    restored = coda_lab.server().state(minimal)
    orphans = {p: n for p, n in restored.items() if p.startswith("lost+found/")}
    assert {p: n for p, n in restored.items() if p not in orphans} == expected
    # exactly the deleted file comes back, unreachable, with its old contents
    assert list(orphans.values()) == [_state_at(coda_lab, "p.proj", "n10")["/src/x.c"]]
    assert "orphans" in r.stdout  # the run says so too


def test_a_truncated_vtape_file_fails_cleanly_and_creates_no_volume(coda_lab, tmp_path):
    # the level 0 of u.jan's 05-10 chain, cut in the middle of its data
    part = _full_dump_file(coda_lab, "u.jan", "2026-05-11")
    saved = tmp_path / "saved"
    shutil.copy2(part, saved)
    try:
        with open(part, "r+b") as f:
            f.truncate(32768 + (part.stat().st_size - 32768) // 2)
        r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-11", tmp_path / "w", "u.jan.ttrunc"),
                    exit_status=None)
    finally:
        shutil.copy2(saved, part)
    assert r.exit_code in (1, 4), r.stderr
    assert "amfetchdump" in r.stderr or "truncated" in r.stderr.lower()
    assert not _exists(coda_lab, "u.jan.ttrunc")


def test_a_failing_volutil_restore_is_reported_with_the_purge_command(coda_lab, tmp_path):
    failing = tmp_path / "volutil"
    failing.write_text(f"#!/bin/sh\nCODASIM_FAIL=restore exec {volutil_wrapper(coda_lab.lab.root)} \"$@\"\n")
    failing.chmod(0o755)
    log = tmp_path / "events.jsonl"
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-06", tmp_path / "w", "u.jan.tfail"),
                "--volutil", str(failing), "--log-json", log, exit_status=1)
    assert "told to fail" in r.stderr  # volutil's own stderr is shown
    last = _events(log)[-1]  # the event log ends with why the run stopped
    assert (last["step"], last["ok"], last["finished"]) == ("end", False, True) and "told to fail" in last["message"]
    assert "may be half-created" in r.stderr and "purge" in r.stderr
    assert not _exists(coda_lab, "u.jan.tfail")


def test_a_killed_run_resumes_without_fetching_verified_images_again(coda_lab, tmp_path):
    workdir, log = tmp_path / "w", tmp_path / "events.jsonl"
    args = [sys.executable, "-m", "coda_restore",
            *_restore_args(coda_lab, "u.jan", "2026-05-13", workdir, "u.jan.tkill", "--log-json", str(log))]
    child = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not [e for e in _events(log) if e["step"] == "fetch" and e["finished"]]:
        assert child.poll() is None and time.monotonic() < deadline, "the run ended before its first image"
        time.sleep(0.02)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 5, err.decode()
    first = [e for e in _events(log) if e["step"] == "fetch" and e["finished"]]
    done_before = {e["dump"] for e in first}
    log.unlink()
    run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-13", workdir, "u.jan.tkill", "--log-json", str(log)))
    events = _events(log)
    resumed = {e["dump"] for e in events if e["step"] == "fetch" and e["resumed"]}
    refetched = {e["dump"] for e in events if e["step"] == "fetch" and not e["finished"]}
    assert done_before <= resumed
    assert not done_before & refetched
    assert coda_lab.server().state("u.jan.tkill") == _state_at(coda_lab, "u.jan", "n10")


def _full_dump_file(lab: CodaLab, volume: str, date: str) -> Path:
    """The vtape file holding the level 0 (single part) of VOLUME's plan for DATE."""
    plan = json.loads(run_cli("plan", lab.disk(volume), "--date", date, "--config", lab.config, "--json").stdout)
    part = plan["steps"][0]["copy"]["parts"][0]
    slot = next(p for p in lab.lab.vtapes.glob("slot*") if (p / f"00000.{part['label']}").exists())
    return next(slot.glob(f"{part['filenum']:05d}.*"))


@pytest.fixture
def small_disk(tmp_path):
    """A real filesystem of a few KiB (tmpfs), to fill up."""
    def mount(kib: int) -> Path:
        where = tmp_path / f"disk{kib}"
        where.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(where)], check=True)
        mounted.append(where)
        return where

    mounted: list[Path] = []
    yield mount
    for where in mounted:
        subprocess.run(["umount", str(where)], check=True)


def test_a_workdir_without_room_is_refused_before_any_tape_moves(coda_lab, tmp_path, small_disk):
    log = tmp_path / "events.jsonl"
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-13", small_disk(4), "u.jan.tfull",
                               "--log-json", str(log)), exit_status=9)
    assert "preflight failed: workdir space" in r.stderr
    assert not [e for e in _events(log) if e["step"] == "fetch"]
    assert not _exists(coda_lab, "u.jan.tfull")


def test_a_workdir_that_fills_up_while_spooling_is_a_clean_error(coda_lab, tmp_path, small_disk):
    # room enough for what Amanda's sizes promise (3 x 4 KiB), not for the
    # files and the journal as tmpfs stores them (a page each at least)
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-13", small_disk(16), "u.jan.tfull2"), exit_status=1)
    assert "No space left on device" in r.stderr and r.stderr.count("\n") <= 12
    assert "Traceback" not in r.stderr
    assert not _exists(coda_lab, "u.jan.tfull2")


def test_an_image_from_another_chain_is_refused_before_volutil_starts(coda_lab, tmp_path):
    # u.jan's 05-15 image is relative to a dump an operator made and marked
    # outside Amanda (ManualDump in the lab), after creating /mail/e: Amanda's
    # records look complete and the plan is "restorable", but the chain would
    # lose /mail/e (it is in no Amanda image).  Only the Coda headers show it.
    log = tmp_path / "events.jsonl"
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-15", tmp_path / "w", "u.jan.tswap",
                               "--log-json", str(log)), exit_status=4)
    assert "is not with respect to" in r.stderr and "oldest" in r.stderr
    steps = [e["step"] for e in _events(log)]
    assert "restore" not in steps  # volutil was never started
    assert not _exists(coda_lab, "u.jan.tswap")


def test_a_saved_plan_runs_as_planned_and_an_edited_one_is_refused(coda_lab, tmp_path):
    saved = tmp_path / "plan.json"
    run_cli("plan", coda_lab.disk("u.jan"), "--date", "2026-05-13", "--config", coda_lab.config,
            "--output", saved)
    plan_hash = json.loads(saved.read_text())["plan_hash"]
    common = ["run", coda_lab.disk("u.jan"), "--config", coda_lab.config, "--workdir", tmp_path / "w",
              "--output", tmp_path / "merged", "--dry-run", "--json"]
    by_plan = json.loads(run_cli(*common, "--plan", saved, "--plan-hash", plan_hash[:12]).stdout)
    by_date = json.loads(run_cli(*common, "--date", "2026-05-13").stdout)
    assert by_plan["commands"] == by_date["commands"] and by_plan["plan_hash"] == plan_hash
    r = run_cli(*common, "--plan", saved, "--plan-hash", "0" * 12, exit_status=2)
    assert "plan_hash is" in r.stderr
    saved.write_text(saved.read_text().replace('"level": 3', '"level": 2'))
    r = run_cli(*common, "--plan", saved, exit_status=2)
    assert "was it edited?" in r.stderr
    assert not (tmp_path / "merged").exists()
