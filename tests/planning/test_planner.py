"""planner.py: chains to plans, copy choice, tape order, warnings and alternatives.
Every case is built from literal catalog records (no tapes, no logs)."""

from datetime import datetime

import pytest

from coda_restore.amanda.model import ClientResult, DumpStatus, Unavailable
from coda_restore.chain import ChainMode
from coda_restore.errors import BadDate
from coda_restore.planning.history import VolumeHistory
from coda_restore.planning.planner import choose_copies, label_key, make_plan
from coda_restore.planning.when import parse_when, zone

from plan_records import DISK, HOST, ds, dump, holding, tape

UTC = zone("UTC")
NOW = datetime(2004, 3, 10, 12, 0, tzinfo=UTC)
REUSED = Unavailable.TAPE_REUSED


def plan(dumps, when, mode=ChainMode.EXACT, config="daily"):
    return make_plan(VolumeHistory(HOST, DISK, dumps), parse_when(when, now=NOW), mode, config=config)


def steps(p):
    return [(s.datestamp[6:8], s.level) for s in p.steps]


def codes(p):
    return [w.code for w in p.warnings]


WEEK = (
    dump(ds(1), 0, tape("DAILY-01", 1, kb=1000), kb=1000),
    dump(ds(2), 1, tape("DAILY-02", 1, kb=20), kb=20),
    dump(ds(3), 1, tape("DAILY-03", 1, kb=30), kb=30),
    dump(ds(4), 2, tape("DAILY-04", 1, kb=40), kb=40),
    dump(ds(5), 1, tape("DAILY-05", 1, kb=50), kb=50),
)


def test_exact_plan_steps_tapes_sizes_and_commands():
    p = plan(WEEK, "2004-02-05")
    assert p.restorable and p.reason == ""
    assert steps(p) == [("01", 0), ("02", 1), ("03", 1), ("04", 2), ("05", 1)]
    assert p.chosen == f"{ds(5)}/1"
    # run's order: the incrementals, then the level 0 (streamed into the merge)
    assert [t.label for t in p.tapes] == ["DAILY-02", "DAILY-03", "DAILY-04", "DAILY-05", "DAILY-01"]
    assert p.total_kb == 1140 and p.tapes[-1].kb == 1000
    assert p.steps[1].predecessor == ds(1) and p.steps[0].predecessor is None
    assert p.steps[-1].amfetchdump == (
        "amfetchdump", "-a", "-p", "--exact-match", "daily", HOST, DISK, ds(5), "1")
    assert "the chain's full dump" in p.steps[0].why
    assert f"recorded after {ds(2)}/1: its deletions are in no later dump" in p.steps[2].why
    assert "newest recorded dump at or before the target" in p.steps[-1].why
    assert p.warnings == () and p.alternatives == ()


def test_minimal_plan_says_what_it_skips_and_offers_exact():
    p = plan(WEEK, "2004-02-05", ChainMode.MINIMAL)
    assert p.restorable and steps(p) == [("01", 0), ("05", 1)]
    assert [t.label for t in p.tapes] == ["DAILY-05", "DAILY-01"]
    (skip,) = [w for w in p.warnings if w.code == "skipped-dumps"]
    assert "3 recorded dump(s)" in skip.message and "orphan vnodes" in skip.message
    (alt,) = p.alternatives
    assert alt.kind == "exact" and len(alt.tapes) == 5
    assert "setdate" in p.steps[-1].why and "Amanda's base" in p.steps[0].why


