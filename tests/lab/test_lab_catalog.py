"""The catalog against Amanda's own answer, on a real Amanda lab.

For every step of the lab's week (a snapshot of logdir, tapelist and holding
disk after each run, with ``amadmin CONF find`` taken at that moment) and for
every DLE:

- the dumps ``find`` reports OK are exactly those ``history --json`` reports
  available, with the same tape parts (label, file number, part number) and
  holding files;
- every dump ``find`` ever listed up to that step is in the history; the ones
  ``find`` no longer lists as OK are unavailable, with the reason Amanda's own
  answers imply: "missing-part" while ``find`` shows the survivors as
  ``OK FAIL Missing part``, "tape-reused" once a dump that was on media is
  gone, "dump-failed" for a dump whose dumper failed and that was never written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lab import amfind, builder, scenario

STEP_NAMES = [run.name for run in scenario.RUNS]


# --------------------------------------------------------------------------
# amadmin find parsing (no lab needed): rows copied from a real 3.5.1 lab

FIND_TEXT = """
date                host      disk        lv storage         pool            tape or file file part  status
2026-03-02 00:59:59 localhost p.proj       0 codarestore-lab codarestore-lab codarestore-lab-02    1   6/8 OK FAIL Missing part
2026-03-03 00:59:59 localhost "coda:root"  1 codarestore-lab codarestore-lab codarestore-lab-04    4   1/1 OK 
2026-03-03 00:59:59 localhost u.ann        1 codarestore-lab codarestore-lab                       0 -1/-1 FAILED (dumper) [/usr/bin/tar exited with status 2: see x.debug]  
2026-08-19 12:36:23 localhost u.jan        0                                                       0 -1/-1 FAILED (planner) "[no size line match]"  
2026-03-08 00:59:59 localhost u.ann        1 HOLDING         HOLDING         /var/tmp/l/holding/20260308005959/localhost.u.ann.1    0 -1/-1 OK 
"""


def test_amfind_parses_every_kind_of_row():
    rows = amfind.parse(FIND_TEXT)
    assert [r.datestamp for r in rows] == ["20260302005959", "20260303005959", "20260303005959",
                                           "20260819123623", "20260308005959"]
    missing, root, failed, planner, holding = rows
    assert (missing.label, missing.filenum, missing.partnum, missing.nparts) == ("codarestore-lab-02", 1, 6, 8)
    assert missing.status == "OK FAIL Missing part" and not missing.ok
    assert root.disk == "coda:root" and root.level == 1 and root.ok
    assert (failed.storage, failed.label, failed.failed_program) == ("codarestore-lab", "", "dumper")
    assert (planner.storage, planner.pool, planner.label, planner.failed_program) == ("", "", "", "planner")
    assert holding.holding and holding.label.endswith("localhost.u.ann.1") and holding.partnum == -1


def test_amfind_rejects_a_line_it_cannot_read():
    with pytest.raises(ValueError):
        amfind.parse("2026-03-02 00:59:59 localhost u.jan x\n")


def test_lab_refuses_to_build_without_root(monkeypatch):
    """The fixture turns this into a failure, never a skip."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(builder.LabError, match="needs root"):
        builder.check_can_build()


def test_fake_clock_offset_reads_the_requested_time():
    import time

    at = "2026-03-02 01:00:00"
    offset = int(builder.fake_offset(at))
    assert 0 <= time.time() + offset - time.mktime(time.strptime(at, "%Y-%m-%d %H:%M:%S")) < 2


# --------------------------------------------------------------------------
# The lab itself did what scenario.py promises (independent of our reader)


@pytest.mark.lab
def test_lab_has_every_promised_case(amanda_lab):
    steps = {s.name: s for s in amanda_lab.steps}
    assert list(steps) == STEP_NAMES
    assert steps["tue"].status == 4  # amdump: "a dle failed"
    mon = steps["mon"].find_rows()
    proj_labels = {r.label for r in mon if r.disk == "p.proj" and r.ok}
    assert len(proj_labels) == 2, "p.proj's level 0 should span two vtapes"
    assert any(r.failed_program == "dumper" and r.disk == "u.ann" for r in steps["tue"].find_rows())
    assert {r.holding for r in steps["wed"].find_rows() if r.datestamp.startswith("20260304")} == {True}
    assert steps["wed-flush"].status == 16  # amflush: "no more tape"
    flush = [r for r in steps["wed-flush"].find_rows() if r.datestamp.startswith("20260304")]
    assert {r.disk for r in flush if r.holding} == {"u.ann", "u.jan"}
    assert {r.disk for r in flush if not r.holding and r.ok} == {"coda:root", "p.proj"}
    thu_flushed = [r for r in steps["thu"].find_rows() if r.datestamp.startswith("20260304")]
    assert not any(r.holding for r in thu_flushed), "thursday's autoflush emptied the holding disk"
    assert {r.disk for r in thu_flushed if r.ok} == {"coda:root", "p.proj", "u.ann", "u.jan"}
    thu = steps["thu"].find_rows()
    assert any(r.disk == "u.jan" and r.level == 0 and r.datestamp.startswith("20260305") for r in thu)
    fri = {r.datestamp for r in steps["fri-late"].find_rows() if r.datestamp.startswith("20260306")}
    assert len(fri) == 2, "two runs on friday"
    assert any("Missing part" in r.status for s in amanda_lab.steps for r in s.find_rows())
    final = amanda_lab.find()
    assert not any(r.datestamp.startswith("20260302") for r in final), "monday's tapes were reused"
    assert any(r.holding for r in final)
    assert steps["fetch"].new_logs and all(
        (amanda_lab.logdir / n).read_text().startswith("INFO amfetchdump") for n in steps["fetch"].new_logs)
    assert amanda_lab.steps[-1].find_rows() == final


