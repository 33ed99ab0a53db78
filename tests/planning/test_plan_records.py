"""The literal-record builders (tests/support/plan_records.py) make the
records the model judges as each case intends."""

from __future__ import annotations

from coda_restore.amanda.model import ClientResult, DumpStatus, Unavailable
from plan_records import ds, dump, tape


def test_builders_make_records_the_model_judges_as_intended():
    good = dump(ds(1), 0, tape("D-01", 1))
    assert good.available and good.recorded
    lost = dump(ds(2), 1, tape("D-02", 1, unavailable=Unavailable.TAPE_REUSED))
    assert not lost.available and lost.recorded
    unwritten = dump(ds(3), 1)
    assert unwritten.unavailable_because is Unavailable.NOT_WRITTEN
    # available (Amanda counts it) is not usable (restorable from): a failed copy
    failed = dump(ds(4), 1, tape("D-05", 1, status=DumpStatus.FAIL))
    assert failed.available and not failed.usable and failed.recorded
    assert good.usable and not lost.usable
    flushed = dump(ds(5), 1, tape("D-06", 1, unavailable=Unavailable.FAILED), client=ClientResult.UNKNOWN)
    assert flushed.recorded and not flushed.available  # a taper writes only what a client finished
    split = tape("D-03", 0, parts=(("D-03", 4), ("D-04", 1)))
    assert split.labels == ("D-03", "D-04")
