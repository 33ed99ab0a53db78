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

from cli_runner import run_cli
from lab.coda_lab import CodaLab, at_epoch, checkout_tool
from paths import REPO

pytestmark = pytest.mark.lab



def _run_args(lab: CodaLab, volume: str, date: str, workdir: Path, *extra: str) -> list[str]:
    # this checkout's simulator, which behaves as a real server does on restore (§23)
    volutil = checkout_tool(lab.lab.root, Path(workdir).parent / "bin")
    return ["run", lab.disk(volume), "--date", date, "--config", lab.config, "--workdir", str(workdir),
            "--volutil", str(volutil), *extra]


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
    assert "verified: dumped back and compared" in result.stdout
    assert coda_lab.server().state(name) == _state_at(coda_lab, volume, night)
    events = _events(log)
    steps = [e["step"] for e in events]
    assert steps[0] == "preflight" and steps[-1] == "end"
    # every link was checked before volutil saw a byte; the restore was dumped back after
    assert steps.index("verify") < steps.index("restore")
    restore = next(e["message"] for e in events if e["step"] == "restore")
    assert shlex.split(restore)[3:5] == ["restore", "-f"]  # volutil -h localhost restore -f STAGED
    dumped = [e for e in events if e["step"] == "verify" and e["message"].startswith(shlex.split(restore)[0])]
    assert dumped and steps.index("restore") < events.index(dumped[0])
    assert not Path(shlex.split(restore)[5]).exists()  # the staged image is removed once verified


def test_dry_run_prints_exactly_the_commands_a_run_executes(coda_lab, tmp_path):
    args = _restore_args(coda_lab, "u.jan", "2026-05-12", tmp_path / "w", "u.jan.tdry")
    dry = run_cli(*args, "--dry-run", "--json")
    planned = json.loads(dry.stdout)["commands"]
    assert not _exists(coda_lab, "u.jan.tdry")  # dry-run changed nothing
    log = tmp_path / "events.jsonl"
    run_cli(*args, "--log-json", str(log))
    ran = [e["message"] for e in _events(log) if e["step"] in ("fetch", "restore") and not e["finished"]]
    assert ran == [shlex.join(c) for c in planned]
    assert planned[-1][3:5] == ["restore", "-f"]
    verify = json.loads(dry.stdout)["verify_command"]
    dumped = next(e["message"] for e in _events(log) if e["step"] == "verify" and " dump " in e["message"])
    assert shlex.split(dumped)[:-1] == verify[:-1]  # the same command, with the id the restore printed


def test_an_existing_target_name_is_refused_and_nothing_is_fetched(coda_lab, tmp_path):
    log = tmp_path / "events.jsonl"
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-06", tmp_path / "w", "u.jan",  # the live volume
                               "--log-json", str(log)), exit_status=2)
    assert "volume u.jan already exists on localhost" in r.stderr
    assert not [e for e in _events(log) if e["step"] == "fetch"]


def test_a_name_a_restore_took_or_a_volume_id_is_refused(coda_lab, tmp_path):
    # restored volumes are in no VLDB: getvolumelist finds them, by name and by id
    name = "u.jan.ttaken"
    run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-06", tmp_path / "a", name))
    volid = next(v.id for v in coda_lab.server().volumes() if v.name == name)
    r = run_cli(*_run_args(coda_lab, "u.jan", "2026-05-06", tmp_path / "b", "--server", "localhost",
                           "--partition", "/vicepa", "--name", name), exit_status=2)
    assert f"volume {name} already exists on localhost" in r.stderr
    r = run_cli(*_run_args(coda_lab, "u.jan", "2026-05-06", tmp_path / "c", "--server", "localhost",
                           "--partition", "/vicepa", "--name", f"{volid:08x}"), exit_status=2)
    assert f"is the id of {name}" in r.stderr
    assert [v.name for v in coda_lab.server().volumes()].count(name) == 1


