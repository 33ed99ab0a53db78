"""check.py from literal records: restore points now, retention-window days,
Amanda's overwrite order and what each tape at risk takes away."""

from datetime import datetime

from coda_restore.amanda.model import TapelistEntry, Unavailable
from coda_restore.planning.coverage import coverage_report, overwrite_order
from coda_restore.planning.when import zone

from plan_records import DISK, HOST, catalog, ds, dump, holding, tape

UTC = zone("UTC")


def entry(label, datestamp, position, reuse=True):
    return TapelistEntry(datestamp, label, reuse=reuse, position=position)


TAPES = (
    entry("T-5", ds(5), 1), entry("T-4", ds(4), 2), entry("T-3", ds(3), 3),
    entry("T-2", ds(2), 4), entry("T-1", ds(1), 5), entry("NEW", "0", 6),
)


def test_overwrite_order_oldest_first_after_new_tapes():
    order, new_first = overwrite_order(TAPES, tapecycle=3)
    assert [t.label for t in order] == ["T-1", "T-2", "T-3", "T-4", "T-5"]  # fresh NEW is not written
    assert new_first == 0
    no_reuse = (*TAPES[:4], entry("T-1", ds(1), 5, reuse=False))
    order, new_first = overwrite_order(no_reuse, tapecycle=3)
    assert order[0].label == "T-2" and new_first == 0
    assert overwrite_order(TAPES, tapecycle=7)[1] == 2  # 5 written: two new tapes first
    # Ties (one run wrote two tapes): file order gives the positions, the later line is older.
    tie = (entry("A", ds(2), 1), entry("B", ds(1), 2), entry("C", ds(1), 3))
    assert [t.label for t in overwrite_order(tie, 2)[0]] == ["C", "B", "A"]


def test_tapes_at_risk_take_away_restore_points_cumulatively():
    dumps = [
        dump(ds(1), 0, tape("T-1", 1)),
        dump(ds(2), 1, tape("T-2", 1)),
        dump(ds(3), 0, tape("T-3", 1)),
        dump(ds(4), 1, tape("T-4", 1)),
        dump(ds(5), 1, tape("T-5", 1), holding("/hold/5")),
        dump(ds(1), 0, tape("T-1", 2), disk="u.feb"),
    ]
    report = coverage_report(catalog(*dumps, tapelist=TAPES), [(HOST, DISK), (HOST, "u.feb")],
                   datetime(2004, 2, 6, 12, tzinfo=UTC), tapecycle=3)
    assert report.ok  # u.feb: its one level 0 is still on T-1
    jan = {v.disk: v for v in report.volumes}[DISK]
    assert jan.restorable_now and jan.newest_point == f"{ds(5)}/1" and jan.oldest_point == f"{ds(1)}/0"
    assert (jan.window_days, jan.restorable_days) == (6, 6)
    risks = [(r.label, r.order, r.writes_before, r.next_run) for r in report.at_risk]
    assert risks == [("T-1", 1, 0, True), ("T-2", 2, 1, False), ("T-3", 3, 2, False)]
    lost = {r.label: {d: p for _, d, p in r.loses} for r in report.at_risk}
    assert lost["T-1"] == {DISK: (f"{ds(1)}/0", f"{ds(2)}/1"), "u.feb": (f"{ds(1)}/0",)}
    assert lost["T-2"] == {}  # day 2 was already lost with T-1
    # T-3 holds the level 0 under days 4 and 5: every remaining point goes.
    assert lost["T-3"] == {DISK: (f"{ds(3)}/0", f"{ds(4)}/1", f"{ds(5)}/1")}


def test_check_is_not_ok_when_a_volume_is_not_restorable_now():
    dumps = [dump(ds(1), 0, tape("T-1", 1)), dump(ds(2), 1, tape("T-2", 1, unavailable=Unavailable.TAPE_REUSED))]
    report = coverage_report(catalog(*dumps, tapelist=TAPES), [(HOST, DISK)], datetime(2004, 2, 3, tzinfo=UTC), None)
    (v,) = report.volumes
    assert not v.restorable_now and "broken link" in v.reason and not report.ok
    assert v.unrestorable_days == ("2004-02-02", "2004-02-03")
    assert report.at_risk == () and "tapecycle unknown" in report.at_risk_note


def test_no_tape_reusable_yet_names_the_next_one():
    report = coverage_report(catalog(dump(ds(1), 0, tape("T-1", 1)), tapelist=TAPES), [(HOST, DISK)],
                   datetime(2004, 2, 6, tzinfo=UTC), tapecycle=9, runtapes=2)
    assert [(r.label, r.writes_before, r.next_run) for r in report.at_risk][:2] == [("T-1", 4, False), ("T-2", 5, False)]
    assert "asks for 4 new tape(s) before it overwrites T-1" in report.at_risk_note


