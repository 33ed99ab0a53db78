"""history.py against literal restatements of the two rules, on random histories.

The minimal chain must be exactly amrecover's walk as ref §5.3 writes it
(items sorted datestamp descending, level ascending; the first at or before
the target; then each later item of a strictly lower level, until level 0).
The exact chain must be the newest recorded level 0 at or before the chosen
dump and every recorded dump after it (DESIGN rule 2).
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from coda_restore.amanda.model import ClientResult, DumpStatus, Unavailable
from coda_restore.planning.history import ChainProblem, VolumeHistory

from plan_records import DISK, HOST, dump, holding, tape

# One night: (level, what happened to it)
FATES = ("tape", "holding", "reused", "failed-taper", "client-failed", "missing-part")
night = st.tuples(st.integers(0, 3), st.sampled_from(FATES), st.booleans())


def make(nights):
    dumps = []
    for day, (level, fate, second_run) in enumerate(nights, 1):
        for hour in ((3, 15) if second_run else (3,)):
            stamp = f"2004{1 + day // 28:02d}{1 + day % 28:02d}{hour:02d}0000"
            lvl = level if hour == 3 else min(level + 1, 9)
            copies, client = (), ClientResult.SUCCESS
            if fate == "tape":
                copies = (tape(f"T-{day}", hour),)
            elif fate == "holding":
                copies = (holding(f"/hold/{stamp}"),)
            elif fate == "reused":
                copies = (tape(f"T-{day}", hour, unavailable=Unavailable.TAPE_REUSED),)
            elif fate == "failed-taper":
                copies = (tape(f"T-{day}", hour, status=DumpStatus.FAIL, unavailable=Unavailable.FAILED),)
            elif fate == "missing-part":
                copies = (tape(f"T-{day}", hour, parts=((f"T-{day}", hour), (f"U-{day}", 1)),
                               status=DumpStatus.FAIL, unavailable=Unavailable.MISSING_PART),)
            else:
                client = ClientResult.FAIL
            dumps.append(dump(stamp, lvl, *copies, client=client))
    return dumps


def usable(d):
    return any(c.available and c.status is DumpStatus.OK for c in d.copies)


def amrecover_walk(dumps, bound):
    items = sorted((d for d in dumps if usable(d)), key=lambda d: d.level)
    items.sort(key=lambda d: d.datestamp, reverse=True)
    starts = [i for i, d in enumerate(items) if d.datestamp <= bound]
    if not starts:
        return []
    chain = [items[starts[0]]]
    last = chain[0].level
    for item in items[starts[0] + 1:]:
        if last == 0:
            break
        if item.level < last:
            chain.append(item)
            last = item.level
    return list(reversed(chain))


def exact_rule(dumps, bound):
    recorded = sorted((d for d in dumps if d.client.recorded or usable(d)), key=lambda d: (d.datestamp, d.level))
    upto = [d for d in recorded if d.datestamp <= bound]
    if not upto:
        return None, []
    fulls = [i for i, d in enumerate(upto) if d.level == 0]
    return upto[-1], upto[fulls[-1]:] if fulls else upto


def keys(ds):
    return [(d.datestamp, d.level) for d in ds]


@settings(max_examples=300, deadline=None)
@given(st.lists(night, min_size=1, max_size=20), st.integers(1, 21), st.sampled_from(["235959", "120000"]))
def test_chains_follow_their_rules(nights, day, time):
    dumps = make(nights)
    bound = f"2004{1 + day // 28:02d}{1 + day % 28:02d}{time}"
    hist = VolumeHistory(HOST, DISK, dumps)

    minimal = hist.minimal_chain(bound)
    assert keys(minimal.dumps) == keys(amrecover_walk(dumps, bound))
    assert minimal.complete == bool(minimal.dumps and minimal.dumps[0].level == 0)

    target, members = exact_rule(dumps, bound)
    exact = hist.exact_chain(bound)
    assert keys(exact.dumps) == keys(members)
    if target is None:
        assert exact.problem is ChainProblem.NO_DUMP
    else:
        complete = members[0].level == 0 and all(usable(d) for d in members)
        assert exact.complete == complete
        assert hist.exactly_restorable(target) == complete
        assert keys(exact.broken) == keys(d for d in members if not usable(d))
    # Never a complete chain without a level 0 under it.
    for chain in (exact, minimal):
        if chain.complete:
            assert chain.dumps[0].level == 0 and all(usable(d) for d in chain.dumps)
    # Every recorded dump between the minimal chain's ends is either in it or reported skipped.
    if minimal.dumps:
        inside = [d for d in hist.recorded
                  if (minimal.dumps[0].datestamp, minimal.dumps[0].level) < (d.datestamp, d.level)
                  < (minimal.dumps[-1].datestamp, minimal.dumps[-1].level)]
        assert set(keys(inside)) == set(keys(minimal.skipped)) | (set(keys(inside)) & set(keys(minimal.dumps)))