def test_acl_users_the_server_does_not_know_are_warned_about_or_said_unchecked(coda_lab, tmp_path):
    # a protection DB without System:Administrators (the lab's ACLs name it)
    other = tmp_path / "pdb-state"
    other.mkdir()
    (other / "pdb.json").write_text(json.dumps({"System:AnyUser": -101}))
    pdbtool = checkout_tool(coda_lab.lab.root, tmp_path / "pdb", tool="pdbtool",
                            env=f"CODASIM_STATE={shlex.quote(str(other))}; export CODASIM_STATE")
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-06", tmp_path / "w", "u.jan.tacl",
                               "--pdbtool", str(pdbtool)))
    assert "ACL users: WARN: the server's protection DB does not know System:Administrators" in r.stderr
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-06", tmp_path / "w2", "u.jan.tacl2",
                               "--pdbtool", str(tmp_path / "no-pdbtool")))
    assert "ACL users: WARN: not checked:" in r.stderr


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
    failing = checkout_tool(coda_lab.lab.root, tmp_path / "failing", env="CODASIM_FAIL=restore; export CODASIM_FAIL")
    log = tmp_path / "events.jsonl"
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-06", tmp_path / "w", "u.jan.tfail"),
                "--volutil", str(failing), "--log-json", log, exit_status=6)
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
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-13", small_disk(16), "u.jan.tfull2",
                               "--staging", tmp_path / "staging"), exit_status=1)
    assert "No space left on device" in r.stderr and r.stderr.count("\n") <= 14
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


def test_a_staging_dir_without_room_for_the_merged_image_is_refused_before_any_tape_moves(
        coda_lab, tmp_path, small_disk):
    log = tmp_path / "events.jsonl"
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-13", tmp_path / "w", "u.jan.tstage",
                               "--staging", small_disk(4), "--log-json", str(log)), exit_status=9)
    assert "preflight failed: staging space" in r.stderr
    assert not [e for e in _events(log) if e["step"] == "fetch"]


def test_run_never_gives_volutil_the_dump_on_stdin(coda_lab, tmp_path):
    # a real client hangs forever on it (§23 row 1); this one logs how it was called
    seen = tmp_path / "seen"
    spy = checkout_tool(coda_lab.lab.root, tmp_path / "spy",
                        env=f'echo "$* fd0=$(readlink /proc/self/fd/0)" >> {shlex.quote(str(seen))}')
    name = "u.jan.tspy"
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-08", tmp_path / "w", name, "--volutil", str(spy)))
    assert "verified" in r.stdout
    restores = [line for line in seen.read_text().splitlines() if " restore " in line]
    assert len(restores) == 1 and " restore -f /" in restores[0] and restores[0].endswith("fd0=/dev/null")
    staged = restores[0].split(" restore -f ", 1)[1].split()[0]
    assert staged.endswith(f"/{name}.dump")


def test_a_stale_restore_is_caught_by_the_dump_back(coda_lab, tmp_path):
    # a transport that pauses (a pipe to -f /dev/stdin, §23 row 2): the server
    # says VolRestore successful and the volume holds the previous restore's data
    first = "u.jan.tprev"
    run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-08", tmp_path / "a", first))
    stale = tmp_path / "stale" / "volutil"
    stale.parent.mkdir()
    real = checkout_tool(coda_lab.lab.root, tmp_path / "real")
    stale.write_text(
        "#!/bin/bash\n"
        '# restore -f FILE ...: feed FILE through a pipe that pauses after 40 bytes\n'
        'args=("$@"); for i in "${!args[@]}"; do\n'
        '  if [ "${args[$i]}" = "-f" ]; then f="${args[$((i+1))]}"; args[$((i+1))]=/dev/stdin;\n'
        f'    {{ head -c 40 "$f"; sleep 4; tail -c +41 "$f"; }} | exec {real} "${{args[@]}}"; exit; fi\n'
        f'done\nexec {real} "$@"\n')
    stale.chmod(0o755)
    name = "u.jan.tstale"
    log = tmp_path / "events.jsonl"
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-13", tmp_path / "b", name, "--volutil", str(stale),
                               "--log-json", str(log)), exit_status=6)
    volume = next(v for v in coda_lab.server().volumes() if v.name == name)
    # the server made it, from the previous restore's bytes ...
    assert coda_lab.server().state(name) == coda_lab.server().state(first)
    # ... and the run says it is wrong, names it and how to remove it
    assert f"volume {name} ({volume.id:08x}) on localhost is WRONG" in r.stderr
    assert f"purge {volume.id:08x} {name}" in r.stderr
    assert "restored" not in r.stdout
    last = _events(log)[-1]
    assert (last["step"], last["ok"]) == ("end", False)
    staged = tmp_path / "b" / "localhost__coda_u.jan" / "staging" / f"{name}.dump"
    assert staged.exists() and f"kept: {staged}" in r.stderr


def test_a_restore_the_server_fails_for_its_size_is_named_as_the_servers(coda_lab, tmp_path):
    small = checkout_tool(coda_lab.lab.root, tmp_path / "small",
                          env="CODASIM_RESTORE_LIMIT=4096; export CODASIM_RESTORE_LIMIT")
    name = "u.jan.tsize"
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-13", tmp_path / "w", name, "--volutil", str(small)),
                exit_status=6)
    assert f"the server did not restore {name}: the server failed to read a dump this size" in r.stderr
    assert "the server's failure, not the image's" in r.stderr
    assert "Traceback" not in r.stderr
    assert not _exists(coda_lab, name)


