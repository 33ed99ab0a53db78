"""One volume's dump history as a graph, and the two chain rules.

Algorithm
---------
Nodes are every dump of one volume (host, disk), keyed (datestamp, level),
with the ``Dump`` record attached.  A dump is

* *recorded* when the Coda server marked it (DESIGN rule 3): the client
  finished sending, a good copy exists, or, when no dumper/chunker line was
  seen, any copy (even a failed one) exists (``Dump.recorded``);
* *usable* when one of its copies is available with status OK (rule 4,
  ``Dump.usable``).

Time order is (datestamp, level).  Two edge kinds, each from a newer dump to
an older one:

* ``EXACT`` (exact predecessor): every recorded dump of level > 0 points to
  the previous recorded dump.  A Coda incremental is relative to the last
  recorded dump (rule 2), so this edge is the one a header link proves.
* ``BASE`` (Amanda base): every usable dump of level > 0 points to the dump
  amrecover's walk takes next (ref §5.3): in the order datestamp descending,
  level ascending, the first usable dump with an earlier datestamp and a
  strictly lower level.

Chains (oldest first):

* exact chain of dump X: follow ``EXACT`` edges from X back to the first
  level 0.  Complete only if a level 0 is reached and every member is
  usable; a recorded but unusable member is a *broken link*.
* exact chain for a target: the exact chain of the newest recorded dump at or
  before the target's bound.
* minimal chain for a target: start at the first usable dump at or before
  the bound in amrecover's order, follow ``BASE`` edges down to level 0.
  Complete only if it reaches a level 0.  It reports the recorded dumps it
  skips (their deletions come back as orphan vnodes) and *level gaps*: a
  step whose real base (a lower-level recorded dump after Amanda's base) is
  lost.

Coverage: the state after recorded dump i holds until recorded dump i+1; it
is restorable exactly when dump i's exact chain is complete.  Whether the
minimal chain for a bound is complete (``minimally_restorable``) is one
lookup too: each usable dump's ``BASE`` walk ends on the same level 0 as its
base's, computed once in time order.  That is one
forward pass over the recorded dumps (complete = usable and, for level > 0,
the previous one complete), so coverage, restore points and "what if these
tapes were overwritten" (``points_if_lost``) need no graph; the edges are
built on first use, by the chain walks, as plain dicts (``graph`` shows
them as a networkx graph, for inspection only: networkx takes longer to
import than a warm plan takes to make).

Unreadable logs: a log that exists but cannot be read whole (permissions,
cut mid-line, binary garbage, NULs) may record a dump of any volume.  A
chain whose time, from its level 0 to the bound, holds such a log's date is
not complete (``UNREADABLE_LOG``), nor a restore point, in either mode.

What it does not promise
------------------------
* It reads the catalog only.  A chain is *proven* only when the executor
  checks each incremental's header (``oldest`` equals its predecessor's
  ``latest``); a tape can still be unreadable.
* Two recorded dumps with one 8-digit datestamp (two runs a day without
  ``usetimestamps``) have no known order; the lower level is taken as the
  earlier one, and the planner warns.
* A dump whose client failed is not a node of any chain: the server did not
  mark it.  A client the logs say nothing about is trusted by its copies.
* Future tape reuse is not taken into account here (``coverage`` does that).
"""

from __future__ import annotations

import bisect
import enum
import functools
from collections.abc import Iterable
from dataclasses import dataclass

from coda_restore.amanda.model import Catalog, Dump, TapeCopy, UnreadableLog
from coda_restore.chain import ChainMode
from coda_restore.links import contradicts


class Link(enum.Enum):
    EXACT = "exact-predecessor"
    BASE = "amanda-base"


class ChainProblem(enum.Enum):
    """Why a chain cannot be restored."""

    NO_DUMP = "no-dump"  # nothing at or before the target
    NO_LEVEL0 = "no-level-0"  # the walk ends on an incremental
    BROKEN_LINK = "broken-link"  # a recorded dump the exact chain needs is gone
    UNREADABLE_LOG = "unreadable-log"  # a log in the chain's time cannot be read: it may record a member


def _node(dump: Dump) -> tuple[str, int]:
    return dump.node


def _level(dump: Dump) -> int:
    return dump.level


def _datestamp(dump: Dump) -> str:
    return dump.datestamp


@dataclass(frozen=True)
class LevelGap:
    """Amanda's walk goes from ``dump`` to ``base`` although ``lost`` (recorded,
    lower level, newer than ``base``) is what ``dump`` was really taken on."""

    dump: Dump
    base: Dump
    lost: tuple[Dump, ...]


