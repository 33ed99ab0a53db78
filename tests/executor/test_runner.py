"""Parts of the executor that need no tape: fetch order, default names, the volume lock, the target-name check."""

import dataclasses

import pytest

from coda_restore.errors import RunLocked
from coda_restore.executor.runner import RunOptions, _fetches, _locked, default_name
from coda_restore.planning.plan import CopyRef, PartRead, Plan, Step, TargetRecord, tape_reads


def _plan(steps, tapes, disk="u.jan"):
    target = TargetRecord("friday", "2026-05-15T23:59:59+00:00", True, "20260515235959")
    return Plan("localhost", disk, target, "exact", True, "", steps[-1].datestamp + "/1", tuple(steps),
                tuple(tapes), config="daily")


def _step(ds, level, kind="tape", at=None):
    parts = (PartRead(*at, 1),) if at else ()
    return Step(ds, level, CopyRef(kind, parts=parts), "why")


def test_incrementals_come_in_tape_read_order_with_holding_first_and_the_full_last():
    steps = [_step("20260510010000", 0, at=("A-01", 2)), _step("20260511010000", 1, at=("A-02", 1)),
             _step("20260512010000", 2, at=("A-01", 1)), _step("20260513010000", 3, kind="holding")]
    plan = _plan(steps, tape_reads(steps))
    # the executor fetches in the plan's read order: one amfetchdump an image, "... DATESTAMP LEVEL"
    order = [(argv[-2][6:8], int(argv[-1])) for (argv,) in _fetches(plan, RunOptions(), None)]
    assert order == [("13", 3), ("12", 2), ("11", 1), ("10", 0)]
    # the plan's tape list is that order: A-01 is loaded again for the level 0
    assert [(t.label, [f.datestamp[6:8] for f in t.files]) for t in plan.tapes] == [
        ("A-01", ["12"]), ("A-02", ["11"]), ("A-01", ["10"])]


def test_the_default_name_is_the_volume_and_the_day_of_the_chosen_dump():
    steps = [_step("20260510010000", 0), _step("20260513010000", 1)]
    assert default_name(_plan(steps, [])) == "u.jan.20260513"
    assert default_name(_plan(steps, [], disk="/coda/u.jan")) == "u.jan.20260513"
    assert len(default_name(_plan(steps, [], disk="a" * 40))) == 31  # V_MAXVOLNAMELEN - 1


def test_a_second_run_on_the_same_volume_is_refused_while_the_first_holds_the_lock(tmp_path):
    with _locked(tmp_path / "w"):
        with pytest.raises(RunLocked, match="another coda-restore run holds"):
            with _locked(tmp_path / "w"):
                pass
    with _locked(tmp_path / "w"):  # released: free again
        pass


def test_the_target_name_check_says_taken_as_a_state_not_in_its_words(tmp_path, monkeypatch):
    from codasim import VOLUTIL, FakeClock, Server

    from coda_restore.executor.runner import _name_check

    srv = Server(tmp_path / "server", clock=FakeClock(1_700_000_000))
    srv.create_volume("u.jan")
    monkeypatch.setenv("CODASIM_STATE", str(tmp_path / "server"))
    plan = _plan([_step("20260510010000", 0)], [])
    opts = RunOptions(server="localhost", partition="/vicepa", volutil=str(VOLUTIL))
    check, taken = _name_check(opts, "u.jan", tmp_path / "w", plan)
    assert (check.ok, taken) == (False, True) and "volume u.jan already exists on localhost" in check.detail
    check, taken = _name_check(opts, "u.new", tmp_path / "w", plan)
    assert (check.ok, taken) == (True, False) and check.detail.startswith("u.new is free on localhost")
    # volutil that cannot answer: a FAIL line, but no volume is said to be there
    opts = dataclasses.replace(opts, volutil=str(tmp_path / "no-volutil"))
    check, taken = _name_check(opts, "u.jan", tmp_path / "w", plan)
    assert (check.ok, taken, check.detail) == (False, False, "cannot ask: volutil not found")