def test_no_verify_is_an_explicit_choice_said_in_the_report_and_keep_keeps_the_image(coda_lab, tmp_path):
    name = "u.jan.tnover"
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-06", tmp_path / "w", name, "--no-verify", "--keep",
                               "--staging", tmp_path / "st"))
    assert "NOT verified (--no-verify)" in r.stdout
    assert (tmp_path / "st" / f"{name}.dump").is_file()
    assert coda_lab.server().state(name) == _state_at(coda_lab, "u.jan", "n03")


def test_the_stdin_transport_is_for_old_servers_only_and_still_verified(coda_lab, tmp_path):
    seen = tmp_path / "seen"
    old = checkout_tool(coda_lab.lab.root, tmp_path / "old",
                        env=f'CODASIM_CLIENT=old; export CODASIM_CLIENT; '
                            f'echo "$* fd0=$(readlink /proc/self/fd/0)" >> {shlex.quote(str(seen))}')
    name = "u.jan.tstdin"
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-08", tmp_path / "w", name, "--volutil", str(old),
                               "--transport", "stdin"))
    assert "verified: dumped back and compared" in r.stdout
    restore = next(line for line in seen.read_text().splitlines() if " restore " in line)
    assert " -f " not in restore and restore.endswith(f"/staging/{name}.dump")  # a regular file, never a pipe
    assert coda_lab.server().state(name) == _state_at(coda_lab, "u.jan", "n05")


def test_a_restore_that_cannot_be_dumped_back_is_not_verified(coda_lab, tmp_path):
    nodump = checkout_tool(coda_lab.lab.root, tmp_path / "nodump", env="CODASIM_FAIL=dump; export CODASIM_FAIL")
    name = "u.jan.tnodump"
    r = run_cli(*_restore_args(coda_lab, "u.jan", "2026-05-06", tmp_path / "w", name, "--volutil", str(nodump)),
                exit_status=6)
    volume = next(v for v in coda_lab.server().volumes() if v.name == name)
    assert f"volume {name} ({volume.id:08x}) on localhost was restored but could not be dumped back" in r.stderr
    assert "the server is dead or unreachable" in r.stderr and f"purge {volume.id:08x} {name}" in r.stderr
    assert "restored" not in r.stdout


def test_a_rerun_names_the_volume_an_interrupted_restore_may_have_half_created_and_resumes(coda_lab, tmp_path):
    """Issue 13 item 6: volutil restore made the volume but the run failed
    (the reply was lost); the rerun must not say "nothing was restored"."""
    name, workdir = "u.jan.thalf", tmp_path / "w"
    lost = tmp_path / "volutil"
    lost.write_text("#!/bin/sh\n"
                    f"{checkout_tool(coda_lab.lab.root, tmp_path / 'real')} \"$@\" || exit\n"
                    "case \" $* \" in *\" restore \"*) echo 'RPC2_CONNBUSY: the reply was lost' >&2; exit 1;; esac\n")
    lost.chmod(0o755)
    args = _restore_args(coda_lab, "u.jan", "2026-05-13", workdir, name)
    first = run_cli(*args, "--volutil", lost, exit_status=6)
    assert "the reply was lost" in first.stderr and "may be half-created" in first.stderr
    assert _exists(coda_lab, name)  # made by the server, not verified by the run
    rerun = run_cli(*args, exit_status=6)
    assert "nothing was restored" not in rerun.stderr
    assert f"volume {name} may be half-created on localhost" in rerun.stderr
    assert f"Check with: {tmp_path / 'bin' / 'volutil'} -h localhost getvolumelist" in rerun.stderr
    assert "Remove it with:" in rerun.stderr and "purge VOLID" in rerun.stderr
    dry = json.loads(run_cli(*args, "--dry-run", "--json", exit_status=None).stdout)
    assert any(c["check"] == "target name" and "half-created" in c["detail"] for c in dry["preflight"])
    _purge(coda_lab, name)  # what the message says to do, then the same command resumes
    log = tmp_path / "events.jsonl"
    run_cli(*args, "--log-json", log)
    assert any(e["step"] == "fetch" and e["resumed"] for e in _events(log))  # the spool was kept
    assert coda_lab.server().state(name) == _state_at(coda_lab, "u.jan", "n10")
