"""The tape schedule of a bulk restore: each tape mounted once, its files
read in file order, tapes split across drives, and the staging spool that
order needs.

The model.  Every volume has a chain of images in apply order (level 0
first).  An image is *consumed* (merged) once all its parts are fed to the merge,
which starts on it when its chain predecessor is consumed; a holding-disk image is on disk already, so
it is consumed the moment its predecessor is (it needs no tape and no
spool).  A tape part read before its image can be consumed goes to the
spool (``--staging``) and leaves it when the merge takes it; the merge takes an
image's parts in part order once its predecessor is consumed, so a part
read in its turn streams straight in.  So an incremental on a tape read
before its level 0's tape is spooled, and so is any image read before its
predecessor; a split dump whose parts are read in order is not.

The algorithm::

    order = []
    while tapes remain:
        for each remaining tape T: replay order + [T] on one drive
        take the T with the lowest (peak over budget, spool after T, label)
    drives: each tape, in that order, to the drive that is free first
    replay the timed schedule (file ends at bytes / drive speed): the peak
    several drives and a spool: also let the drive free first take the tape
        whose timed replay spools least; keep the better of the two
    still over budget and few tapes: try every order
    still over budget: the same with fewer drives (the others stay idle)

Taking the tape that leaves the least in the spool reads a chain's base
before its incrementals whenever that is possible.  ``replay`` is the one
spool simulation: the planner's answer, the tests and the executor's
accounting all come from it.

What it does not promise: the order is greedy, not optimal, beyond
``EXHAUSTIVE_TAPES`` tapes (it can say "over budget" where some order
fits).  With several drives the peak is that of the estimated timing; a real
drive that runs slower or faster changes which reads overlap.  With one
drive the peak is exact, whatever the speed.  Times count bytes only: no
load, seek or rewind time.
"""

from __future__ import annotations

import itertools
from collections import ChainMap
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass

from coda_restore.planning.plan import label_key

DEFAULT_DRIVE_KB_S = 100 * 1024  # 100 MiB/s: an LTO-4/5 drive streaming
EXHAUSTIVE_TAPES = 6  # over budget with at most this many tapes: try every order
TIMED_GREEDY_WORK = 2_000_000  # tapes x tape files: up to this, several drives also try _timed_greedy


# -- what is to be read ------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One tape file of an image."""

    label: str
    filenum: int
    partnum: int = 1
    kb: int = 0


@dataclass(frozen=True)
class Image:
    """One dump of a chain, its parts in part order; no parts: it is on
    the holding disk."""

    datestamp: str
    level: int
    parts: tuple[Part, ...] = ()
    kb: int = 0

    @property
    def ref(self) -> str:
        return f"{self.datestamp}/{self.level}"


@dataclass(frozen=True)
class VolumeChain:
    host: str
    disk: str
    images: tuple[Image, ...]  # apply order, level 0 first


# -- the schedule ------------------------------------------------------------------


@dataclass(frozen=True)
class FileRead:
    """One tape file in read order; ``spooled``: it goes to --staging."""

    filenum: int
    host: str
    disk: str
    datestamp: str
    level: int
    partnum: int
    kb: int
    spooled: bool


@dataclass(frozen=True)
class TapeMount:
    label: str
    drive: int  # 1-based
    position: int  # 1-based: the n-th tape this drive mounts
    start_seconds: float
    seconds: float
    kb: int
    files: tuple[FileRead, ...]


@dataclass(frozen=True)
class HoldingRead:
    host: str
    disk: str
    datestamp: str
    level: int
    kb: int


@dataclass(frozen=True)
class SpoolItem:
    """A part held in the spool (at the peak)."""

    host: str
    disk: str
    datestamp: str
    level: int
    partnum: int
    label: str
    filenum: int
    kb: int


