"""Restore drills: prove a volume's chain without restoring it.

For one volume's plan (chain FULL, INCR1 .. INCRn in apply order)::

    for each incremental, in the plan's read order:
        amfetchdump it into the drill's spool (its Amanda header checked)
        validate it, collecting its names              -> its image proof
    amfetchdump the level 0 into a pipe; as its bytes pass:
        validate it, collecting its names (a thread)   -> its image proof
        merge it with the spooled incrementals, in one pass, into a pipe:
        validate the merged volume, collecting names   -> the merged proof
    header links: each incremental's oldest = its predecessor's latest
    names: each dump's index file (written by amcoda) = the names of its own
        image, both ways; the merged volume holds every name of the target
        dump's index, and exactly those when the target is the level 0
    remove the spool

Why not the union of the indexes: a name deleted in a later dump is in an
earlier index and rightly not in the merged volume.  The merge itself also
refuses a wrong base before it writes a byte; the links are reported here
because a drill's report says what was proven, not only that it passed.

What it does not promise: volutil is never run, so a drill proves that the
chain can be read, fits together and holds the names Amanda recorded, not
that a server accepts it (``run`` proves that, by dumping the result back).
A ``--chain minimal`` drill has no link to prove (DESIGN rule 2): its links
are only checked to go forward in time, and the report says so.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from coda_restore import proc
from coda_restore.amanda.amanda_index import read_index
from coda_restore.amanda.config import AmandaConfig
from coda_restore.chain import ChainMode
from coda_restore.errors import NONE_DONE, OK, PARTIAL, CodaRestoreError, Interrupted
from coda_restore.executor.events import Event, NullReporter, Reporter, Stage
from coda_restore.executor.fetch import CHUNK, Watchdog, raise_own_failure, read_amanda_header, spool
from coda_restore.executor.runner import key, step_fetch_argv, workdir_for
from coda_restore.amanda.model import Catalog
from coda_restore.planning import when
from coda_restore.planning.plan import Plan, Step, read_order
from coda_restore.planning.planner import plan_for
from coda_restore.voldump.merge import merge
from coda_restore.voldump.names import Names
from coda_restore.voldump.stream import Tee
from coda_restore.voldump.validate import Validation, validate

SCHEMA = "coda-restore.verify/1"
SHOWN = 10  # names shown per disagreement (the counts are complete)


# --- what was proven -----------------------------------------------------------


@dataclass(frozen=True)
class NamesCheck:
    """One comparison of two sets of index lines."""

    what: str  # e.g. "index = image", "merged holds the target's index"
    checked: int  # lines of the index checked
    missing: tuple[str, ...] = ()  # expected, not found (first SHOWN)
    extra: tuple[str, ...] = ()  # found, not expected (first SHOWN)
    missing_count: int = 0
    extra_count: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing_count or self.extra_count)


@dataclass(frozen=True)
class ImageProof:
    dump: str  # "datestamp/level"
    valid: bool
    bytes: int = 0
    vnodes: int = 0
    oldest: int | None = None
    latest: int | None = None
    error: str | None = None
    index: str | None = None  # the index file read
    names: NamesCheck | None = None  # None: no index to compare with (error says why)

    @property
    def ok(self) -> bool:
        return self.valid and self.names is not None and self.names.ok


@dataclass(frozen=True)
class Link:
    dump: str
    base: str
    oldest: int
    base_latest: int
    ok: bool


@dataclass(frozen=True)
class MergedProof:
    valid: bool
    bytes: int = 0
    vnodes: int = 0
    error: str | None = None
    names: NamesCheck | None = None
    discrepancies: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.valid and self.names is not None and self.names.ok


@dataclass(frozen=True)
class VolumeProof:
    host: str
    disk: str
    target: str  # the instant the plan resolved
    chain: str
    chosen: str | None
    steps: tuple[str, ...] = ()  # apply order
    images: tuple[ImageProof, ...] = ()
    links: tuple[Link, ...] = ()
    links_prove: bool = True  # False for a minimal chain: no header link proves it
    merged: MergedProof | None = None
    failure: str | None = None  # what stopped the drill (not restorable, a fetch, a merge)

    @property
    def proven(self) -> bool:
        return (self.failure is None and self.merged is not None and self.merged.ok
                and len(self.images) == len(self.steps) and all(i.ok for i in self.images)
                and all(link.ok for link in self.links))

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why it is not proven, one line each."""
        out = [self.failure] if self.failure else []
        for i in self.images:
            if not i.valid:
                out.append(f"{i.dump}: invalid image: {i.error}")
            elif i.names is None:
                out.append(f"{i.dump}: {i.error}")
            elif not i.names.ok:
                out.append(f"{i.dump}: {_names_reason(i.names)}")
        out += [f"{link.dump}: oldest {link.oldest} is not {link.base}'s latest {link.base_latest}"
                for link in self.links if not link.ok]
        m = self.merged
        if m is not None and not m.valid:
            out.append(f"merged volume invalid: {m.error}")
        elif m is not None and m.names is None:
            out.append(f"merged volume: {m.error}")
        elif m is not None and not m.names.ok:
            out.append(f"merged volume: {_names_reason(m.names)}")
        return tuple(out)

    def to_dict(self) -> dict:
        return {
            "host": self.host, "disk": self.disk, "target": self.target, "chain": self.chain,
            "chosen": self.chosen, "proven": self.proven, "reasons": list(self.reasons),
            "steps": list(self.steps),
            "links": {"prove_chain": self.links_prove,
                      "checked": [vars(link) for link in self.links]},
            "images": [_image_dict(i) for i in self.images],
            "merged": None if self.merged is None else {
                "valid": self.merged.valid, "bytes": self.merged.bytes, "vnodes": self.merged.vnodes,
                "error": self.merged.error, "names": _names_dict(self.merged.names),
                "discrepancies": list(self.merged.discrepancies)},
            "failure": self.failure,
        }


