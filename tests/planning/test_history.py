"""history.py: the per-volume graph, the exact and minimal chains, coverage."""

from coda_restore.amanda.model import ClientResult, DumpStatus, Unavailable
from coda_restore.chain import ChainMode
from coda_restore.planning.history import ChainProblem, Link, VolumeHistory, histories

from plan_records import DISK, HOST, ds, dump, holding, tape

REUSED = Unavailable.TAPE_REUSED


def hist(*dumps):
    return VolumeHistory(HOST, DISK, dumps)


def days(chain):
    return [(d.datestamp[6:8], d.level) for d in chain.dumps]


# A week: full on the 1st, level 1 on 2nd and 3rd, a bump to 2 on the 4th, level 1 on the 5th.
WEEK = (
    dump(ds(1), 0, tape("D-01", 1)),
    dump(ds(2), 1, tape("D-02", 1)),
    dump(ds(3), 1, tape("D-03", 1)),
    dump(ds(4), 2, tape("D-04", 1)),
    dump(ds(5), 1, tape("D-05", 1)),
)


def test_graph_has_both_edge_kinds():
    h = hist(*WEEK)
    g = h.graph
    assert g.number_of_nodes() == 5
    exact = sorted((u[0][6:8], v[0][6:8]) for u, v, k in g.edges(keys=True) if k is Link.EXACT)
    base = sorted((u[0][6:8], v[0][6:8]) for u, v, k in g.edges(keys=True) if k is Link.BASE)
    assert exact == [("02", "01"), ("03", "02"), ("04", "03"), ("05", "04")]
    # Amanda's base: the newest older dump of a strictly lower level.
    assert base == [("02", "01"), ("03", "01"), ("04", "03"), ("05", "01")]


def test_exact_chain_takes_every_recorded_dump_minimal_skips():
    h = hist(*WEEK)
    exact = h.exact_chain(ds(5, 23))
    assert exact.complete and days(exact) == [("01", 0), ("02", 1), ("03", 1), ("04", 2), ("05", 1)]
    minimal = h.minimal_chain(ds(5, 23))
    assert minimal.complete and days(minimal) == [("01", 0), ("05", 1)]
    assert [d.datestamp for d in minimal.skipped] == [ds(2), ds(3), ds(4)]
    assert minimal.gaps == ()
    level2 = h.minimal_chain(ds(4, 23))
    assert days(level2) == [("01", 0), ("03", 1), ("04", 2)]
    assert [d.datestamp for d in level2.skipped] == [ds(2)]


def test_a_day_without_dumps_maps_to_the_previous_dump():
    h = hist(WEEK[0], WEEK[1], dump(ds(6), 1, tape("D-06", 1)))
    chain = h.exact_chain(ds(4, 23, 59))  # nothing ran on the 3rd to the 5th
    assert chain.complete and chain.target.datestamp == ds(2)


def test_broken_link_recorded_but_never_written():
    # Day 3: the client finished (recorded on the Coda server) but the taper failed.
    h = hist(WEEK[0], WEEK[1], dump(ds(3), 1, tape("D-03", 1, status=DumpStatus.FAIL,
                                                     unavailable=Unavailable.FAILED)),
             dump(ds(4), 1, tape("D-04", 1)))
    chain = h.exact_chain(ds(4, 23))
    assert chain.problem is ChainProblem.BROKEN_LINK
    assert [d.datestamp for d in chain.broken] == [ds(3)]
    # Amanda's walk does not notice: level 1 of day 4 sits on the level 0.
    minimal = h.minimal_chain(ds(4, 23))
    assert minimal.complete and days(minimal) == [("01", 0), ("04", 1)]
    assert [d.datestamp for d in minimal.skipped] == [ds(2), ds(3)]
    # Coverage: day 3 onward is a gap; the 1st and 2nd are restore points.
    assert [d.datestamp for d in h.restore_points()] == [ds(1), ds(2)]
    (gap,) = h.gaps()
    assert gap.start == ds(3) and gap.until is None
    assert h.latest_point_before(ds(4)).datestamp == ds(2)


def test_dump_whose_client_failed_is_not_a_link():
    failed = dump(ds(3), 1, client=ClientResult.FAIL)
    h = hist(WEEK[0], WEEK[1], failed, dump(ds(4), 1, tape("D-04", 1)))
    chain = h.exact_chain(ds(4, 23))
    assert chain.complete and days(chain) == [("01", 0), ("02", 1), ("04", 1)]
    assert h.target_dump(ds(3, 23)).datestamp == ds(2)


def test_reused_tape_mid_chain_breaks_exact_and_gap_reported_in_minimal():
    h = hist(WEEK[0], dump(ds(2), 1, tape("D-02", 1, unavailable=REUSED)), dump(ds(3), 2, tape("D-03", 1)))
    exact = h.exact_chain(ds(3, 23))
    assert exact.problem is ChainProblem.BROKEN_LINK and exact.broken[0].datestamp == ds(2)
    minimal = h.minimal_chain(ds(3, 23))
    assert minimal.complete and days(minimal) == [("01", 0), ("03", 2)]
    (gap,) = minimal.gaps
    assert gap.dump.datestamp == ds(3) and gap.base.datestamp == ds(1)
    assert [d.datestamp for d in gap.lost] == [ds(2)]