@dataclass(frozen=True)
class Schedule:
    drives: int
    drive_kb_s: int
    staging_max_kb: int | None  # None: no budget given
    tapes: tuple[TapeMount, ...]  # by drive, then position
    holding: tuple[HoldingRead, ...] = ()
    total_kb: int = 0  # read from tape
    seconds: float = 0.0  # until the last drive is done
    peak_spool_kb: int = 0
    peak_at: str | None = None  # "LABEL:filenum" whose read reached the peak
    peak_holds: tuple[SpoolItem, ...] = ()  # what the spool holds at the peak
    fits: bool = True  # the peak is within staging_max_kb

    @property
    def drives_used(self) -> int:
        return len({t.drive for t in self.tapes})

    def drive_kb(self, drive: int) -> int:
        return sum(t.kb for t in self.tapes if t.drive == drive)


# -- the spool simulation ------------------------------------------------------------


@dataclass(frozen=True)
class Trace:
    peak_kb: int
    peak_at: str | None
    peak_holds: tuple[SpoolItem, ...]
    spooled: frozenset[tuple[str, int]]  # (label, filenum) of every spooled read
    end_kb: int  # left in the spool at the end (0 when every chain is whole)


def tape_files(chains: Sequence[VolumeChain]) -> dict[str, list[tuple[Part, int, int]]]:
    """label -> (part, chain index, image index), in file order."""
    tapes: dict[str, list[tuple[Part, int, int]]] = {}
    for c, chain in enumerate(chains):
        for i, image in enumerate(chain.images):
            for p in image.parts:
                tapes.setdefault(p.label, []).append((p, c, i))
    for files in tapes.values():
        files.sort(key=lambda f: (f[0].filenum, f[0].partnum))
    return tapes


class _Spool:
    """The consumption state while reads arrive, one at a time.  A chain's
    *open* image is the first not yet consumed; its parts are fed to the
    merge in part order, each as soon as it and those before it are read."""

    def __init__(self, chains: Sequence[VolumeChain], watch: bool = True):
        self.chains = chains
        self.watch = watch  # record what the spool holds at its peak
        # Mappings, never mutated values: a trial copy layers over them.
        self.next: MutableMapping[int, int] = dict.fromkeys(range(len(chains)), 0)  # the open image
        self.fed: MutableMapping[tuple[int, int], int] = {}  # leading parts fed, per (chain, image)
        self.held: MutableMapping[tuple[int, int], frozenset[Part]] = {}  # read, not fed: spooled
        self.kb = 0
        self.peak = 0
        self.peak_at: str | None = None
        self.peak_holds: tuple[SpoolItem, ...] = ()
        self.spooled: set[tuple[str, int]] = set()
        for c in range(len(chains)):
            self._feed(c)

    def _feed(self, c: int) -> None:
        """Feed chain ``c``'s open image from the spool, and each next image
        once the one before it is consumed whole."""
        images = self.chains[c].images
        while self.next[c] < len(images):
            key = (c, self.next[c])
            parts, held = images[key[1]].parts, self.held.get(key, frozenset())
            start = n = self.fed.get(key, 0)
            while n < len(parts) and parts[n] in held:
                self.kb -= parts[n].kb
                n += 1
            if n > start:
                self.fed[key] = n
                self.held[key] = held.difference(parts[start:n])
            if n < len(parts):
                return
            self.next[c] += 1

    def read(self, part: Part, c: int, i: int) -> None:
        key = (c, i)
        fed = self.fed.get(key, 0)
        if self.next[c] == i and self.chains[c].images[i].parts[fed] == part:
            self.fed[key] = fed + 1  # its turn: streams into the merge
            self._feed(c)
            return
        self.held[key] = self.held.get(key, frozenset()) | {part}
        self.kb += part.kb
        self.spooled.add((part.label, part.filenum))
        if self.kb > self.peak:
            self.peak = self.kb
            if self.watch:
                self.peak_at, self.peak_holds = f"{part.label}:{part.filenum}", self._holds()

    def copy(self) -> _Spool:
        """A trial copy for the greedy order: its changes go to its own
        layer, the state below is left as it is (no peak details)."""
        other = _Spool.__new__(_Spool)
        other.__dict__.update(self.__dict__)
        other.watch = False
        other.next, other.fed, other.held = ChainMap({}, self.next), ChainMap({}, self.fed), ChainMap({}, self.held)
        other.spooled = set()
        return other

    def _holds(self) -> tuple[SpoolItem, ...]:
        out = []
        for (c, i), parts in self.held.items():
            ch, image = self.chains[c], self.chains[c].images[i]
            out += [SpoolItem(ch.host, ch.disk, image.datestamp, image.level, p.partnum, p.label, p.filenum, p.kb)
                    for p in parts]
        return tuple(sorted(out, key=lambda s: (-s.kb, s.host, s.disk, s.datestamp, s.level, s.partnum)))

    def trace(self) -> Trace:
        return Trace(self.peak, self.peak_at, self.peak_holds, frozenset(self.spooled), self.kb)