# -- age and verdicts (issue 12) ------------------------------------------------

from datetime import timedelta  # noqa: E402

import pytest  # noqa: E402

from coda_restore.planning.coverage import MaxAge, max_age_for, parse_max_age  # noqa: E402
from coda_restore.errors import NOT_RESTORABLE, OK, STALE, UsageError  # noqa: E402


def test_a_volume_whose_newest_point_is_months_old_is_stale():
    # restorable now (its chain is complete), but nothing since February
    old = catalog(dump(ds(1), 0, tape("T-1", 1)), dump(ds(2), 1, tape("T-2", 1)))
    report = coverage_report(old, [(HOST, DISK)], datetime(2004, 11, 2, 12, tzinfo=UTC), None,
                   max_age=MaxAge(timedelta(days=7), "--max-age"))
    v = report.volumes[0]
    assert v.restorable_now and v.stale and v.verdict == "FAIL"
    assert v.why == (f"stale: the newest restore point ({ds(2)}/1) is 274d 9h old, over the max age 7 days "
                     "(--max-age)",)
    assert (report.ok, report.verdict, report.exit_status) == (False, "FAIL", STALE)
    assert report.summary() == ("check: FAIL: 1 volume(s): 0 ok, 0 warn, 1 fail (0 not restorable now, 1 stale, "
                                "0 with no restore point); max age 7 days (--max-age)")
    doc = report.to_dict()["volumes"][0]
    assert (doc["verdict"], doc["stale"], doc["newest_restore_point_age_seconds"]) == \
        ("FAIL", True, (274 * 24 + 9) * 3600)
    fresh = coverage_report(old, [(HOST, DISK)], datetime(2004, 2, 5, 12, tzinfo=UTC), None,
                  max_age=MaxAge(timedelta(days=7), "--max-age"))
    assert (fresh.volumes[0].verdict, fresh.exit_status) == ("OK", OK)


def test_no_restore_point_at_all_fails_and_not_restorable_wins_over_stale():
    gone = catalog(dump(ds(1), 0, tape("T-1", 1, unavailable=Unavailable.TAPE_REUSED)),
                   dump(ds(1), 0, tape("T-1", 2), disk="u.feb"))
    report = coverage_report(gone, [(HOST, DISK), (HOST, "u.feb")], datetime(2004, 11, 2, tzinfo=UTC), None,
                   max_age=MaxAge(timedelta(days=7), "--max-age"))
    jan, feb = report.volumes
    assert jan.verdict == "FAIL" and jan.why[0] == "no restore point at all: no exact chain of it can be read"
    assert feb.verdict == "FAIL" and feb.stale
    assert report.exit_status == NOT_RESTORABLE


def test_the_next_run_overwriting_the_only_copy_of_the_newest_point_warns():
    tapes = (entry("T-2", ds(2), 1), entry("T-1", ds(1), 2))
    records = catalog(dump(ds(1), 0, tape("T-1", 1)), dump(ds(2), 1, tape("T-2", 1)), tapelist=tapes)
    report = coverage_report(records, [(HOST, DISK)], datetime(2004, 2, 3, tzinfo=UTC), tapecycle=2,
                   max_age=max_age_for(None, None, None))
    v = report.volumes[0]
    assert v.verdict == "WARN" and report.exit_status == OK and report.verdict == "WARN"
    assert v.why == ("the next run overwrites T-1, the only copy of a dump its newest restore point needs",)
    # a second copy of the level 0 on a tape not at risk: nothing to warn about
    safer = catalog(dump(ds(1), 0, tape("T-1", 1), holding("/hold/1")), dump(ds(2), 1, tape("T-2", 1)),
                    tapelist=tapes)
    assert coverage_report(safer, [(HOST, DISK)], datetime(2004, 2, 3, tzinfo=UTC), tapecycle=2).volumes[0].verdict == "OK"


def test_max_age_is_given_or_the_dumpcycle_or_amandas_default_and_says_which():
    assert parse_max_age("36h") == timedelta(hours=36)
    assert parse_max_age("7") == parse_max_age("7d") == timedelta(days=7)
    assert parse_max_age("2w") == timedelta(days=14)
    for bad in ("", "0d", "7 days", "-1", "1y"):
        with pytest.raises(UsageError):
            parse_max_age(bad)
    assert max_age_for("36h", 5, "daily").describe() == "max age 1d 12h (--max-age)"
    assert max_age_for(None, 5, "daily").describe() == "max age 5 days (the dumpcycle of daily)"
    assert max_age_for(None, 0, "daily").limit == timedelta(days=1)  # dumpcycle 0: a full every run
    assert max_age_for(None, None, None).describe() == \
        "max age 10 days (Amanda's default dumpcycle; give --max-age or --config)"
