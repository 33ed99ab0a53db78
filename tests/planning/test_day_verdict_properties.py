"""The calendar's per-day verdict says what `plan --date DAY` says.

For random histories (lost tapes, broken links, failed clients, two runs a
day, unreadable logs), every day of the window: ``exact`` exactly when an
exact plan for that day is restorable, ``minimal`` exactly when only a
minimal plan is, else ``none``.  The day is resolved as `plan --date
YYYY-MM-DD` resolves it (parse_when).
"""

from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from coda_restore.amanda.model import ClientResult, DumpStatus, Origin, Unavailable, UnreadableLog
from coda_restore.chain import ChainMode
from coda_restore.planning.coverage import DayVerdict, day_runs, days_of
from coda_restore.planning.history import VolumeHistory
from coda_restore.planning.planner import make_plan
from coda_restore.planning.when import parse_when

from plan_records import DISK, HOST, ds, dump, holding, tape

FATES = ("tape", "tape", "holding", "reused", "failed-taper", "client-failed")
# one night: level, fate, a second run that day (0: none, 1: at 15:00, 2: both
# runs with one 8-digit datestamp, as without usetimestamps), its log unreadable
night = st.tuples(st.integers(0, 3), st.sampled_from(FATES), st.integers(0, 2), st.integers(0, 15))


def history(nights) -> VolumeHistory:
    dumps, unreadable = [], []
    for day, (level, fate, second, damaged) in enumerate(nights, 1):
        for run in range(2 if second else 1):
            hour = 15 if run else 3
            stamp = ds(day, hour) if second < 2 else ds(day)[:8]
            lvl = min(level + run, 9)
            copies, client = (), ClientResult.SUCCESS
            if fate == "tape":
                copies = (tape(f"T-{day}", hour),)
            elif fate == "holding":
                copies = (holding(f"/hold/{stamp}"),)
            elif fate == "reused":
                copies = (tape(f"T-{day}", hour, unavailable=Unavailable.TAPE_REUSED),)
            elif fate == "failed-taper":
                copies = (tape(f"T-{day}", hour, status=DumpStatus.FAIL, unavailable=Unavailable.FAILED),)
            else:
                client = ClientResult.FAIL
            dumps.append(dump(stamp, lvl, *copies, client=client))
        if damaged == 0:  # one night in 16
            unreadable.append(UnreadableLog(Origin(f"log.{ds(day)}", 0), ds(day, 22), "cut mid-line"))
    return VolumeHistory(HOST, DISK, dumps, unreadable)


@settings(max_examples=200, deadline=None)
@given(st.lists(night, min_size=1, max_size=14), st.integers(0, 5))
def test_each_days_verdict_is_what_plan_says_for_that_day(nights, extra_days):
    hist = history(nights)
    now = datetime(2004, 2, len(nights) + 1 + extra_days, 23, 59, 59, tzinfo=timezone.utc)
    first = datetime(2004, 2, 1).date()
    runs = day_runs(hist, first, now)
    assert runs[0].first == "2004-02-01" and runs[-1].last == now.date().isoformat()
    for r in runs:
        for day in days_of(r):
            target = parse_when(day, now=now)
            exact = make_plan(hist, target, ChainMode.EXACT).restorable
            minimal = make_plan(hist, target, ChainMode.MINIMAL).restorable
            expected = DayVerdict.EXACT if exact else DayVerdict.MINIMAL if minimal else DayVerdict.NONE
            assert r.verdict is expected, (day, r)
    # runs are maximal: no two neighbours share a verdict
    assert all(a.verdict is not b.verdict for a, b in zip(runs, runs[1:]))
