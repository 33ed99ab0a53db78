"""The literal-record builders (tests/support/plan_records.py) make the
records the model judges as each case intends."""

from __future__ import annotations

from coda_restore.amanda.model import Unavailable
from plan_records import ds, dump, tape


def test_builders_make_records_the_model_judges_as_intended():
    good = dump(ds(1), 0, tape("D-01", 1))
    assert good.available and good.recorded
    lost = dump(ds(2), 1, tape("D-02", 1, unavailable=Unavailable.TAPE_REUSED))
    assert not lost.available and lost.recorded
    unwritten = dump(ds(3), 1)
    assert unwritten.unavailable_because is Unavailable.NOT_WRITTEN
    split = tape("D-03", 0, parts=(("D-03", 4), ("D-04", 1)))
    assert split.labels == ("D-03", "D-04")