def test_broken_link_names_it_and_offers_alternatives():
    dumps = (*WEEK[:2], dump(ds(3), 1, tape("DAILY-03", 1, status=DumpStatus.FAIL, unavailable=Unavailable.FAILED)),
             *WEEK[3:], dump(ds(8), 0, tape("DAILY-08", 1)))
    p = plan(dumps, "2004-02-05")
    assert not p.restorable and p.steps == () and p.tapes == ()
    assert "broken link" in p.reason and f"{ds(3)}/1" in p.reason and "writing it to tape failed" in p.reason
    assert codes(p)[0] == "broken-link"
    kinds = {a.kind: a for a in p.alternatives}
    assert set(kinds) == {"before", "after", "minimal"}
    assert kinds["before"].datestamp == ds(2) and kinds["before"].tapes == ("DAILY-02", "DAILY-01")
    assert "3 later recorded dump(s)" in kinds["before"].loses
    assert kinds["after"].datestamp == ds(8) and kinds["after"].steps == (f"{ds(8)}/0",)
    assert kinds["minimal"].steps == (f"{ds(1)}/0", f"{ds(5)}/1")
    assert kinds["minimal"].command[-2:] == ("--chain", "minimal")
    assert "orphan" in kinds["minimal"].loses


def test_reused_tape_mid_chain_level_gap_in_minimal():
    dumps = (WEEK[0], dump(ds(2), 1, tape("DAILY-02", 1, unavailable=REUSED)), dump(ds(3), 2, tape("DAILY-03", 1)))
    exact = plan(dumps, "2004-02-03")
    assert not exact.restorable and "overwritten" in exact.reason and "DAILY-02" in exact.reason
    minimal = plan(dumps, "2004-02-03", ChainMode.MINIMAL)
    assert minimal.restorable and steps(minimal) == [("01", 0), ("03", 2)]
    (gap,) = [w for w in minimal.warnings if w.code == "level-gap"]
    assert f"{ds(3)}/2 was taken on {ds(2)}/1" in gap.message and "missing" in gap.message


def test_split_dump_with_a_missing_part_means_no_level_0():
    split = tape("DAILY-01", 5, parts=(("DAILY-01", 5), ("DAILY-02", 1)), status=DumpStatus.FAIL,
                 unavailable=Unavailable.MISSING_PART)
    dumps = (dump(ds(1), 0, split), dump(ds(2), 1, tape("DAILY-03", 1)))
    for mode in ChainMode:
        p = plan(dumps, "2004-02-02", mode)
        assert not p.restorable, mode
        assert codes(p)[0] == "no-level-0"
    minimal = plan(dumps, "2004-02-02", ChainMode.MINIMAL)
    assert "bare incrementals" in minimal.reason and "amrecover" in minimal.reason
    exact = plan(dumps, "2004-02-02")
    assert "a part of it is missing" in exact.reason
    (bare,) = [w for w in exact.warnings if w.code == "amanda-bare-incrementals"]
    assert f"{ds(2)}/1" in bare.message


def test_split_dump_reads_parts_across_tapes_in_order():
    split = tape("DAILY-01", 7, kb=200, parts=(("DAILY-01", 7), ("DAILY-02", 1)))
    p = plan((dump(ds(1), 0, split), dump(ds(2), 1, tape("DAILY-02", 2))), "2004-02-02")
    # the incremental first, then the level 0's parts: DAILY-02 is loaded twice
    assert [(t.label, [(f.filenum, f.partnum) for f in t.files]) for t in p.tapes] == [
        ("DAILY-02", [(2, 1)]), ("DAILY-01", [(7, 1)]), ("DAILY-02", [(1, 2)])]
    assert p.tape_loads == 3
    assert [(x.label, x.filenum, x.partnum) for x in p.steps[0].copy.parts] == [("DAILY-01", 7, 1), ("DAILY-02", 1, 2)]


def test_two_runs_a_day_day_target_takes_the_later_run():
    dumps = (WEEK[0], dump(ds(2, 3), 1, tape("DAILY-02", 1)), dump(ds(2, 15), 1, tape("DAILY-03", 1)))
    assert plan(dumps, "2004-02-02").chosen == f"{ds(2, 15)}/1"
    assert plan(dumps, "2004-02-02 12:00").chosen == f"{ds(2, 3)}/1"
    assert steps(plan(dumps, "2004-02-02")) == [("01", 0), ("02", 1), ("02", 1)]
    assert steps(plan(dumps, "2004-02-02", ChainMode.MINIMAL)) == [("01", 0), ("02", 1)]


