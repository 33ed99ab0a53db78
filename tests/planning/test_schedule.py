"""The tape schedule: each tape once, files in order, drives balanced, and a
spool that a replay written here, from scratch, agrees with."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from coda_restore.planning.schedule import Image, Part, VolumeChain, lanes_of, make_schedule, replay


def chain(disk: str, *images: Image, host: str = "h") -> VolumeChain:
    return VolumeChain(host, disk, images)


def on(label: str, filenum: int, kb: int = 100) -> tuple[Part, ...]:
    return (Part(label, filenum, 1, kb),)


def test_a_chains_base_tape_is_read_first_so_nothing_is_spooled():
    a = chain("a", Image("1", 0, on("T2", 1)), Image("2", 1, on("T1", 1)), Image("3", 2, on("T1", 2)))
    s = make_schedule([a])
    assert [t.label for t in s.tapes] == ["T2", "T1"]
    assert s.peak_spool_kb == 0 and s.fits and not any(f.spooled for t in s.tapes for f in t.files)


def test_an_incremental_before_its_level_0_on_one_tape_must_be_spooled():
    a = chain("a", Image("1", 0, on("T1", 5, 300)), Image("2", 1, on("T1", 2, 40)))
    s = make_schedule([a], staging_max_kb=10)
    (t,) = s.tapes
    assert [(f.filenum, f.level, f.spooled) for f in t.files] == [(2, 1, True), (5, 0, False)]
    assert (s.peak_spool_kb, s.peak_at, s.fits) == (40, "T1:2", False)
    assert [(h.disk, h.label, h.filenum) for h in s.peak_holds] == [("a", "T1", 2)]


def test_a_split_dump_read_in_part_order_streams_and_out_of_order_is_spooled():
    split = (Part("T1", 9, 1, 60), Part("T2", 1, 2, 40))
    assert make_schedule([chain("a", Image("1", 0, split))]).peak_spool_kb == 0
    late = (Part("T2", 9, 1, 60), Part("T1", 1, 2, 40))  # part 1 on the second tape
    s = make_schedule([chain("a", Image("1", 0, late))])
    assert [t.label for t in s.tapes] == ["T2", "T1"] and s.peak_spool_kb == 0
    assert replay([chain("a", Image("1", 0, late))], [["T1", "T2"]]).peak_kb == 40


def test_holding_images_need_no_tape_and_no_spool():
    a = chain("a", Image("1", 0, (), 500), Image("2", 1, on("T1", 1)))
    s = make_schedule([a])
    assert [(h.disk, h.level) for h in s.holding] == [("a", 0)]
    assert s.peak_spool_kb == 0 and s.total_kb == 100


def test_two_drives_split_tapes_by_bytes_and_halve_the_time():
    chains = [chain(f"v{i}", Image("1", 0, on(f"T{i}", 1, kb))) for i, kb in enumerate((400, 300, 200, 100))]
    one = make_schedule(chains, drive_kb_s=100)
    two = make_schedule(chains, drives=2, drive_kb_s=100)
    assert one.seconds == 10.0
    assert sorted(two.drive_kb(d) for d in (1, 2)) == [500, 500] and two.seconds == 5.0


def test_the_tape_whose_reads_spool_less_is_mounted_first():
    # b's base is on T1 after a's incremental; a's base is on T2 after b's.
    a = chain("a", Image("1", 0, on("T2", 2, 100)), Image("2", 1, on("T1", 1, 10)))
    b = chain("b", Image("1", 0, on("T1", 2, 100)), Image("2", 1, on("T2", 1, 50)))
    s = make_schedule([a, b], staging_max_kb=20)
    assert [t.label for t in s.tapes] == ["T1", "T2"] and s.peak_spool_kb == 10 and s.fits


# -- properties -------------------------------------------------------------------------

LABELS = ("T1", "T2", "T3", "T4", "T5", "T6")


@st.composite
def chains_st(draw):
    """Chains whose parts land on random tapes at random, distinct file numbers."""
    raw = []
    for v in range(draw(st.integers(1, 6))):
        images = []
        for lvl in range(draw(st.integers(1, 4))):
            holding = draw(st.booleans()) and draw(st.booleans())
            labels = [] if holding else draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=2))
            images.append((lvl, labels, draw(st.integers(0, 500))))
        raw.append(images)
    slots = {label: draw(st.permutations(range(1, 40))) for label in LABELS}
    used = {label: 0 for label in LABELS}
    chains = []
    for v, images in enumerate(raw):
        out = []
        for lvl, labels, kb in images:
            parts = []
            for n, label in enumerate(labels, 1):
                parts.append(Part(label, slots[label][used[label]], n, kb))
                used[label] += 1
            out.append(Image(f"2004020{lvl}", lvl, tuple(parts), kb))
        chains.append(VolumeChain("h", f"v{v}", tuple(out)))
    return chains


def reference_spool(chains, lanes, speed):
    """Peak of: the parts read so far that the merge cannot yet take (not
    the leading parts of an image whose predecessors are all whole), after
    each read, recomputed from nothing."""
    events = []
    for d, labels in enumerate(lanes):
        kb = 0
        for label in labels:
            parts = sorted(((p, c) for c, ch in enumerate(chains) for im in ch.images for p in im.parts
                            if p.label == label), key=lambda x: x[0].filenum)
            for p, c in parts:
                kb += p.kb
                events.append((kb / speed, d, len(events), p))
    events.sort(key=lambda e: e[:2] + (0,))  # stable: in-drive order kept
    read: set = set()
    peak = 0
    for *_, p in events:
        read.add(p)
        level = 0
        for ch in chains:
            open_ = True  # every image before this one is consumed whole
            for im in ch.images:
                fed = 0
                while open_ and fed < len(im.parts) and im.parts[fed] in read:
                    fed += 1
                level += sum(q.kb for q in im.parts[fed:] if q in read)
                open_ = open_ and fed == len(im.parts)
        peak = max(peak, level)
    return peak


@settings(max_examples=300, deadline=None)
@given(chains_st(), st.integers(1, 3), st.one_of(st.none(), st.integers(0, 800)))
def test_every_schedule_reads_each_part_once_in_file_order_and_its_spool_replays(chains, drives, budget):
    s = make_schedule(chains, drives=drives, drive_kb_s=50, staging_max_kb=budget)
    labels = [t.label for t in s.tapes]
    assert len(labels) == len(set(labels))  # each tape mounted once
    for t in s.tapes:
        nums = [f.filenum for f in t.files]
        assert nums == sorted(nums) and len(nums) == len(set(nums))
    scheduled = sorted((f.disk, f.datestamp, f.partnum, t.label, f.filenum) for t in s.tapes for f in t.files)
    wanted = sorted((c.disk, im.datestamp, p.partnum, p.label, p.filenum)
                    for c in chains for im in c.images for p in im.parts)
    assert scheduled == wanted  # every image of every chain, exactly once
    assert sorted((h.disk, h.datestamp) for h in s.holding) == sorted(
        (c.disk, im.datestamp) for c in chains for im in c.images if not im.parts)
    lanes = lanes_of(s)
    assert s.peak_spool_kb == reference_spool(chains, lanes, 50) == replay(chains, lanes, 50).peak_kb
    assert replay(chains, lanes, 50).end_kb == 0  # every chain whole at the end
    if budget is not None and s.fits:
        assert s.peak_spool_kb <= budget
    assert s.fits == (budget is None or s.peak_spool_kb <= budget)
    spooled = {(t.label, f.filenum) for t in s.tapes for f in t.files if f.spooled}
    assert spooled == replay(chains, lanes, 50).spooled


@st.composite
def written_in_time_order(draw):
    """Chains as a tape rotation writes them: every image after its
    predecessor, tapes filled one after another, files in time order."""
    lengths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=6))
    pending = [list(range(n)) for n in lengths]
    sequence = []  # (volume, level) in write order: each chain's images in order
    while any(pending):
        v = draw(st.sampled_from([v for v, left in enumerate(pending) if left]))
        sequence.append((v, pending[v].pop(0)))
    cuts = sorted(draw(st.sets(st.integers(1, len(sequence)), max_size=5)) | {len(sequence)})
    names = draw(st.permutations(range(1, len(cuts) + 1)))  # labels say nothing of the write order
    images: dict[int, list[Image]] = {v: [] for v in range(len(lengths))}
    start = 0
    for t, cut in enumerate(cuts):
        for n, (v, level) in enumerate(sequence[start:cut], 1):
            kb = draw(st.integers(1, 500))
            images[v].append(Image(f"2004020{level}", level, on(f"T{names[t]:02d}", n, kb), kb))
        start = cut
    return [VolumeChain("h", f"v{v}", tuple(ims)) for v, ims in images.items()]


@settings(max_examples=200, deadline=None)
@given(written_in_time_order(), st.integers(1, 3))
def test_tapes_written_in_time_order_need_no_spool_when_the_budget_says_none(chains, drives):
    assert make_schedule(chains).peak_spool_kb == 0  # one drive: the base always comes first
    s = make_schedule(chains, drives=drives, staging_max_kb=0)
    assert s.fits and s.peak_spool_kb == 0 == replay(chains, lanes_of(s), s.drive_kb_s).peak_kb