def _names_reason(n: NamesCheck) -> str:
    parts = []
    if n.missing_count:
        parts.append(f"{n.missing_count} name(s) missing ({', '.join(n.missing)})")
    if n.extra_count:
        parts.append(f"{n.extra_count} name(s) not in the index ({', '.join(n.extra)})")
    return f"{n.what}: " + "; ".join(parts)


def _names_dict(n: NamesCheck | None) -> dict | None:
    if n is None:
        return None
    return {"check": n.what, "ok": n.ok, "index_lines_checked": n.checked, "missing": list(n.missing),
            "missing_count": n.missing_count, "extra": list(n.extra), "extra_count": n.extra_count}


def _image_dict(i: ImageProof) -> dict:
    return {"dump": i.dump, "valid": i.valid, "bytes": i.bytes, "vnodes": i.vnodes, "oldest": i.oldest,
            "latest": i.latest, "error": i.error, "index": i.index, "names": _names_dict(i.names),
            "proven": i.ok}


@dataclass(frozen=True)
class DrillReport:
    volumes: tuple[VolumeProof, ...]
    selected: int  # volumes the selection named before --sample
    sample: int | None = None
    seed: int | None = None

    @property
    def exit_status(self) -> int:
        proven = sum(v.proven for v in self.volumes)
        return OK if proven == len(self.volumes) else PARTIAL if proven else NONE_DONE

    def summary(self) -> str:
        proven = sum(v.proven for v in self.volumes)
        sampled = f" (a sample of {len(self.volumes)} of {self.selected}, seed {self.seed})" \
            if self.sample is not None else ""
        return f"verify: {proven} of {len(self.volumes)} volume(s) proven{sampled}"

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "proven": self.exit_status == OK, "exit_status": self.exit_status,
                "selected": self.selected, "sample": self.sample, "seed": self.seed,
                "summary": self.summary(), "volumes": [v.to_dict() for v in self.volumes]}


def sample(volumes: Sequence[tuple[str, str]], n: int | None, seed: int) -> list[tuple[str, str]]:
    """A reproducible random subset (the same volumes, seed and N: the same
    subset), in the selection's order."""
    if n is None or n >= len(volumes):
        return list(volumes)
    chosen = set(random.Random(seed).sample(sorted(volumes), n))
    return [v for v in volumes if v in chosen]


# --- where the images come from --------------------------------------------------