def _events(chains: Sequence[VolumeChain], drives: Sequence[Sequence[str]], drive_kb_s: int):
    """Every tape read as (end time, drive, n-th read on it, part, chain, image)."""
    files = tape_files(chains)
    out = []
    for d, labels in enumerate(drives):
        kb = 0
        n = 0
        for label in labels:
            for part, c, i in files[label]:
                kb += part.kb
                n += 1
                out.append((kb / drive_kb_s, d, n, part, c, i))
    out.sort(key=lambda e: e[:3])
    return out


def replay(chains: Sequence[VolumeChain], drives: Sequence[Sequence[str]],
           drive_kb_s: int = DEFAULT_DRIVE_KB_S) -> Trace:
    """The spool over a schedule: ``drives`` lists each drive's tapes in
    mount order; reads end at (bytes read on that drive) / speed, and are
    taken in time order (ties: lower drive first)."""
    spool = _Spool(chains)
    for *_, part, c, i in _events(chains, drives, drive_kb_s):
        spool.read(part, c, i)
    return spool.trace()


# -- ordering ---------------------------------------------------------------------


def _greedy_order(chains: Sequence[VolumeChain], budget: int | None) -> list[str]:
    files = tape_files(chains)
    spool = _Spool(chains, watch=False)
    left = sorted(files, key=label_key)
    order: list[str] = []
    while left:
        best = min(left, key=lambda label: _score(spool, files[label], budget) + (label_key(label),))
        for part, c, i in files[best]:
            spool.read(part, c, i)
        order.append(best)
        left.remove(best)
    return order


def _score(spool: _Spool, files, budget: int | None) -> tuple[int, int]:
    """(peak over the budget, spool level after) were this tape read next."""
    trial = spool.copy()
    for part, c, i in files:
        trial.read(part, c, i)
    return (max(trial.peak, budget or 0), trial.kb)


def _assign(order: Sequence[str], sizes: dict[str, int], drives: int) -> list[list[str]]:
    """Each tape, in order, to the drive that is free first (fewest bytes so far)."""
    lanes: list[list[str]] = [[] for _ in range(drives)]
    load = [0] * drives
    for label in order:
        d = min(range(drives), key=lambda k: (load[k], k))
        lanes[d].append(label)
        load[d] += sizes[label]
    return lanes


def _timed_greedy(chains: Sequence[VolumeChain], sizes: dict[str, int], drives: int, drive_kb_s: int,
                  budget: int | None) -> list[list[str]]:
    """Several drives: the drive free first takes the tape whose timed
    replay, with it added, leaves the least over the budget and in the spool."""
    lanes: list[list[str]] = [[] for _ in range(drives)]
    load = [0] * drives
    left = sorted(sizes, key=label_key)
    while left:
        d = min(range(drives), key=lambda k: (load[k], k))

        def score(label: str):
            lanes[d].append(label)
            t = replay(chains, lanes, drive_kb_s)
            lanes[d].pop()
            return (max(t.peak_kb, budget or 0), t.end_kb, -sizes[label], label_key(label))

        best = min(left, key=score)
        lanes[d].append(best)
        load[d] += sizes[best]
        left.remove(best)
    return lanes


def _better(a: tuple[list[list[str]], Trace], b: tuple[list[list[str]], Trace], sizes: dict[str, int],
            budget: int | None) -> bool:
    """Is schedule ``a`` better than ``b``: within the budget first, then
    sooner done, then a smaller spool; over it, a smaller spool first."""
    def key(lanes, trace):
        end = max(sum(sizes[label] for label in lane) for lane in lanes)
        fits = budget is None or trace.peak_kb <= budget
        return (0, end, trace.peak_kb) if fits else (1, trace.peak_kb, end)
    return key(*a) < key(*b)