@dataclass(frozen=True)
class Chain:
    mode: ChainMode
    dumps: tuple[Dump, ...]  # oldest first; the level 0 first when complete
    target: Dump | None  # the dump the chain ends on (or would end on)
    problem: ChainProblem | None = None
    broken: tuple[Dump, ...] = ()  # exact: recorded members without a usable copy
    skipped: tuple[Dump, ...] = ()  # minimal: recorded dumps between members, left out
    gaps: tuple[LevelGap, ...] = ()  # minimal: lost real bases
    unreadable: tuple[UnreadableLog, ...] = ()  # logs from the level 0 to the bound that cannot be read

    @property
    def complete(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Span:
    """The volume state left by ``dump`` holds from its datestamp up to
    ``until`` (the next recorded dump's datestamp, exclusive; None: now)."""

    dump: Dump
    until: str | None
    restorable: bool

    @property
    def start(self) -> str:
        return self.dump.datestamp


@dataclass(frozen=True)
class Gap:
    """A stretch of time with no exactly restorable state."""

    start: str  # datestamp where it starts (inclusive)
    until: str | None  # datestamp where restorable state resumes; None: up to now
    cause: tuple[Dump, ...]  # the recorded dumps in it whose chains are incomplete


class VolumeHistory:
    """The dumps of one (host, disk), their graph and chains."""

    def __init__(self, host: str, disk: str, dumps: Iterable[Dump], unreadable: Iterable[UnreadableLog] = ()):
        self.host, self.disk = host, disk
        # logs that could not be read: a dump of this volume may be recorded
        # in them, so no chain across their date is complete (nor provable)
        self.unreadable: tuple[UnreadableLog, ...] = tuple(sorted(unreadable, key=lambda u: u.datestamp))
        self._unreadable_at = [u.datestamp for u in self.unreadable]
        self._base: dict[tuple[str, int], str] = {}  # recorded dump -> its chain's level 0 datestamp
        self.dumps: tuple[Dump, ...] = tuple(sorted(dumps, key=_node))
        recorded, usable = [], []
        for d in self.dumps:
            if d.recorded:
                recorded.append(d)
            if d.usable:
                usable.append(d)
        self.recorded: tuple[Dump, ...] = tuple(recorded)
        self.usable: tuple[Dump, ...] = tuple(usable)
        self._usable = {d.node for d in usable}
        self._recorded_keys = [d.node for d in recorded]
        # amrecover's history order: datestamp descending, level ascending
        # (two stable sorts; a reversed sort keeps ties in order).
        self._amanda = sorted(sorted(usable, key=_level), key=_datestamp, reverse=True)
        self._flags = self._exact_completeness(self._usable)
        self._complete = dict(zip(self._recorded_keys, self._flags))
        self._points = tuple(d for d, ok in zip(recorded, self._flags) if ok)
        self._usable_stamps = [d.datestamp for d in usable]

    @classmethod
    def of(cls, catalog: Catalog, host: str, disk: str) -> VolumeHistory:
        """One volume of a catalog, with the logs that catalog could not read."""
        return cls(host, disk, catalog.dumps_of(host, disk), catalog.unreadable)

    @functools.cached_property
    def labels(self) -> frozenset[str]:
        """Every tape label any copy of this volume's dumps was written to."""
        return frozenset(p.label for d in self.dumps for c in d.copies if isinstance(c, TapeCopy) for p in c.parts)

    def ok(self, dump: Dump) -> bool:
        """Usable, from the flags computed once."""
        return dump.node in self._usable

    # -- graph ------------------------------------------------------------

    @functools.cached_property
    def _links(self) -> dict[Link, dict[tuple[str, int], Dump]]:
        """Both edge kinds: for each dump's node, the older dump each
        points to.  Plain dicts: a chain walk needs no graph library."""
        exact: dict[tuple[str, int], Dump] = {}
        base: dict[tuple[str, int], Dump] = {}
        for prev, cur in zip(self.recorded, self.recorded[1:]):
            if cur.level > 0:
                exact.setdefault(cur.node, prev)  # first wins, as the graph's first out-edge did
        for i, d in enumerate(self._amanda):
            if d.level == 0:
                continue
            for older in self._amanda[i + 1 :]:
                if older.datestamp < d.datestamp and older.level < d.level:
                    base.setdefault(d.node, older)
                    break
        return {Link.EXACT: exact, Link.BASE: base}

    @functools.cached_property
    def graph(self):
        """The same links as a networkx MultiDiGraph, for inspection: the
        chains never build it (networkx takes 70-90 ms to import, more
        than a warm plan's own work)."""
        import networkx as nx

        g = nx.MultiDiGraph(host=self.host, disk=self.disk)
        for d in self.dumps:
            g.add_node(d.node, dump=d, recorded=d.recorded, usable=self.ok(d))
        for link, edges in self._links.items():
            for node, older in edges.items():
                g.add_edge(node, older.node, key=link)
        return g

    def _follow(self, dump: Dump, link: Link) -> Dump | None:
        return self._links[link].get(dump.node)

    def _walk(self, dump: Dump, link: Link) -> list[Dump]:
        """Follow ``link`` edges from ``dump`` down to a level 0, or as far
        as they go; oldest first."""
        members = [dump]
        while members[-1].level > 0:
            older = self._follow(members[-1], link)
            if older is None:
                break
            members.append(older)
        members.reverse()
        return members

    def _exact_completeness(self, usable: set[tuple[str, int]]) -> list[bool]:
        """One pass: is each recorded dump's exact chain complete?  A link
        the images' Coda headers contradict (a scan read them) is not."""
        flags = []
        ok = False  # no level 0 seen yet
        base = None
        prev = None
        for key, dump in zip(self._recorded_keys, self.recorded):
            if key[1] == 0:
                base = key[0]
            if base is not None:
                self._base[key] = base
            ok = (key in usable) and (key[1] == 0 or ok) and not contradicts(prev, dump)
            flags.append(ok and not self.unreadable_between(base, key[0]))
            prev = dump
        return flags

    def unreadable_between(self, lo: str | None, hi: str) -> tuple[UnreadableLog, ...]:
        """The unreadable logs dated from ``lo`` to ``hi`` (inclusive)."""
        if lo is None or not self._unreadable_at:
            return ()
        i = bisect.bisect_left(self._unreadable_at, lo)
        j = bisect.bisect_right(self._unreadable_at, hi)
        return self.unreadable[i:j]

    def points_if_lost(self, labels: set[str]) -> tuple[Dump, ...]:
        """The restore points left once the tapes ``labels`` are overwritten."""
        def hit(copy) -> bool:
            return isinstance(copy, TapeCopy) and any(p.label in labels for p in copy.parts)

        lost = set()
        for d in self.usable:
            if any(hit(c) for c in d.copies) and not any(c.usable and not hit(c) for c in d.copies):
                lost.add(d.node)
        if not lost:
            return self._points
        flags = self._exact_completeness(self._usable - lost)
        return tuple(d for d, ok in zip(self.recorded, flags) if ok)

    # -- lookups ------------------------------------------------------------

    def target_dump(self, bound: str) -> Dump | None:
        """The newest recorded dump at or before ``bound`` (14 digits)."""
        i = bisect.bisect_right(self._recorded_keys, (bound, 99))
        return self.recorded[i - 1] if i else None

    def exactly_restorable(self, dump: Dump, bound: str | None = None) -> bool:
        """Its exact chain is complete, and no log up to ``bound`` (default:
        the dump itself) that cannot be read may hold a newer dump."""
        if not self._complete.get(dump.node, False):
            return False
        return bound is None or not self.unreadable_between(self._base.get(dump.node), bound)

    def restore_points(self) -> tuple[Dump, ...]:
        """Recorded dumps whose exact chain is complete, oldest first."""
        return self._points

    def latest_point_before(self, datestamp: str) -> Dump | None:
        points = [d for d in self.restore_points() if d.datestamp < datestamp]
        return points[-1] if points else None

    def minimal_start(self, bound: str) -> Dump | None:
        """The dump amrecover's walk starts on: the newest usable dump at or
        before ``bound``, the lowest level of that datestamp."""
        i = bisect.bisect_right(self._usable_stamps, bound)
        if not i:
            return None
        return self.usable[bisect.bisect_left(self._usable_stamps, self._usable_stamps[i - 1])]

    @functools.cached_property
    def _minimal_base0(self) -> dict[tuple[str, int], str | None]:
        """Usable dump -> the datestamp of the level 0 its ``BASE`` walk
        ends on (None: it ends on an incremental).  The base of a dump is,
        of the usable dumps with an earlier datestamp and a lower level, the
        newest, the lowest level on a tie: so ``newest[level]`` (the newest
        usable dump of each level from earlier datestamps) is all it needs."""
        base0: dict[tuple[str, int], str | None] = {}
        newest: dict[int, Dump] = {}
        i = 0
        while i < len(self.usable):
            stamp = self.usable[i].datestamp
            group = []
            while i < len(self.usable) and self.usable[i].datestamp == stamp:
                group.append(self.usable[i])
                i += 1
            for d in group:
                if d.level == 0:
                    base0[d.node] = d.datestamp
                    continue
                lower = [newest[lv] for lv in sorted(newest) if lv < d.level]
                base = max(lower, key=lambda b: b.datestamp, default=None)  # max keeps the first (lowest level) tie
                base0[d.node] = base0[base.node] if base is not None else None
            for d in group:
                newest[d.level] = d
        return base0

    def minimally_restorable(self, bound: str) -> bool:
        """``minimal_chain(bound).complete``, without walking the graph."""
        start = self.minimal_start(bound)
        if start is None:
            return False
        base0 = self._minimal_base0[start.node]
        return base0 is not None and not self.unreadable_between(base0, bound)

    def earliest_point_after(self, bound: str) -> Dump | None:
        return next((d for d in self.restore_points() if d.datestamp > bound), None)

    def between(self, older: Dump, newer: Dump) -> tuple[Dump, ...]:
        """Recorded dumps strictly between two dumps, in time order."""
        lo, hi = older.node, newer.node
        return tuple(d for d in self.recorded if lo < d.node < hi)

    # -- chains ---------------------------------------------------------------

    def exact_chain_of(self, dump: Dump, bound: str | None = None) -> Chain:
        members = self._walk(dump, Link.EXACT)
        broken = tuple(d for d in members if not self.ok(d))
        if members[0].level != 0 or not self.ok(members[0]):
            problem = ChainProblem.NO_LEVEL0
        elif broken:
            problem = ChainProblem.BROKEN_LINK
        else:
            problem = None
        unreadable = self.unreadable_between(members[0].datestamp, bound or dump.datestamp)
        if problem is None and unreadable:
            problem = ChainProblem.UNREADABLE_LOG
        return Chain(ChainMode.EXACT, tuple(members), dump, problem, broken=broken, unreadable=unreadable)

    def exact_chain(self, bound: str) -> Chain:
        target = self.target_dump(bound)
        if target is None:
            return Chain(ChainMode.EXACT, (), None, ChainProblem.NO_DUMP,
                         unreadable=self.unreadable_between("", bound))
        return self.exact_chain_of(target, bound)

    def minimal_chain(self, bound: str) -> Chain:
        start = next((d for d in self._amanda if d.datestamp <= bound), None)
        if start is None:
            return Chain(ChainMode.MINIMAL, (), None, ChainProblem.NO_DUMP, unreadable=self.unreadable_between("", bound))
        members = self._walk(start, Link.BASE)
        problem = None if members[0].level == 0 else ChainProblem.NO_LEVEL0
        unreadable = self.unreadable_between(members[0].datestamp, bound)
        if problem is None and unreadable:
            problem = ChainProblem.UNREADABLE_LOG  # the newest dump, or a better base, may be in it
        in_chain = {d.node for d in members}
        skipped = tuple(d for d in self.between(members[0], members[-1]) if d.node not in in_chain)
        gaps = []
        for base, dump in zip(members, members[1:]):
            lost = tuple(d for d in self.between(base, dump) if d.level < dump.level and not self.ok(d))
            if lost:
                gaps.append(LevelGap(dump, base, lost))
        return Chain(ChainMode.MINIMAL, tuple(members), start, problem, skipped=skipped, gaps=tuple(gaps),
                     unreadable=unreadable)

    def chain(self, bound: str, mode: ChainMode) -> Chain:
        return self.exact_chain(bound) if mode is ChainMode.EXACT else self.minimal_chain(bound)

    # -- coverage ---------------------------------------------------------------

    def spans(self) -> tuple[Span, ...]:
        rec = self.recorded
        return tuple(
            Span(d, rec[i + 1].datestamp if i + 1 < len(rec) else None, ok)
            for i, (d, ok) in enumerate(zip(rec, self._flags))
        )

    def gaps(self) -> tuple[Gap, ...]:
        """Stretches after the first recorded dump with no exact restore.
        (Before the first level 0 nothing was ever restorable; that is not a gap
        but the start of history.)"""
        out: list[Gap] = []
        cause: list[Dump] = []
        started = False
        for span in self.spans():
            if span.restorable:
                if cause:
                    out.append(Gap(cause[0].datestamp, span.start, tuple(cause)))
                    cause = []
                started = True
            elif started:
                cause.append(span.dump)
        if cause:
            out.append(Gap(cause[0].datestamp, None, tuple(cause)))
        return tuple(out)


def histories(dumps: Iterable[Dump]) -> dict[tuple[str, str], VolumeHistory]:
    """Group a catalog's dumps by (host, disk)."""
    by: dict[tuple[str, str], list[Dump]] = {}
    for d in dumps:
        by.setdefault((d.host, d.disk), []).append(d)
    return {k: VolumeHistory(k[0], k[1], v) for k, v in sorted(by.items())}