def test_split_dump_with_a_missing_part_is_not_usable():
    split = tape("D-01", 1, parts=(("D-01", 1), ("D-02", 1)), status=DumpStatus.FAIL,
                 unavailable=Unavailable.MISSING_PART)
    h = hist(dump(ds(1), 0, split), dump(ds(2), 1, tape("D-03", 1)))
    for mode in ChainMode:
        chain = h.chain(ds(2, 23), mode)
        assert chain.problem is ChainProblem.NO_LEVEL0, mode
    assert h.exact_chain(ds(2, 23)).broken[0].datestamp == ds(1)
    assert days(h.minimal_chain(ds(2, 23))) == [("02", 1)]  # amrecover's bare incremental


def test_two_runs_a_day():
    h = hist(WEEK[0], dump(ds(2, 3), 1, tape("D-02", 1)), dump(ds(2, 15), 2, tape("D-03", 1)))
    whole_day = h.exact_chain(ds(2, 23, 59))
    assert whole_day.target.datestamp == ds(2, 15)
    assert len(whole_day.dumps) == 3
    noon = h.exact_chain(ds(2, 12))
    assert noon.target.datestamp == ds(2, 3) and len(noon.dumps) == 2
    assert h.minimal_chain(ds(2, 12)).target.datestamp == ds(2, 3)


def test_amflush_and_unknown_client_copy_count_as_recorded():
    # Day 2 was dumped to holding and flushed on day 3 (a later write timestamp);
    # day 3's record comes from a flush log only (no dumper line seen).
    flushed = dump(ds(2), 1, tape("D-03", 2, write=ds(3, 9)))
    flush_only = dump(ds(3), 1, tape("D-03", 3, write=ds(3, 9)), client=ClientResult.UNKNOWN)
    h = hist(WEEK[0], flushed, flush_only)
    assert days(h.exact_chain(ds(3, 23))) == [("01", 0), ("02", 1), ("03", 1)]
    # A flush that failed, with no dumper line: still a link, and a broken one.
    lost_flush = dump(ds(3), 1, tape("D-03", 3, status=DumpStatus.FAIL, unavailable=Unavailable.FAILED),
                      client=ClientResult.UNKNOWN)
    h2 = hist(WEEK[0], flushed, lost_flush, dump(ds(4), 1, tape("D-04", 1)))
    assert h2.exact_chain(ds(4, 23)).problem is ChainProblem.BROKEN_LINK


def test_forced_full_restarts_the_chain():
    h = hist(WEEK[0], WEEK[1], dump(ds(3), 0, tape("D-03", 1)), dump(ds(4), 1, tape("D-04", 1)))
    assert days(h.exact_chain(ds(4, 23))) == [("03", 0), ("04", 1)]
    assert days(h.minimal_chain(ds(4, 23))) == [("03", 0), ("04", 1)]
    # A forced full also heals an older broken link.
    broken = hist(WEEK[0], dump(ds(2), 1), dump(ds(3), 0, tape("D-03", 1)), dump(ds(4), 1, tape("D-04", 1)))
    assert broken.exact_chain(ds(4, 23)).complete
    assert [d.datestamp for d in broken.restore_points()] == [ds(1), ds(3), ds(4)]
    (gap,) = broken.gaps()
    assert (gap.start, gap.until) == (ds(2), ds(3))


def test_holding_only_copy_is_usable():
    h = hist(WEEK[0], dump(ds(2), 1, holding("/hold/20040202030000/coda1._u.jan.1")))
    assert h.exact_chain(ds(2, 23)).complete
    partial = hist(WEEK[0], dump(ds(2), 1, holding("/hold/x", status=DumpStatus.PARTIAL)))
    assert partial.exact_chain(ds(2, 23)).problem is ChainProblem.BROKEN_LINK


def test_target_before_first_full():
    h = hist(*WEEK)
    for mode in ChainMode:
        chain = h.chain(ds(1, 2), mode)  # an hour before the first dump
        assert chain.problem is ChainProblem.NO_DUMP and chain.dumps == ()
    assert h.earliest_point_after(ds(1, 2)).datestamp == ds(1)
    # History that starts with incrementals (the full's tape is long gone).
    late = hist(dump(ds(1), 1, tape("D-01", 1)), dump(ds(2), 0, tape("D-02", 1)))
    assert late.exact_chain(ds(1, 23)).problem is ChainProblem.NO_LEVEL0
    assert late.gaps() == ()  # before the first full is not a gap, it is the start


def test_eight_digit_datestamps_same_day_lower_level_first():
    # usetimestamps=no: two runs on one day share a datestamp.
    day = "20040202000000"
    h = hist(WEEK[0], dump(day, 1, tape("D-02", 1)), dump(day, 2, tape("D-02", 2)))
    assert days(h.exact_chain("20040202235959")) == [("01", 0), ("02", 1), ("02", 2)]
    # amrecover sorts level ascending within one datestamp: the level 1 starts its walk.
    assert days(h.minimal_chain("20040202235959")) == [("01", 0), ("02", 1)]


def test_histories_groups_by_volume():
    other = dump(ds(1), 0, tape("D-01", 2), disk="u.feb")
    hs = histories([*WEEK, other])
    assert list(hs) == [(HOST, "u.feb"), (HOST, DISK)]
    assert len(hs[(HOST, DISK)].dumps) == 5
