"""check.py from literal records: restore points now, retention-window days,
Amanda's overwrite order and what each tape at risk takes away."""

from datetime import datetime

from coda_restore.amanda.model import TapelistEntry, Unavailable
from coda_restore.check import check, overwrite_order
from coda_restore.when import zone

from test_plan_records import DISK, HOST, catalog, ds, dump, holding, tape

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
    report = check(catalog(*dumps, tapelist=TAPES), [(HOST, DISK), (HOST, "u.feb")],
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
    report = check(catalog(*dumps, tapelist=TAPES), [(HOST, DISK)], datetime(2004, 2, 3, tzinfo=UTC), None)
    (v,) = report.volumes
    assert not v.restorable_now and "broken link" in v.reason and not report.ok
    assert v.unrestorable_days == ("2004-02-02", "2004-02-03")
    assert report.at_risk == () and "tapecycle unknown" in report.at_risk_note


def test_no_tape_reusable_yet_names_the_next_one():
    report = check(catalog(dump(ds(1), 0, tape("T-1", 1)), tapelist=TAPES), [(HOST, DISK)],
                   datetime(2004, 2, 6, tzinfo=UTC), tapecycle=9, runtapes=2)
    assert [(r.label, r.writes_before, r.next_run) for r in report.at_risk][:2] == [("T-1", 4, False), ("T-2", 5, False)]
    assert "asks for 4 new tape(s) before it overwrites T-1" in report.at_risk_note