# --------------------------------------------------------------------------
# history --json against amadmin find, at every step


def _history(cli, disk: str, logdir: Path, tapelist: Path, holding: Path) -> dict:
    out = cli("history", disk, "--json", "--logdir", logdir, "--tapelist", tapelist,
              "--holding", holding).stdout
    doc = json.loads(out)
    assert doc["schema"] == "coda-restore.history/1"
    assert doc["volume"]["disk"] == disk
    return doc


def _rel(path: str, roots: list[Path]) -> str:
    """A holding file relative to its holding disk: snapshots move the disk."""
    for root in roots:
        try:
            return str(Path(path).relative_to(root))
        except ValueError:
            pass
    return path


def _expected_copies(rows: list[amfind.FindRow], roots: list[Path]) -> set[tuple]:
    return {("holding", _rel(r.label, roots)) if r.holding else ("tape", r.label, r.filenum, r.partnum)
            for r in rows}


def _available_copies(dump: dict, roots: list[Path]) -> set[tuple]:
    out = set()
    for c in dump["copies"]:
        if not c.get("available", c["status"] == "ok"):
            continue
        if c["kind"] == "holding":
            out.add(("holding", _rel(c["path"], roots)))
        else:
            out |= {("tape", p["label"], p["filenum"], p["part"]) for p in c["parts"] if p["status"] == "ok"}
    return out


def _expected_reason(key, now: list[amfind.FindRow], before: list[list[amfind.FindRow]]) -> str:
    """Why a dump find does not list as OK is gone, from Amanda's answers so far."""
    if any(r.key == key and "Missing part" in r.status for r in now):
        return "missing-part"
    if any(r.key == key and r.ok for rows in before for r in rows):
        return "tape-reused"
    if any(r.key == key and r.failed_program in ("dumper", "chunker") for rows in before for r in rows):
        return "dump-failed"
    raise AssertionError(f"the lab has a dump {key} the test cannot explain: {[r for rows in before for r in rows if r.key == key]}")


@pytest.mark.lab
@pytest.mark.parametrize("step_name", STEP_NAMES)
def test_history_matches_amadmin_find(amanda_lab, cli, step_name):
    steps = list(amanda_lab.steps)
    index = STEP_NAMES.index(step_name)
    step = steps[index]
    now = step.find_rows()
    so_far = [s.find_rows() for s in steps[: index + 1]]
    roots = [step.holding, *amanda_lab.holding]
    problems = []
    for dle in amanda_lab.dles:
        doc = _history(cli, dle.disk, step.logdir, step.tapelist, step.holding)
        hist = {(dle.host, dle.disk, d["datestamp"], d["level"]): d for d in doc["dumps"]}
        mine = [r for r in now if (r.host, r.disk) == (dle.host, dle.disk)]
        ok = {}
        for r in mine:
            if r.ok:
                ok.setdefault(r.key, []).append(r)
        known = {r.key for rows in so_far for r in rows if (r.host, r.disk) == (dle.host, dle.disk)}

        if set(hist) != known:
            problems.append(f"{dle.disk}: history lists {sorted(set(hist) - known)} that find never did, "
                            f"and misses {sorted(known - set(hist))}")
        for key, rows in ok.items():
            dump = hist.get(key)
            if dump is None:
                continue
            want, got = _expected_copies(rows, roots), _available_copies(dump, roots)
            if not dump["available"] or want != got:
                problems.append(f"{key}: find says OK {sorted(want)}; history says available="
                                f"{dump['available']} with {sorted(got)}")
            if not dump["recorded"]:
                problems.append(f"{key}: on media, so recorded on the Coda server, but history says not")
        for key in sorted(known - set(ok)):
            dump = hist.get(key)
            if dump is None:
                continue
            reason = _expected_reason(key, mine, so_far)
            if dump["available"] or dump["unavailable_because"] != reason:
                problems.append(f"{key}: find no longer lists it as OK ({reason}); history says available="
                                f"{dump['available']}, because {dump['unavailable_because']}")
            if reason == "dump-failed" and dump["recorded"]:
                problems.append(f"{key}: its dumper failed, yet history says the Coda server recorded it")
    assert not problems, f"step {step_name}:\n" + "\n".join(problems)


@pytest.mark.lab
def test_history_on_the_live_lab_matches_find_now(amanda_lab, cli):
    """The live lab (its own logdir, tapelist and holding disk, after the
    amfetchdump) against ``amadmin find`` run now."""
    now = amanda_lab.find()
    for dle in amanda_lab.dles:
        doc = _history(cli, dle.disk, amanda_lab.logdir, amanda_lab.tapelist, amanda_lab.holding[0])
        hist = {(dle.host, dle.disk, d["datestamp"], d["level"]): d for d in doc["dumps"]}
        ok: dict[tuple, list] = {}
        for r in now:
            if r.ok and (r.host, r.disk) == (dle.host, dle.disk):
                ok.setdefault(r.key, []).append(r)
        available = {k: _available_copies(d, []) for k, d in hist.items() if d["available"]}
        assert available == {k: _expected_copies(rows, []) for k, rows in ok.items()}, dle.disk


@pytest.mark.lab
def test_real_amanda_records_read_without_warnings(amanda_lab, cli):
    """Everything a real 3.5.1 wrote in the lab is well-formed, including the
    zero-byte ``PART`` with file number 0 it logs when end-of-medium falls
    where a part starts: ``--strict`` must not fail on it."""
    cli("volumes", "--strict", "--logdir", amanda_lab.logdir, "--tapelist", amanda_lab.tapelist,
        "--holding", amanda_lab.holding[0])
