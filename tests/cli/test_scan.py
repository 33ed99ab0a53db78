"""coda-restore scan: a catalog from the volumes themselves (issue 17).

The volumes here are vtape slot directories laid out as Amanda 3.5's vfs
device writes them (ref amanda-formats.md §4.2-§4.3: a 32 KiB label file,
then one file per part, each a 32 KiB header and the data), holding real
Coda dumps from the test vectors.  The lab test (test_scan_lab.py) reads
what real Amanda wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coda_restore import scan as scanning
from coda_restore.amanda.model import Unavailable

from voldump_vectors import i1
from vtapes import BLOCK, DISK, FULL, HOST, INCR, header, slot


def catalog(tmp_path: Path, **kw):
    return scanning.catalog_of(scanning.scan([tmp_path / "vt"], **kw))


def test_scan_reads_labels_parts_and_coda_headers(tmp_path, cli):
    slot(tmp_path / "vt", 1, "DAILY-1", "20260501010000", [("20260501010000", 0, FULL, 1, len(FULL))])
    slot(tmp_path / "vt", 2, "DAILY-2", "20260502010000", [("20260502010000", 1, INCR, 1, len(INCR))])
    out = tmp_path / "lab.scan"
    r = cli("scan", "--vtapes", tmp_path / "vt", "--output", out)
    assert "2 tape(s), 2 file(s)" in r.stdout and "2 (2 whole and readable)" in r.stdout
    cat = scanning.catalog_of(scanning.load(out))
    full, incr = cat.dumps_of(HOST, DISK)
    assert (full.datestamp, full.level, incr.level) == ("20260501010000", 0, 1)
    assert full.available and incr.available
    assert (full.coda.oldest, full.coda.latest, incr.coda.oldest, incr.coda.latest) == (5, 5, 5, 9)
    assert incr.copies[0].parts[0].label == "DAILY-2" and incr.copies[0].parts[0].filenum == 1
    assert [(t.label, t.datestamp) for t in cat.tapelist] == [("DAILY-2", "20260502010000"), ("DAILY-1", "20260501010000")]
    r = cli("volumes", "--scan", out)
    assert DISK in r.stdout


def test_split_dump_across_two_tapes_is_put_together_in_part_order(tmp_path):
    a, b = FULL[:3000], FULL[3000:]
    # part 2 on the second tape of the run, read first in directory order
    slot(tmp_path / "vt", 1, "DAILY-2", "20260501010000", [("20260501010000", 0, b, 2, len(FULL))])
    slot(tmp_path / "vt", 2, "DAILY-1", "20260501010000", [("20260501010000", 0, a, 1, len(FULL))])
    (dump,) = catalog(tmp_path).dumps
    assert dump.available
    assert [(p.partnum, p.label) for p in dump.copies[0].parts] == [(1, "DAILY-1"), (2, "DAILY-2")]
    assert dump.coda.latest == 5


@pytest.mark.parametrize("stored", [len(FULL), None], ids=["size-in-header", "no-size-in-header"])
def test_a_missing_last_part_is_said_never_guessed(tmp_path, stored):
    slot(tmp_path / "vt", 1, "DAILY-1", "20260501010000", [("20260501010000", 0, FULL[:3000], 1, stored)])
    cat = catalog(tmp_path)
    (dump,) = cat.dumps
    assert not dump.available and dump.unavailable_because is Unavailable.MISSING_PART
    assert any("a later part is missing" in w.message or "a part after 1 is missing" in w.message
               for w in cat.warnings)


def test_a_label_seen_twice_keeps_its_newest_write(tmp_path):
    # an old copy of DAILY-1 (written on the 1st) and the tape as it is now (rewritten on the 5th)
    slot(tmp_path / "old", 1, "DAILY-1", "20260501010000", [("20260501010000", 0, FULL, 1, len(FULL))])
    slot(tmp_path / "vt", 1, "DAILY-1", "20260505010000", [("20260505010000", 1, INCR, 1, len(INCR))])
    cat = scanning.catalog_of(scanning.scan([tmp_path / "old", tmp_path / "vt"]))
    old, new = cat.dumps_of(HOST, DISK)
    assert old.unavailable_because is Unavailable.TAPE_REUSED and new.available
    assert any("seen twice" in w.message and "20260505010000" in w.message for w in cat.warnings)


def test_a_damaged_header_is_listed_and_counts_for_nothing(tmp_path, cli):
    d = slot(tmp_path / "vt", 1, "DAILY-1", "20260501010000", [("20260501010000", 0, FULL, 1, len(FULL)),
                                                               ("20260501010000", 1, INCR, 1, len(INCR))])
    bad = d / f"00002.{HOST}._coda_u.jan.1"
    bad.write_bytes(b"\x00garbage".ljust(BLOCK, b"\xff") + INCR)
    out = tmp_path / "s"
    r = cli("scan", "--vtapes", tmp_path / "vt", "-o", out)
    assert f"not read: {bad}: file 2 of DAILY-1: Amanda header not read" in r.stdout
    cat = scanning.catalog_of(scanning.load(out))
    assert [(d.level) for d in cat.dumps] == [0]
    cli("scan", "--vtapes", tmp_path / "vt", "-o", tmp_path / "s2", "--strict", exit_status=1)


def test_a_damaged_coda_header_is_listed(tmp_path):
    slot(tmp_path / "vt", 1, "DAILY-1", "20260501010000", [("20260501010000", 0, b"\x07" + FULL[1:], 1, len(FULL))])
    cat = catalog(tmp_path)
    assert cat.dumps[0].coda is None
    assert any("no Coda dump header read" in w.message for w in cat.warnings)


def test_bad_scan_files_are_one_clear_error(tmp_path, cli):
    junk = tmp_path / "junk"
    junk.write_text("{}")
    r = cli("volumes", "--scan", junk, exit_status=2)
    assert "not a scan file" in r.stderr and "Traceback" not in r.stderr
    r = cli("volumes", "--scan", tmp_path / "nope", exit_status=2)
    assert "scan file" in r.stderr and "No such file" in r.stderr
    r = cli("scan", "-o", tmp_path / "x", exit_status=2)
    assert "say what to scan" in r.stderr
    out = tmp_path / "exists"
    out.write_text("mine")
    cli("scan", "--vtapes", tmp_path, "-o", out, exit_status=2)
    assert out.read_text() == "mine"
    assert json.loads(cli("scan", "--vtapes", tmp_path, "-o", tmp_path / "empty", "--json").stdout)["dumps"] == 0


# -- chains proven from the images ------------------------------------------------


def test_plan_from_a_scan_proves_the_chain_and_says_so(tmp_path, cli):
    slot(tmp_path / "vt", 1, "DAILY-1", "20260501010000", [("20260501010000", 0, FULL, 1, len(FULL))])
    slot(tmp_path / "vt", 2, "DAILY-2", "20260502010000", [("20260502010000", 1, INCR, 1, len(INCR))])
    cli("scan", "--vtapes", tmp_path / "vt", "-o", tmp_path / "s")
    r = cli("plan", DISK, "--date", "2026-05-02", "--scan", tmp_path / "s", "--tz", "UTC", "--now", "2026-06-01")
    assert "RESTORABLE" in r.stdout
    assert ("proof [chain-proven]: every link proven from the Coda headers in the images: "
            "20260501010000/0 latest 5 -> 20260502010000/1 oldest 5 latest 9") in r.stdout.replace("\n", " ")


def test_a_recorded_dump_on_no_scanned_tape_breaks_the_chain(tmp_path, cli):
    # the level 1 of the 2nd (latest 9) is on no tape; the level 2 of the 3rd was taken against it
    slot(tmp_path / "vt", 1, "DAILY-1", "20260501010000", [("20260501010000", 0, FULL, 1, len(FULL))])
    lost_base = i1(oldest=9, latest=12, level=2)
    slot(tmp_path / "vt", 3, "DAILY-3", "20260503010000", [("20260503010000", 2, lost_base, 1, len(lost_base))])
    cli("scan", "--vtapes", tmp_path / "vt", "-o", tmp_path / "s")
    r = cli("plan", DISK, "--date", "2026-05-03", "--scan", tmp_path / "s", "--tz", "UTC", "--now", "2026-06-01",
            exit_status=3)
    text = r.stdout.replace("\n", " ")
    assert "NOT RESTORABLE" in text and "20260503010000/2 was taken against the dump whose latest is 9" in text
    assert "20260501010000/0, has latest 5" in text
    r = cli("plan", DISK, "--date", "2026-05-03", "--scan", tmp_path / "s", "--tz", "UTC", "--now", "2026-06-01",
            "--json", exit_status=3)
    assert json.loads(r.stdout)["warnings"][0]["code"] == "header-link-broken"


def test_amanda_records_and_the_images_must_agree():
    """Amanda's records say the level 1 of the 2nd was recorded; the level 2's
    header says it was taken against the full dump: they disagree."""
    from coda_restore.amanda.model import CodaLink
    from coda_restore.planning.history import VolumeHistory
    from coda_restore.planning.planner import make_plan
    from coda_restore.planning.when import parse_when, zone
    from datetime import datetime
    from dataclasses import replace
    from plan_records import dump, tape

    def link(level, oldest, latest):
        return CodaLink(7, 3, "u.jan.backup", level, oldest, latest)

    d0 = replace(dump("20260501010000", 0, tape("A", 1)), coda=link(0, 5, 5))
    d1 = replace(dump("20260502010000", 1, tape("B", 1)), coda=link(1, 5, 9))
    d2 = replace(dump("20260503010000", 2, tape("C", 1)), coda=link(2, 5, 12))
    now = datetime(2026, 6, 1, tzinfo=zone("UTC"))
    p = make_plan(VolumeHistory("h", "u.jan", [d0, d1, d2]), parse_when("2026-05-03", now=now))
    assert not p.restorable and p.warnings[0].code == "header-link-broken"
    assert "20260503010000/2 was taken against the dump whose latest is 5" in p.reason
    d2 = replace(d2, coda=link(2, 9, 12))
    p = make_plan(VolumeHistory("h", "u.jan", [d0, d1, d2]), parse_when("2026-05-03", now=now))
    assert p.restorable and p.warnings[0].code == "chain-proven"
    d1 = replace(d1, coda=CodaLink(8, 4, "p.proj.backup", 1, 5, 9))
    p = make_plan(VolumeHistory("h", "u.jan", [d0, d1, d2]), parse_when("2026-05-03", now=now))
    assert not p.restorable and "is a dump of another volume" in p.reason


def test_check_from_a_scan_agrees_with_plan_on_a_link_the_headers_contradict(tmp_path, cli):
    slot(tmp_path / "vt", 1, "DAILY-1", "20260501010000", [("20260501010000", 0, FULL, 1, len(FULL))])
    lost_base = i1(oldest=9, latest=12, level=1)
    slot(tmp_path / "vt", 3, "DAILY-3", "20260503010000", [("20260503010000", 1, lost_base, 1, len(lost_base))])
    cli("scan", "--vtapes", tmp_path / "vt", "-o", tmp_path / "s")
    r = cli("check", "--scan", tmp_path / "s", "--now", "2026-05-04", "--tz", "UTC", "--json", exit_status=None)
    assert r.exit_code != 0
    (v,) = json.loads(r.stdout)["volumes"]
    assert not v["restorable_now"] and "does not hold: 20260503010000/1 was taken against" in v["reason"]
    # the newest restore point is the level 0 the link starts from
    r = cli("plan", DISK, "--date", "2026-05-03", "--scan", tmp_path / "s", "--tz", "UTC", "--now", "2026-05-04",
            "--json", exit_status=3)
    assert [a["datestamp"] for a in json.loads(r.stdout)["alternatives"] if a["kind"] == "before"] == ["20260501010000"]