class Images(Protocol):
    """The drill's source of dump images (the bytes after Amanda's header)."""

    def spool(self, step: Step, dest: Path) -> None: ...

    def stream(self, step: Step) -> contextlib.AbstractContextManager[BinaryIO]: ...


class AmandaImages:
    """amfetchdump, as ``run`` uses it: one child an image, its Amanda header
    checked, stalls stopped by the watchdog."""

    def __init__(self, plan: Plan, watchdog: Watchdog):
        self.plan, self.watchdog = plan, watchdog
        amanda = AmandaConfig(plan.config)
        _, _, user = amanda.probe()
        # Amanda's tools refuse root: a root caller runs them as the dumpuser
        self.user = user if os.geteuid() == 0 and user and user != "root" else None
        self.amanda = amanda

    def argv(self, step: Step) -> list[str]:
        return step_fetch_argv(self.plan, step, self.user)  # through the config whose records hold this copy

    def _header(self, step: Step):
        return lambda s: read_amanda_header(s, self.plan.host, self.plan.disk, step.datestamp, step.level)

    def spool(self, step: Step, dest: Path) -> None:
        spool(self.argv(step), dest, self._header(step), self.watchdog, lambda n: None)

    @contextlib.contextmanager
    def stream(self, step: Step) -> Iterator[BinaryIO]:
        child = proc.Child(self.argv(step), stdout=proc.PIPE)
        self.watchdog.watch("amfetchdump", child)
        try:
            self._header(step)(child.stdout)
            yield Tee(child.stdout, on_bytes=self.watchdog.tick)  # bytes moving: no stall
            self.watchdog.check()
            child.wait()
        except BaseException as err:
            self.watchdog.check()  # a stall explains the rest
            raise_own_failure(child, err)
            raise
        finally:
            child.kill()
            self.watchdog.forget(child)


# --- the proof of one stream ----------------------------------------------------------


class _StreamProof:
    """A dump validated in a thread while its bytes go elsewhere: ``write``
    (or ``pipe``) feeds it, ``finish`` waits for the validation and its names.
    The thread reads to the end even after an error, so a writer never blocks."""

    def __init__(self, source: str):
        r, w = os.pipe()
        self._r, self.pipe = os.fdopen(r, "rb"), os.fdopen(w, "wb")
        self.names = Names()
        self.result: Validation | None = None
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._work, args=(source,), name=f"validate {source}", daemon=True)
        self._thread.start()

    def _work(self, source: str) -> None:
        try:
            self.result = validate(self._r, source, on_record=self.names)
        except BaseException as err:  # handed to finish()
            self._failed = err
        finally:
            while self._r.read(CHUNK):
                pass
            self._r.close()

    def write(self, data) -> None:
        self.pipe.write(data)

    def finish(self) -> Validation:
        with contextlib.suppress(OSError):
            self.pipe.close()
        self._thread.join()
        if self._failed is not None:
            raise self._failed
        return self.result


def _vnodes(v: Validation) -> int:
    return sum(s.vnodes for s in v.sections)


def _error(v: Validation) -> str | None:
    return None if v.valid else str(v.error)


def _compare(what: str, expected: frozenset[bytes], found: frozenset[bytes], exact: bool) -> NamesCheck:
    missing = sorted(expected - found)
    extra = sorted(found - expected) if exact else []
    show = lambda names: tuple(n.decode("utf-8", "backslashreplace") for n in names[:SHOWN])  # noqa: E731
    return NamesCheck(what, len(expected), show(missing), show(extra), len(missing), len(extra))


# --- the drill ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DrillOptions:
    indexdir: Path
    workdir: Path = Path("/var/tmp/coda-restore")
    stall_timeout: float | None = 600.0
    # Several configs: each config's own index directory, (config, dir);
    # a copy of a config not named here is looked up in ``indexdir``.
    indexdirs: tuple[tuple[str, Path], ...] = ()

    def indexdir_of(self, config: str | None) -> Path:
        return dict(self.indexdirs).get(config or "", self.indexdir)


