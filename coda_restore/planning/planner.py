"""From a target instant to a Plan: the chain, a copy per dump, tapes in read
order, warnings, and alternatives when the target cannot be met exactly.

Copy choice per dump: a good holding-disk copy over any tape (no tape to
load, and amfetchdump prefers it too); among good tape copies, the
combination that needs the fewest distinct tapes for the whole chain, ties
going to the copy ``amfetchdump -p`` itself would read (the oldest write).
Tapes come out in the order ``run`` reads them (``plan.read_order``: the
incrementals by label, digits compared as numbers, then file number; the
level 0 last).  The planner reads the catalog only; it never touches a tape.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo

from coda_restore.amanda.config import AMFETCHDUMP
from coda_restore.amanda.catalog import HOLDING_HINT
from coda_restore.amanda.model import Catalog, Dump, HoldingCopy, TapeCopy, Unavailable
from coda_restore.chain import ChainMode
from coda_restore.errors import BadPlan
from coda_restore.planning.history import Chain, ChainProblem, VolumeHistory
from coda_restore.links import prove
from coda_restore.planning.plan import (
    Alternative,
    CopyRef,
    Notice,
    PartRead,
    Plan,
    Step,
    TargetRecord,
    label_key,
    tape_reads,
)
from coda_restore.planning.when import Target, from_datestamp

PROVEN = "chain-proven"  # a notice, not a warning: the headers prove every link
CONFIG_PLACEHOLDER = "CONFIG"  # when the records came from --logdir, not --config
_EXHAUSTIVE_LIMIT = 4096  # copy combinations tried one by one; greedy beyond

_WHY_GONE = {
    Unavailable.TAPE_REUSED: "its tape was overwritten by a later run",
    Unavailable.TAPE_UNKNOWN: "its tape is no longer in the tapelist",
    Unavailable.MISSING_PART: "a part of it is missing (split dump)",
    Unavailable.FAILED: "writing it to tape failed",
    Unavailable.PARTIAL: "only a partial copy exists",
    Unavailable.NOT_WRITTEN: "it was dumped but never written to tape or kept on the holding disk",
    Unavailable.DUMP_FAILED: "the dump failed",
    Unavailable.UNFINISHED: "the run writing it was interrupted",
    Unavailable.HOLDING_NOT_SEARCHED: HOLDING_HINT,
}


def why_gone(dump: Dump) -> str:
    reason = dump.unavailable_because
    if reason is None and dump.copies:  # available, yet no copy has status OK
        return "its only copies are partial"
    text = _WHY_GONE.get(reason, str(reason.value) if reason else "no copy is left")
    labels = sorted({lab for c in dump.copies if isinstance(c, TapeCopy) for lab in c.labels})
    return f"{text} ({', '.join(labels)})" if labels else text


# -- copy choice -------------------------------------------------------------------


def _tape_options(dump: Dump) -> list[TapeCopy]:
    # amfetchdump's order: oldest write timestamp first, then storage.
    return sorted((c for c in dump.copies if isinstance(c, TapeCopy) and c.usable),
                  key=lambda c: (c.write_timestamp, c.storage))


@dataclass(frozen=True)
class _Choice:
    copy: TapeCopy | HoldingCopy
    why: str
    amanda_default: bool  # the copy amfetchdump -p would read


def choose_copies(dumps: Sequence[Dump]) -> dict[tuple[str, int], _Choice]:
    choices: dict[tuple[str, int], _Choice] = {}
    taped: list[tuple[Dump, list[TapeCopy]]] = []
    for d in dumps:
        holding = [c for c in d.copies if isinstance(c, HoldingCopy) and c.usable]
        if holding:
            choices[d.node] = _Choice(sorted(holding, key=lambda c: c.path)[0],
                                       "on the holding disk, no tape to load", True)
        else:
            taped.append((d, _tape_options(d)))
    if not taped:
        return choices
    picks = _minimise_loads([opts for _, opts in taped])
    used = [set(restore_labels(opts[i])) for (_, opts), i in zip(taped, picks)]
    for k, ((d, opts), i) in enumerate(zip(taped, picks)):
        copy = opts[i]
        others = set().union(*(u for j, u in enumerate(used) if j != k))
        if len(opts) == 1:
            why = "the only good one"
        elif set(restore_labels(copy)) <= others:
            why = f"of {len(opts)} copies, the one on a tape the chain loads anyway"
        elif i == 0:
            why = f"of {len(opts)} copies, the one amfetchdump reads (oldest write)"
        else:
            why = f"of {len(opts)} copies, the one that needs fewest tape loads"
        # amfetchdump CONF reads the oldest write among that config's copies
        choices[d.node] = _Choice(copy, why, copy is next(o for o in opts if o.config == copy.config))
    return choices


def restore_labels(copy: TapeCopy) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.label for p in copy.restore_parts()))


def _minimise_loads(options: list[list[TapeCopy]]) -> list[int]:
    """Indexes of one copy per dump: fewest distinct labels, then Amanda's own
    preference (lower index).  Exhaustive for small chains, greedy beyond."""
    labels = [[set(restore_labels(c)) for c in opts] for opts in options]
    sizes = [len(o) for o in options]
    total = 1
    for s in sizes:
        total *= s
    if total <= _EXHAUSTIVE_LIMIT:
        best = min(
            itertools.product(*(range(s) for s in sizes)),
            key=lambda pick: (len(set().union(*(labels[k][i] for k, i in enumerate(pick)))), sum(pick)),
        )
        return list(best)
    # Greedy: dumps with one option fix their tapes first; each other dump
    # takes the copy that adds fewest new tapes.
    loaded: set[str] = set()
    pick = [0] * len(options)
    for k in sorted(range(len(options)), key=lambda k: sizes[k]):
        pick[k] = min(range(sizes[k]), key=lambda i: (len(labels[k][i] - loaded), i))
        loaded |= labels[k][pick[k]]
    return pick


def _copy_ref(copy, several: bool) -> CopyRef:
    """The copy as a plan names it; its config only in a plan over several."""
    config = copy.config if several else None
    if isinstance(copy, HoldingCopy):
        return CopyRef("holding", path=copy.path, chunks=tuple(copy.chunks), config=config)
    return CopyRef(
        "tape", storage=copy.storage, write_timestamp=copy.write_timestamp,
        parts=tuple(PartRead(p.label, p.filenum, p.partnum, p.kb) for p in copy.restore_parts()), config=config,
    )


def _kb(dump: Dump, copy) -> int | None:
    return copy.kb if copy.kb is not None else dump.kb


@dataclass(frozen=True)
class _Reads:
    steps_copies: dict
    holding: int
    kb: int


def _reads(dumps: Sequence[Dump]) -> _Reads:
    choices = choose_copies(dumps)
    holding = sum(isinstance(choices[d.node].copy, HoldingCopy) for d in dumps)
    kb = sum(_kb(d, choices[d.node].copy) or 0 for d in dumps)
    return _Reads(choices, holding, kb)


# -- explanations ---------------------------------------------------------------


def _step_why(chain: Chain, i: int) -> str:
    d = chain.dumps[i]
    last = i == len(chain.dumps) - 1
    if chain.mode is ChainMode.EXACT:
        if d.level == 0 and i == 0:
            what = "the chain's full dump"
        else:
            what = f"recorded after {chain.dumps[i - 1].ref}: its deletions are in no later dump"
        if last:
            what += "; the newest recorded dump at or before the target"
        return what
    if last:
        return "the newest good dump at or before the target (where amrecover's setdate starts)"
    above = chain.dumps[i + 1]
    return f"Amanda's base of {above.ref}: the newest older good dump below level {above.level}"


def explain_problem(chain: Chain, hist: VolumeHistory, instant: str, bound: str | None = None) -> str:
    who = f"{hist.host}:{hist.disk}"
    if chain.problem is None and chain.mode is ChainMode.EXACT:
        proof = prove(chain.dumps)  # complete by the records: do the images' headers agree?
        return f"the exact chain for {instant} does not hold: {proof.message}" if proof and proof.broken else ""
    if chain.problem is ChainProblem.NO_DUMP:
        gone = [d for d in hist.recorded if bound is not None and d.datestamp <= bound]
        if gone:  # the minimal walk found nothing readable, yet dumps were made
            return (f"no dump of {who} at or before {instant} can be read: the {len(gone)} made are gone "
                    f"(the newest, {gone[-1].ref}: {why_gone(gone[-1])})")
        first = hist.recorded[0] if hist.recorded else None
        later = f"; its first dump is {first.ref}" if first else "; the records hold no dump of it"
        return f"no dump of {who} at or before {instant}{later}"
    if chain.problem is ChainProblem.NO_LEVEL0:
        base = chain.dumps[0]
        # the level 0 being gone must not hide the incrementals that are gone too
        links = [d for d in chain.broken if d is not base or base.level != 0]
        also = ("; it also cannot cross a broken link: "
                + "; ".join(f"{d.ref} ({why_gone(d)})" for d in links)) if links else ""
        if base.level == 0:
            return (f"the chain for {instant} has no level 0: the level 0 {base.ref} "
                    f"cannot be read because {why_gone(base)}{also}")
        bare = ", ".join(d.ref for d in chain.dumps)
        if chain.mode is ChainMode.MINIMAL:
            return (f"Amanda's chain for {instant} is bare incrementals ({bare}) with no level 0 "
                    "under them (amrecover would restore them anyway)")
        return (f"the chain for {instant} has no level 0 under it ({bare}): the history starts with "
                f"incrementals{also}")
    if chain.problem is ChainProblem.UNREADABLE_LOG:
        logs = "; ".join(f"{u.origin} ({u.what})" for u in chain.unreadable)
        return (f"the records cannot prove the chain for {instant}: a log from its level 0 "
                f"{chain.dumps[0].ref} to the target cannot be read whole, and may record a dump of "
                f"{who} that the chain would need: {logs}")
    if chain.problem is ChainProblem.BROKEN_LINK:
        links = "; ".join(f"{d.ref} ({why_gone(d)})" for d in chain.broken)
        return (f"the exact chain for {instant} cannot cross a broken link: {links}. It was recorded "
                "on the Coda server, so later incrementals do not repeat its deletions")
    return ""


def _chain_warnings(chain: Chain, hist: VolumeHistory) -> list[Notice]:
    out: list[Notice] = []
    if chain.mode is ChainMode.MINIMAL and chain.dumps:
        if chain.skipped:
            out.append(Notice(
                "skipped-dumps",
                f"the minimal chain skips {len(chain.skipped)} recorded dump(s) "
                f"({', '.join(d.ref for d in chain.skipped)}): files and directories deleted in them "
                "come back as orphan vnodes (filed under lost+found), and no header link proves the chain",
            ))
        for gap in chain.gaps:
            out.append(Notice(
                "level-gap",
                f"{gap.dump.ref} was taken on {', '.join(d.ref for d in gap.lost)}, which cannot be read "
                f"({why_gone(gap.lost[-1])}); Amanda's rule falls through to {gap.base.ref}, so changes "
                "made in between are missing",
            ))
    same = {}
    for d in chain.dumps:
        same.setdefault(d.datestamp, []).append(d)
    for stamp, ds in same.items():
        if len(ds) > 1:
            out.append(Notice(
                "same-datestamp",
                f"{len(ds)} dumps share datestamp {stamp} (two runs a day without usetimestamps): "
                "their order is a guess (lower level first)",
            ))
    return out


# -- the planner ---------------------------------------------------------------------


def _instant(datestamp: str, tz: tzinfo) -> str:
    return from_datestamp(datestamp, tz).isoformat()


def _steps(chain: Chain, reads: _Reads, hist: VolumeHistory, config: str | None,
           several: bool = False) -> tuple[Step, ...]:
    steps = []
    for i, d in enumerate(chain.dumps):
        choice = reads.steps_copies[d.node]
        # the config whose records hold the chosen copy: its amfetchdump finds it
        named = choice.copy.config or config or CONFIG_PLACEHOLDER
        argv = (*AMFETCHDUMP, named, hist.host, hist.disk, d.datestamp, str(d.level))
        steps.append(Step(
            d.datestamp, d.level, _copy_ref(choice.copy, several),
            f"{_step_why(chain, i)}; copy: {choice.why}",
            _kb(d, choice.copy), chain.dumps[i - 1].datestamp if i else None, argv,
        ))
    return tuple(steps)


def _alternative(kind: str, chain: Chain, hist: VolumeHistory, tz: tzinfo, loses: str) -> Alternative:
    reads = _reads(chain.dumps)
    labels = tuple(dict.fromkeys(t.label for t in tape_reads(_steps(chain, reads, hist, None))))
    d = chain.target
    command = ("coda-restore", "plan", hist.disk, "--host", hist.host, "--date", d.datestamp)
    if chain.mode is ChainMode.MINIMAL:
        command += ("--chain", "minimal")
    return Alternative(
        kind, chain.mode.value, d.datestamp, d.level, _instant(d.datestamp, tz),
        tuple(x.ref for x in chain.dumps), labels, reads.holding, reads.kb,
        loses, command,
    )


def _alternatives(hist: VolumeHistory, target: Target, mode: ChainMode, exact: Chain, minimal: Chain,
                  exact_holds: bool = True) -> list[Alternative]:
    tz = target.instant.tzinfo
    out: list[Alternative] = []
    if not exact.complete or not exact_holds:
        before = None
        if exact.target is not None:
            points = [p for p in hist.restore_points() if p.node < exact.target.node]
            before = points[-1] if points else None
        if before is not None:
            later = [d for d in hist.recorded if before.node < d.node and d.datestamp <= target.bound]
            out.append(_alternative(
                "before", hist.exact_chain_of(before), hist, tz,
                f"the state of {_instant(before.datestamp, tz)}: changes made after it "
                f"({len(later)} later recorded dump(s) up to the target) are not restored",
            ))
        after = hist.earliest_point_after(target.bound)
        if after is not None:
            out.append(_alternative(
                "after", hist.exact_chain_of(after), hist, tz,
                f"the state of {_instant(after.datestamp, tz)}, after the target: it includes "
                "changes made between the target and then",
            ))
    if mode is ChainMode.EXACT and not exact.complete and minimal.complete:
        skipped = f"skips {len(minimal.skipped)} recorded dump(s): files deleted in them come back as orphan vnodes"
        if minimal.gaps:
            skipped += f"; {len(minimal.gaps)} level gap(s): changes in lost dumps are missing"
        out.append(_alternative("minimal", minimal, hist, tz, skipped))
    if mode is ChainMode.MINIMAL and exact.complete:
        out.append(_alternative("exact", exact, hist, tz,
                                "nothing: the exact state, every link provable (it may need more tapes)"))
    return out


def make_plan(hist: VolumeHistory, target: Target, mode: ChainMode = ChainMode.EXACT, *,
              config: str | None = None, configs: tuple[str, ...] = ()) -> Plan:
    """The plan for one volume.  ``configs``: the configs of the records,
    when several (each copy then names its own, and so does its
    amfetchdump); ``config`` the one a plan of one config names."""
    several = len(configs) > 1
    configs = configs if several else ()
    exact = hist.exact_chain(target.bound)
    minimal = hist.minimal_chain(target.bound)
    chain = exact if mode is ChainMode.EXACT else minimal
    instant = target.describe()
    warnings = _chain_warnings(chain, hist)
    if mode is ChainMode.MINIMAL and chain.target is not None and exact.target is not None \
            and exact.target.node != chain.target.node:
        warnings.insert(0, Notice(
            "older-than-target",
            f"the newest recorded dump at or before the target is {exact.target.ref}, which cannot be read "
            f"({why_gone(exact.target)}); Amanda's chain silently starts at the older {chain.target.ref}",
        ))
    if mode is ChainMode.EXACT and minimal.problem is ChainProblem.NO_LEVEL0 and minimal.dumps:
        warnings.append(Notice(
            "amanda-bare-incrementals",
            f"amrecover's setdate would answer with {', '.join(d.ref for d in minimal.dumps)}: "
            "incrementals with no level 0 under them",
        ))
    for u in chain.unreadable:
        if chain.problem is not ChainProblem.UNREADABLE_LOG:  # else it is the reason itself
            warnings.append(Notice("unreadable-log", f"FAIL: {u.origin}: {u.what}: a dump of this volume "
                                   "recorded in it is unknown to this plan"))
    exact_proof = prove(exact.dumps) if exact.complete else None
    alternatives = _alternatives(hist, target, mode, exact, minimal, not (exact_proof and exact_proof.broken))
    common = dict(host=hist.host, disk=hist.disk, target=TargetRecord.of(target), chain=mode.value,
                  config=config, configs=configs, alternatives=tuple(alternatives))
    proof = exact_proof if mode is ChainMode.EXACT else None
    if not chain.complete or (proof and proof.broken):
        reason = explain_problem(chain, hist, instant, target.bound)
        warnings.insert(0, Notice(chain.problem.value if chain.problem else "header-link-broken", reason))
        return Plan(restorable=False, reason=reason,
                    chosen=chain.target.ref if chain.target else None,
                    warnings=tuple(warnings), **common)
    if proof is not None:
        warnings.insert(0, Notice(PROVEN if proof.proven else "not-proven", proof.message))
    reads = _reads(chain.dumps)
    for d in chain.dumps:
        choice = reads.steps_copies[d.node]
        if not choice.amanda_default:
            warnings.append(Notice(
                "copy-differs",
                f"{d.ref}: the plan reads the copy on {', '.join(restore_labels(choice.copy))} to save tape "
                "loads; the amfetchdump command shown reads Amanda's first copy (the oldest write) instead",
            ))
    steps = _steps(chain, reads, hist, config, several)
    return Plan(
        restorable=True, reason="", chosen=chain.target.ref,
        steps=steps, tapes=tape_reads(steps), total_kb=reads.kb,
        warnings=tuple(warnings), **common,
    )


def plan_for(catalog: Catalog, host: str, disk: str, target: Target, mode: ChainMode = ChainMode.EXACT, *,
             config: str | None = None) -> Plan:
    """make_plan for one volume of a catalog (of one config or several)."""
    return make_plan(VolumeHistory.of(catalog, host, disk), target, mode, config=config, configs=catalog.configs)


def replan(saved: Plan, catalog: Catalog, host: str, disk: str, *, config: str | None, name: str) -> Plan:
    """A saved plan, still to be run only if the records agree: planned
    again for its target and chain, it must give the same steps (dumps,
    copies, parts).  Raises BadPlan, calling the plan ``name``."""
    fresh = plan_for(catalog, host, disk, saved.target.resolved(), ChainMode(saved.chain), config=config)
    if fresh.steps != saved.steps:
        raise BadPlan(name, "the Amanda records no longer agree with this plan (dumps or copies changed); "
                            "make a new plan")
    return saved


__all__ = ["make_plan", "plan_for", "replan", "choose_copies", "explain_problem", "label_key", "why_gone"]