def make_schedule(chains: Sequence[VolumeChain], *, drives: int = 1, drive_kb_s: int = DEFAULT_DRIVE_KB_S,
                  staging_max_kb: int | None = None) -> Schedule:
    """Order the tapes of these chains, split them across ``drives`` and
    replay the spool (see the module docstring)."""
    if drives < 1 or drive_kb_s < 1:
        raise ValueError("drives and drive speed must be positive")
    files = tape_files(chains)
    sizes = {label: sum(p.kb for p, _, _ in fs) for label, fs in files.items()}
    best = _best_lanes(chains, files, sizes, drives, drive_kb_s, staging_max_kb)
    # Over the budget with every drive busy: fewer drives read fewer tapes
    # ahead of their chains' bases (one drive reads in the spool-aware order).
    for fewer in range(drives - 1, 0, -1):
        if staging_max_kb is None or best[1].peak_kb <= staging_max_kb:
            break
        lanes, trace = _best_lanes(chains, files, sizes, fewer, drive_kb_s, staging_max_kb)
        trial = (lanes + [[] for _ in range(drives - fewer)], trace)
        best = trial if _better(trial, best, sizes, staging_max_kb) else best
    return _build(chains, files, best[0], best[1], drives, drive_kb_s, staging_max_kb)


def _best_lanes(chains, files, sizes, drives: int, drive_kb_s: int, staging_max_kb: int | None):
    lanes = _assign(_greedy_order(chains, staging_max_kb), sizes, drives)
    best = (lanes, replay(chains, lanes, drive_kb_s))
    if drives > 1 and best[1].peak_kb and len(sizes) * sum(map(len, files.values())) <= TIMED_GREEDY_WORK:
        timed = _timed_greedy(chains, sizes, drives, drive_kb_s, staging_max_kb)
        trial = (timed, replay(chains, timed, drive_kb_s))
        best = trial if _better(trial, best, sizes, staging_max_kb) else best
    if staging_max_kb is not None and best[1].peak_kb > staging_max_kb and len(sizes) <= EXHAUSTIVE_TAPES:
        for perm in itertools.permutations(sorted(files, key=label_key)):
            trial_lanes = _assign(perm, sizes, drives)
            trial = (trial_lanes, replay(chains, trial_lanes, drive_kb_s))
            if _better(trial, best, sizes, staging_max_kb):
                best = trial
    return best


def _build(chains, files, lanes, trace: Trace, drives: int, drive_kb_s: int,
           staging_max_kb: int | None) -> Schedule:
    mounts = []
    end = 0.0
    for d, labels in enumerate(lanes, 1):
        start = 0.0
        for n, label in enumerate(labels, 1):
            reads = tuple(
                FileRead(p.filenum, chains[c].host, chains[c].disk, chains[c].images[i].datestamp,
                         chains[c].images[i].level, p.partnum, p.kb, (label, p.filenum) in trace.spooled)
                for p, c, i in files[label]
            )
            kb = sum(r.kb for r in reads)
            seconds = kb / drive_kb_s
            mounts.append(TapeMount(label, d, n, round(start, 1), round(seconds, 1), kb, reads))
            start += seconds
        end = max(end, start)
    holding = tuple(HoldingRead(ch.host, ch.disk, im.datestamp, im.level, im.kb)
                    for ch in chains for im in ch.images if not im.parts)
    return Schedule(
        drives=drives, drive_kb_s=drive_kb_s, staging_max_kb=staging_max_kb, tapes=tuple(mounts),
        holding=holding, total_kb=sum(t.kb for t in mounts), seconds=round(end, 1),
        peak_spool_kb=trace.peak_kb, peak_at=trace.peak_at, peak_holds=trace.peak_holds,
        fits=staging_max_kb is None or trace.peak_kb <= staging_max_kb,
    )


def lanes_of(schedule: Schedule) -> list[list[str]]:
    """Each drive's labels in mount order, as ``replay`` takes them."""
    lanes: list[list[str]] = [[] for _ in range(schedule.drives)]
    for t in sorted(schedule.tapes, key=lambda t: (t.drive, t.position)):
        lanes[t.drive - 1].append(t.label)
    return lanes