@dataclass
class _Drill:
    plan: Plan
    opts: DrillOptions
    images: Images
    reporter: Reporter
    proofs: dict[str, ImageProof] = field(default_factory=dict)
    headers: dict[str, tuple[int, int]] = field(default_factory=dict)  # oldest, latest
    indexes: dict[str, frozenset[bytes] | None] = field(default_factory=dict)

    @property
    def volume(self) -> str:
        return f"{self.plan.host}:{self.plan.disk}"

    def event(self, stage: Stage, dump: str | None = None, **fields) -> None:
        self.reporter.event(Event(stage, self.volume, dump, **fields))

    def image_proof(self, step: Step, v: Validation, names: Names) -> None:
        """The image's own proof: valid, and its names = its index file's."""
        k = key(step)
        if v.header is not None:
            self.headers[k] = (v.header.oldest, v.header.latest)
        common = dict(bytes=v.size, vnodes=_vnodes(v), oldest=v.header.oldest if v.header else None,
                      latest=v.header.latest if v.header else None, error=_error(v))
        try:
            index = read_index(self.opts.indexdir_of(self.plan.config_of(step)), self.plan.host, self.plan.disk, step.datestamp, step.level)
        except CodaRestoreError as err:
            self.indexes[k] = None
            self.proofs[k] = ImageProof(k, v.valid, **{**common, "error": common["error"] or str(err)})
            return
        self.indexes[k] = index.lines
        check = _compare("index = image", index.lines, frozenset(names.lines()), exact=True) if v.valid else None
        self.proofs[k] = ImageProof(k, v.valid, index=str(index.path), names=check, **common)
        self.event(Stage.VERIFY, k, bytes=v.size, finished=True, ok=self.proofs[k].ok,
                   message=f"image {'valid' if v.valid else 'INVALID'}; index {index.path.name}: "
                           f"{'names agree' if check and check.ok else 'names DISAGREE' if check else 'not compared'}")

    def spooled(self, step: Step, spool_dir: Path) -> Path:
        k = key(step)
        dest = spool_dir / f"{step.datestamp}.{step.level}.dump"
        self.event(Stage.FETCH, k, message=f"spooling to {dest}")
        self.images.spool(step, dest)
        names = Names()
        with open(dest, "rb") as f:
            v = validate(f, k, on_record=names)
        self.event(Stage.FETCH, k, bytes=v.size, finished=True)
        self.image_proof(step, v, names)
        return dest

    def merged(self, spooled: list[tuple[str, Path]], spill: Path) -> MergedProof:
        """The level 0 streamed through its own proof and the merge, the merged
        volume through another; (the merged volume's proof)."""
        full = self.plan.steps[0]
        k = key(full)
        self.event(Stage.FETCH, k, message="streaming the level 0 through the merge")
        with self.images.stream(full) as src:
            own = _StreamProof(k)
            merged_proof = own if not spooled else _StreamProof("merged volume")
            discrepancies: tuple[str, ...] = ()
            failed: CodaRestoreError | None = None
            try:
                if spooled:
                    with contextlib.ExitStack() as stack:
                        inputs = [(f"{k} (full)", Tee(src, own.write))]
                        inputs += [(f"{ik} ({p.name})", stack.enter_context(open(p, "rb"))) for ik, p in spooled]
                        discrepancies = merge(merged_proof.pipe, inputs, ChainMode(self.plan.chain),
                                              spill_dir=str(spill)).discrepancies
            except CodaRestoreError as err:
                failed = err  # a wrong link or a damaged incremental: the level 0 is still proven alone
            finally:
                v_merged = merged_proof.finish() if merged_proof is not own else None
            try:
                while chunk := src.read(CHUNK):  # what the merge left (or all of a lone level 0)
                    own.write(chunk)
            finally:
                v_full = own.finish()
        self.event(Stage.FETCH, k, bytes=v_full.size, finished=True)
        self.image_proof(full, v_full, own.names)
        if failed is not None:
            raise failed
        v_merged = v_merged or v_full
        self.event(Stage.MERGE, None, bytes=v_merged.size, finished=True, message="; ".join(discrepancies))
        target = self.plan.steps[-1]
        expected = self.indexes.get(key(target))
        if not v_merged.valid or expected is None:
            return MergedProof(v_merged.valid, v_merged.size, _vnodes(v_merged), _error(v_merged)
                               or f"no index of the target dump {key(target)} to compare with",
                               discrepancies=discrepancies)
        exact = target.level == 0
        check = _compare("merged = target's index" if exact else "merged holds the target's index", expected,
                         frozenset(merged_proof.names.lines()), exact=exact)
        return MergedProof(True, v_merged.size, _vnodes(v_merged), None, check, discrepancies)

    def links(self) -> tuple[Link, ...]:
        """Each incremental's header against its predecessor's (apply order)."""
        out = []
        steps = self.plan.steps
        for base, step in zip(steps, steps[1:]):
            b, s = self.headers.get(key(base)), self.headers.get(key(step))
            if b is None or s is None:
                continue
            ok = s[0] == b[1] if self.plan.chain == ChainMode.EXACT.value else s[1] >= b[1]
            out.append(Link(key(step), key(base), s[0], b[1], ok))
        return tuple(out)


