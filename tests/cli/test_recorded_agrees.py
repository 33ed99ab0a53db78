"""One meaning of "recorded" (DESIGN rule 3) across the commands: what
``history --json`` says of a dump is what ``plan`` and ``check`` act on.

The three cases where two definitions once disagreed: a dump known only from
a flush log, a dump whose client result is unknown, and a dump whose tape
copy failed (or is gone).  A taper writes only what a client finished, so
each of them was recorded on the Coda server: the planner must treat it as a
broken link, and ``history --json`` must say ``"recorded": true``."""

from __future__ import annotations

import json

import pytest

from amanda_helpers import write_records
from coda_restore.amanda.catalog import build_catalog
from coda_restore.planning.history import VolumeHistory
from paths import EXAMPLE
from cli_runner import run_cli

D1, D2, FLUSH = "20040201030000", "20040202030000", "20040202050000"
TIME = ("--tz", "UTC", "--now", "2004-02-04 12:00")
GOOD = "u.good"  # the control: a level 1 with its dumper line and a good copy
FLUSHED = "u.flushed"  # known only from a flush log, whose taper failed
UNKNOWN = "u.unknown"  # no dumper line; the taper wrote a partial copy
REUSED = "u.reused"  # no dumper line; its tape was overwritten since
DISKS = (GOOD, FLUSHED, UNKNOWN, REUSED)


def _full(disk: str, filenum: int) -> str:
    return (f"SUCCESS dumper coda1 {disk} {D1} 0 [sec 0.1 kb 100 kps 10 orig-kb 100]\n"
            f"PART taper DAILY-01 {filenum} coda1 {disk} {D1} 1/1 0 [sec 0.1 kb 100 kps 10]\n"
            f"DONE taper coda1 {disk} {D1} 1 0 [sec 0.1 kb 100 kps 10]\n")


LOGS = {
    f"log.{D1}.0": f"START driver date {D1}\nSTART taper datestamp {D1} label DAILY-01 tape 1\n"
                   + "".join(_full(d, i) for i, d in enumerate(DISKS, 1)) + f"FINISH driver date {D1} time 1\n",
    f"log.{D2}.0": f"""
        START driver date {D2}
        START taper datestamp {D2} label DAILY-02 tape 1
        SUCCESS dumper coda1 {GOOD} {D2} 1 [sec 0.1 kb 10 kps 10 orig-kb 10]
        PART taper DAILY-02 1 coda1 {GOOD} {D2} 1/1 1 [sec 0.1 kb 10 kps 10]
        DONE taper coda1 {GOOD} {D2} 1 1 [sec 0.1 kb 10 kps 10]
        PART taper DAILY-02 2 coda1 {UNKNOWN} {D2} 1/1 1 [sec 0.1 kb 10 kps 10]
        PARTIAL taper coda1 {UNKNOWN} {D2} 1 1 [sec 0.1 kb 10 kps 10] "full-up"
        START taper datestamp {D2} label DAILY-X tape 2
        PART taper DAILY-X 1 coda1 {REUSED} {D2} 1/1 1 [sec 0.1 kb 10 kps 10]
        DONE taper coda1 {REUSED} {D2} 1 1 [sec 0.1 kb 10 kps 10]
        FINISH driver date {D2} time 1
        """,
    f"log.{FLUSH}.0": f"""
        START amflush date {FLUSH}
        START taper datestamp {FLUSH} label DAILY-F tape 1
        FAIL taper coda1 {FLUSHED} {D2} 1 error "no-space"
        FINISH amflush date {FLUSH} time 1
        """,
}
# DAILY-X was overwritten by the run of 2004-02-03.
TAPELIST = f"20040203030000 DAILY-X reuse\n{FLUSH} DAILY-F reuse\n{D2} DAILY-02 reuse\n{D1} DAILY-01 reuse\n"


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    logdir, tapelist = write_records(tmp_path_factory.mktemp("recorded"), LOGS, TAPELIST)
    return ("--logdir", logdir, "--tapelist", tapelist)


@pytest.mark.parametrize("disk", DISKS)
def test_history_plan_and_check_agree_on_what_was_recorded(sources, disk):
    history = json.loads(run_cli("history", disk, *sources, "--json").stdout)
    recorded = {f"{d['datestamp']}/{d['level']}" for d in history["dumps"] if d["recorded"]}
    usable = {f"{d['datestamp']}/{d['level']}" for d in history["dumps"] if d["available"] and d["status"] == "ok"}
    # Every dump of these volumes was recorded; only the control's level 1 is usable.
    assert recorded == {f"{D1}/0", f"{D2}/1"}
    assert usable == ({f"{D1}/0", f"{D2}/1"} if disk == GOOD else {f"{D1}/0"})

    # plan: the newest recorded dump at or before the target is the one chosen,
    # and a recorded dump that cannot be read is a broken link.
    plan = json.loads(run_cli("plan", disk, "--date", "2004-02-02 04:00", *TIME, *sources, "--json",
                              exit_status=None).stdout)
    assert plan["chosen"] == f"{D2}/1"
    assert plan["restorable"] is (disk == GOOD)
    if disk != GOOD:
        assert plan["warnings"][0]["code"] == "broken-link"

    # check: the recorded dumps are the restore points and the gaps' causes.
    check = json.loads(run_cli("check", disk, *TIME, *sources, "--json", exit_status=None).stdout)
    (vol,) = check["volumes"]
    seen = {vol["oldest_restore_point"], vol["newest_restore_point"]} | {
        ref for g in vol["gaps"] for ref in g["dumps"]}
    assert seen == recorded
    assert vol["restorable_now"] is (disk == GOOD)
    assert check["exit_status"] == (0 if disk == GOOD else 3)



@pytest.mark.parametrize("holding", [True, False])
def test_history_json_recorded_is_the_planners_recorded_for_every_example_dump(holding):
    disks = [EXAMPLE / "holding"] if holding else []
    src = ["--logdir", EXAMPLE / "log", "--tapelist", EXAMPLE / "tapelist", *(x for d in disks for x in ("--holding", d))]
    catalog = build_catalog(EXAMPLE / "log", EXAMPLE / "tapelist", holding=disks)
    for host, disk in catalog.volumes():
        doc = json.loads(run_cli("history", disk, "--host", host, *src, "--json").stdout)
        said = {(d["datestamp"], d["level"]) for d in doc["dumps"] if d["recorded"]}
        hist = VolumeHistory.of(catalog, host, disk)
        assert said == {d.node for d in hist.recorded}, disk
