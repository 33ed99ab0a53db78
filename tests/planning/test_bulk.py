"""bulk.py: many volumes to one plan, its JSON form and the hash check."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from coda_restore.amanda.model import Unavailable
from coda_restore.errors import BadPlan
from coda_restore.planning import bulk
from coda_restore.planning import plan as planfile
from coda_restore.planning.bulk import Request, Verdict, make_bulk_plan
from coda_restore.planning.when import parse_when, zone

from plan_records import HOST, catalog, ds, dump, holding, tape

NOW = datetime(2004, 3, 10, 12, 0, tzinfo=zone("UTC"))
TARGET = parse_when("2004-02-05", now=NOW)
CATALOG = catalog(
    # u.a: its incremental is on DAILY-01, its level 0 on DAILY-02
    dump(ds(1), 0, tape("DAILY-02", 3, kb=1000), disk="u.a"),
    dump(ds(2), 1, tape("DAILY-01", 1, kb=50), disk="u.a"),
    # u.b: a level 0 and an incremental on one tape, in order
    dump(ds(1), 0, tape("DAILY-01", 2, kb=800), disk="u.b"),
    dump(ds(3), 1, holding("/hold/2004020303/u.b.1", kb=30), disk="u.b"),
    # u.c: its level 0 was overwritten
    dump(ds(1), 0, tape("DAILY-09", 1, unavailable=Unavailable.TAPE_REUSED), disk="u.c"),
)


def make(*names: str, **kw):
    return make_bulk_plan(CATALOG, [Request(n) for n in names], TARGET, config="daily", **kw)


def test_each_volume_is_planned_and_the_unknown_and_unrestorable_are_reported():
    b = make("u.a", "u.b", "u.c", "u.zz")
    assert [(v.name, v.verdict) for v in b.volumes] == [
        ("u.a", Verdict.RESTORABLE), ("u.b", Verdict.RESTORABLE),
        ("u.c", Verdict.NOT_RESTORABLE), ("u.zz", Verdict.UNKNOWN)]
    assert "overwritten" in b.volumes[2].reason and "unknown volume 'u.zz'" in b.volumes[3].reason
    assert b.outcome == "some"
    # one tape schedule for both chains: DAILY-02 (a's base) first, so nothing is spooled
    assert [t.label for t in b.schedule.tapes] == ["DAILY-02", "DAILY-01"]
    assert b.schedule.peak_spool_kb == 0 and b.schedule.total_kb == 1850
    assert [(h.disk, h.level) for h in b.schedule.holding] == [("u.b", 1)]


def test_all_volumes_of_a_host():
    assert [r.name for r in bulk.all_volumes(CATALOG, HOST.upper())] == ["u.a", "u.b", "u.c"]
    assert bulk.all_volumes(CATALOG, "nohost") == []


def test_a_volume_named_twice_is_planned_once():
    b = make("u.a", "u.a")
    assert len(b.volumes) == 1 and [w.code for w in b.warnings] == ["named-twice"]


def test_over_budget_names_the_volumes_and_tapes_that_force_it():
    forced = catalog(dump(ds(1), 0, tape("D-1", 5, kb=900), disk="u.x"),
                     dump(ds(2), 1, tape("D-1", 2, kb=70), disk="u.x"))
    b = make_bulk_plan(forced, [Request("u.x")], TARGET, staging_max_kb=10, staging="/spool")
    assert not b.schedule.fits and b.schedule.peak_spool_kb == 70
    (w,) = [w for w in b.warnings if w.code == "over-budget"]
    assert "70 KiB" in w.message and "u.x (from D-1)" in w.message and "after reading D-1:2" in w.message


def test_json_round_trips_with_its_hash():
    b = make("u.a", "u.b", "u.c", "u.zz", drives=2, staging="/spool", staging_max_kb=1 << 20)
    text = bulk.dumps(b)
    again = bulk.loads(text)
    assert again == b and again.plan_hash == b.plan_hash
    d = json.loads(text)
    assert d["schema"] == "coda-restore.bulkplan/1" and d["outcome"] == "some"
    assert d["totals"] == {"volumes": 4, "restorable": 2, "not-restorable": 1, "unknown": 1, "tapes": 2,
                           "kb": 1850}
    # each volume carries its single plan, hash and all
    assert d["volumes"][0]["plan"]["plan_hash"] == b.volumes[0].plan.plan_hash


@pytest.mark.parametrize("edit", [
    lambda d: d["schedule"]["tapes"].reverse(),
    lambda d: d["volumes"][0].update(verdict="not-restorable"),
    lambda d: d["volumes"][0]["plan"]["steps"][0].update(level=1),
])
def test_an_edited_bulk_plan_is_refused(tmp_path, edit):
    d = make("u.a", "u.b").to_dict()
    edit(d)
    path = tmp_path / "bulk.json"
    path.write_text(json.dumps(d))
    with pytest.raises(BadPlan, match="plan_hash"):
        bulk.load_any(path)


def test_load_any_reads_either_kind(tmp_path):
    b = make("u.a")
    (tmp_path / "bulk.json").write_text(bulk.dumps(b))
    (tmp_path / "one.json").write_text(planfile.dumps(b.volumes[0].plan))
    assert bulk.load_any(tmp_path / "bulk.json") == b
    assert bulk.load_any(tmp_path / "one.json") == b.volumes[0].plan


def test_replan_accepts_a_plan_the_records_still_give_and_refuses_one_they_do_not():
    b = make("u.a", "u.b", "u.c", drives=2)
    assert bulk.replan(b, CATALOG, name="p") is b
    changed = catalog(*(d for d in CATALOG.dumps if not (d.disk == "u.a" and d.level == 1)))
    with pytest.raises(BadPlan, match="no longer agree with this plan for 'u.a'"):
        bulk.replan(b, changed, name="p")