def drill(plan: Plan, opts: DrillOptions, images: Images | None = None,
          reporter: Reporter | None = None) -> VolumeProof:
    """Prove one volume's plan; never raises for what a drill finds (it is
    the report), only for an interruption."""
    reporter = reporter or NullReporter()
    base = dict(host=plan.host, disk=plan.disk, target=plan.target.instant, chain=plan.chain, chosen=plan.chosen,
                steps=tuple(key(s) for s in plan.steps), links_prove=plan.chain == ChainMode.EXACT.value)
    if not plan.restorable:
        return VolumeProof(**base, failure=f"not restorable: {plan.reason}")
    watchdog = Watchdog(opts.stall_timeout)
    d = _Drill(plan, opts, images or AmandaImages(plan, watchdog), reporter)
    d.event(Stage.START, message=f"drill of {len(plan.steps)} dump(s), chain {plan.chain}")
    where = workdir_for(opts.workdir, plan) / "drill"  # never a run's spool
    failure, merged = None, None
    try:
        where.mkdir(parents=True, exist_ok=True)
        spooled = [(key(s), d.spooled(s, where)) for s in read_order(plan.steps)[:-1]]
        by_key = dict(spooled)
        merged = d.merged([(key(s), by_key[key(s)]) for s in plan.steps[1:]], where)
    except Interrupted:
        raise  # a signal stops the whole drill, not one volume
    except CodaRestoreError as err:
        failure = str(err)
    except OSError as err:
        failure = f"{err.filename or where}: {err.strerror or err}"
    finally:
        watchdog.close()
        for p in where.glob("*.dump*"):
            p.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            where.rmdir()
    proof = VolumeProof(**base, images=tuple(d.proofs[k] for k in base["steps"] if k in d.proofs),
                        links=d.links(), merged=merged, failure=failure)
    d.event(Stage.END, finished=True, ok=proof.proven,
            message="proven" if proof.proven else "NOT proven: " + "; ".join(proof.reasons))
    return proof


def drill_all(plans: Sequence[Plan], opts: DrillOptions, reporter: Reporter | None = None,
              selected: int | None = None, sample_n: int | None = None, seed: int | None = None,
              images: Callable[[Plan], Images] | None = None) -> DrillReport:
    """Every plan's drill, one after the other; one volume's failure never
    stops the others."""
    proofs = tuple(drill(p, opts, images(p) if images else None, reporter) for p in plans)
    return DrillReport(proofs, len(plans) if selected is None else selected, sample_n, seed)


def drill_volumes(catalog: Catalog, volumes: Sequence[tuple[str, str]], target: when.Target, chain: ChainMode,
                  config: str | None, opts: DrillOptions, reporter: Reporter | None = None, *,
                  selected: int | None = None, sample_n: int | None = None, seed: int | None = None) -> DrillReport:
    """Plan each (host, disk) for ``target`` and drill it; a volume that
    cannot be planned is reported not proven, and the others go on."""
    proofs = []
    for host, disk in volumes:
        try:
            plan = plan_for(catalog, host, disk, target, chain, config=config)
        except Interrupted:
            raise
        except CodaRestoreError as err:
            proofs.append(VolumeProof(host, disk, target.instant.isoformat(), chain.value, None, failure=str(err)))
            continue
        proofs.append(drill(plan, opts, None, reporter))
    return DrillReport(tuple(proofs), len(volumes) if selected is None else selected, sample_n, seed)