def test_amflush_copy_is_used_with_its_write_timestamp():
    flushed = dump(ds(2), 1, tape("DAILY-03", 4, write=ds(3, 9)))
    p = plan((WEEK[0], flushed), "2004-02-02")
    assert p.restorable and p.steps[1].copy.write_timestamp == ds(3, 9)
    assert p.steps[1].amfetchdump[-2:] == (ds(2), "1")  # the dump timestamp, not the flush's


def test_forced_full_restarts_the_chain():
    dumps = (*WEEK[:3], dump(ds(4), 0, tape("DAILY-04", 1)), dump(ds(5), 1, tape("DAILY-05", 1)))
    p = plan(dumps, "2004-02-05")
    assert steps(p) == [("04", 0), ("05", 1)]


def test_holding_copy_is_preferred_over_tape_and_holding_only_works():
    both = dump(ds(2), 1, tape("DAILY-02", 1), holding("/hold/20040202030000/coda1.u.jan.1"))
    only = dump(ds(3), 1, holding("/hold/20040203030000/coda1.u.jan.1"))
    p = plan((WEEK[0], both, only), "2004-02-03")
    assert [s.copy.kind for s in p.steps] == ["tape", "holding", "holding"]
    assert [t.label for t in p.tapes] == ["DAILY-01"]
    assert "on the holding disk" in p.steps[1].why
    assert p.steps[2].copy.path == "/hold/20040203030000/coda1.u.jan.1"


def test_target_before_first_full():
    p = plan(WEEK, "2004-01-31")
    assert not p.restorable and "no dump" in p.reason and f"first dump is {ds(1)}/0" in p.reason
    assert [a.kind for a in p.alternatives] == ["after"]
    assert p.alternatives[0].datestamp == ds(1)


def test_minimal_with_every_dump_gone_says_so():
    dumps = (dump(ds(1), 0, tape("DAILY-01", 1, unavailable=REUSED)), dump(ds(2), 1, tape("DAILY-02", 1)),
             dump(ds(3), 0, tape("DAILY-03", 1)))
    p = plan(dumps, "2004-02-01", ChainMode.MINIMAL)
    assert not p.restorable and "can be read: the 1 made are gone" in p.reason and "overwritten" in p.reason
    assert [a.datestamp for a in p.alternatives if a.kind == "after"] == [ds(3)]


def test_future_target_is_refused_before_planning():
    with pytest.raises(BadDate):
        parse_when("2004-03-11", now=NOW)


def test_gap_in_coverage_alternatives_are_nearest_restore_points():
    # Day 2's dump was never written; a full on day 4 heals the chain.
    dumps = (WEEK[0], dump(ds(2), 1), dump(ds(3), 1, tape("DAILY-03", 1)), dump(ds(4), 0, tape("DAILY-04", 1)))
    p = plan(dumps, "2004-02-03")
    assert not p.restorable and "never written" in p.reason
    kinds = {a.kind: a for a in p.alternatives}
    assert kinds["before"].datestamp == ds(1) and kinds["after"].datestamp == ds(4)


def test_minimal_chain_older_than_target_is_flagged():
    dumps = (WEEK[0], WEEK[1], dump(ds(3), 1, tape("DAILY-03", 1, unavailable=REUSED)))
    p = plan(dumps, "2004-02-03", ChainMode.MINIMAL)
    assert p.restorable and p.chosen == f"{ds(2)}/1"
    assert codes(p)[0] == "older-than-target"


def test_client_failed_dump_is_ignored():
    dumps = (WEEK[0], dump(ds(2), 1, client=ClientResult.FAIL), WEEK[2])
    p = plan(dumps, "2004-02-03")
    assert p.restorable and steps(p) == [("01", 0), ("03", 1)]


def test_copy_choice_minimises_tape_loads():
    # Every dump is on its daily tape and vaulted; the vault tape VAULT-1 holds
    # all three, so one load beats three.  Amanda's default (oldest write) is daily.
    dumps = (
        dump(ds(1), 0, tape("DAILY-01", 1), tape("VAULT-1", 1, write=ds(3, 12), storage="vault")),
        dump(ds(2), 1, tape("DAILY-02", 1), tape("VAULT-1", 2, write=ds(3, 12), storage="vault")),
        dump(ds(3), 1, tape("DAILY-03", 1), tape("VAULT-1", 3, write=ds(3, 12), storage="vault")),
    )
    p = plan(dumps, "2004-02-03")
    assert [t.label for t in p.tapes] == ["VAULT-1"]
    assert [f.filenum for f in p.tapes[0].files] == [2, 3, 1]  # the level 0 last
    assert codes(p).count("copy-differs") == 3
    # With no saving, the tie goes to amfetchdump's own choice.
    single = plan(dumps[:1], "2004-02-01")
    assert [t.label for t in single.tapes] == ["DAILY-01"] and "copy-differs" not in codes(single)


def test_copy_choice_greedy_beyond_the_exhaustive_limit():
    # 13 dumps with two copies each: 8192 combinations, so the greedy path runs.
    dumps = [dump(ds(1), 0, tape("BIG-1", 1))]
    for day in range(2, 14):
        dumps.append(dump(ds(day), 1, tape(f"DAILY-{day:02d}", 1), tape("BIG-1", day, write=ds(20))))
    dumps.append(dump(ds(14), 1, tape("DAILY-14", 1), tape("BIG-2", 1, write=ds(20))))
    choices = choose_copies(dumps)
    labels = {lab for c in choices.values() for lab in c.copy.labels}
    assert labels == {"BIG-1", "DAILY-14"}


def test_tapes_in_natural_label_order():
    assert sorted(["DAILY-10", "DAILY-9", "DAILY-1"], key=label_key) == ["DAILY-1", "DAILY-9", "DAILY-10"]
    dumps = (dump(ds(1), 0, tape("DAILY-10", 3)), dump(ds(2), 1, tape("DAILY-9", 1)))
    assert [t.label for t in plan(dumps, "2004-02-02").tapes] == ["DAILY-9", "DAILY-10"]


def test_same_datestamp_is_warned():
    day = "20040202000000"
    dumps = (WEEK[0], dump(day, 1, tape("DAILY-02", 1)), dump(day, 2, tape("DAILY-02", 2)))
    p = plan(dumps, "2004-02-02")
    assert "same-datestamp" in codes(p)


def test_no_config_uses_a_placeholder_in_the_command():
    p = plan(WEEK[:1], "2004-02-01", config=None)
    assert p.steps[0].amfetchdump[4] == "CONFIG"


def test_a_broken_link_is_named_also_when_the_level_0_is_gone_too():
    # the full's tape was reused, and day 2 was recorded on the Coda server
    # but never written anywhere: both must be named, not only the full
    dumps = (dump(ds(1), 0, tape("DAILY-01", 1, unavailable=Unavailable.TAPE_REUSED)),
             dump(ds(2), 1),  # recorded, no copy: not-written
             dump(ds(3), 1, tape("DAILY-03", 1)))
    p = plan(dumps, "2004-02-03")
    assert not p.restorable and codes(p)[0] == "no-level-0"
    assert p.reason.endswith(
        f"the level 0 {ds(1)}/0 cannot be read because its tape was overwritten by a later run (DAILY-01); "
        f"it also cannot cross a broken link: {ds(2)}/1 (it was dumped but never written to tape or kept "
        "on the holding disk)")
    # a history that starts with incrementals names its broken links as well
    bare = plan(dumps[1:], "2004-02-03")
    assert bare.reason.endswith(f"the history starts with incrementals; it also cannot cross a broken link: "
                                f"{ds(2)}/1 (it was dumped but never written to tape or kept on the holding disk)")
