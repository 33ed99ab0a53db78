"""The Plan: what the planner decided, as a frozen record with a JSON form.

A plan is the contract between ``plan`` and ``run``: which dumps, in which
order, from which copies, reading which tapes.  It holds only plain values
(no catalog records), so it round-trips through JSON unchanged.  Its
``plan_hash`` is the sha256 of the canonical JSON of everything else (sorted
keys, no whitespace, UTF-8), so ``run --plan`` can refuse a plan that was
edited or that no longer matches what the planner would say.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from coda_restore.errors import BadPlan
from coda_restore.json_text import indented
from coda_restore.planning import when

SCHEMA = "coda-restore.plan/1"


@dataclass(frozen=True)
class PartRead:
    label: str
    filenum: int
    partnum: int
    kb: int | None = None


@dataclass(frozen=True)
class CopyRef:
    """The copy a step reads: a tape instance (all its parts) or a holding file."""

    kind: str  # "tape" or "holding"
    storage: str | None = None
    write_timestamp: str | None = None
    parts: tuple[PartRead, ...] = ()
    path: str | None = None
    chunks: tuple[str, ...] = ()
    # Its Amanda config, in a plan over several configs (None, and not in
    # the JSON, when the records come from one: the plan's ``config``).
    config: str | None = None

    def describe(self) -> str:
        of = f" ({self.config})" if self.config else ""
        if self.kind == "holding":
            return f"holding {self.path}{of}"
        by_label: dict[str, list[str]] = {}
        for p in self.parts:
            by_label.setdefault(p.label, []).append(str(p.filenum))
        return "tape " + " ".join(f"{label}:{','.join(files)}" for label, files in by_label.items()) + of


@dataclass(frozen=True)
class Step:
    """One dump to apply, in apply order (level 0 first)."""

    datestamp: str
    level: int
    copy: CopyRef
    why: str
    kb: int | None = None
    predecessor: str | None = None  # datestamp of the step this one is merged onto
    amfetchdump: tuple[str, ...] = ()  # the equivalent Amanda command (argv)


@dataclass(frozen=True)
class TapeFile:
    filenum: int
    datestamp: str
    level: int
    partnum: int
    kb: int | None = None


@dataclass(frozen=True)
class TapeRead:
    """One tape load, its files in read order."""

    label: str
    files: tuple[TapeFile, ...]
    kb: int = 0


@dataclass(frozen=True)
class Notice:
    code: str
    message: str


@dataclass(frozen=True)
class Alternative:
    """Another restore point, when the target cannot be met exactly."""

    kind: str  # "before", "after", "minimal" or "exact"
    chain: str
    datestamp: str
    level: int
    instant: str
    steps: tuple[str, ...]  # "datestamp/level", apply order
    tapes: tuple[str, ...]
    holding: int
    kb: int
    loses: str
    command: tuple[str, ...] = ()  # the coda-restore plan argv that selects it


@dataclass(frozen=True)
class TargetRecord:
    """A when.Target as a plan stores it: the instant as ISO text, the bound
    written out."""

    input: str
    instant: str  # ISO 8601 with offset
    whole_day: bool
    bound: str  # 14-digit datestamp: dumps at or before it

    @classmethod
    def of(cls, target: when.Target) -> TargetRecord:
        return cls(target.input, target.instant.isoformat(), target.whole_day, target.bound)

    def resolved(self) -> when.Target:
        return when.Target(self.input, datetime.fromisoformat(self.instant), self.whole_day)


class Hashed:
    """A document whose ``plan_hash`` is the sha256 of its canonical
    ``body()``; ``to_dict()`` is the body with the hash."""

    def body(self) -> dict:
        raise NotImplementedError

    @property
    def plan_hash(self) -> str:
        return hashlib.sha256(canonical(self.body())).hexdigest()

    def to_dict(self) -> dict:
        d = self.body()
        d["plan_hash"] = self.plan_hash
        return d


@dataclass(frozen=True)
class Plan(Hashed):
    host: str
    disk: str
    target: TargetRecord
    chain: str
    restorable: bool
    reason: str  # why not restorable ("" when restorable)
    chosen: str | None  # "datestamp/level" of the dump the chain ends on
    steps: tuple[Step, ...] = ()
    tapes: tuple[TapeRead, ...] = ()
    total_kb: int = 0
    warnings: tuple[Notice, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    config: str | None = None
    # The configs of the records, when several (then each copy names its
    # own); empty, and not in the JSON, for one config.
    configs: tuple[str, ...] = ()
    schema: str = field(default=SCHEMA)

    @property
    def tape_loads(self) -> int:
        return len(self.tapes)

    def config_of(self, step: Step) -> str | None:
        """The config whose amfetchdump reads this step's copy."""
        return step.copy.config or self.config

    def body(self) -> dict:
        """The JSON form without the hash (one config: exactly as before
        there were several)."""
        d = asdict(self)
        if not self.configs:
            del d["configs"]
            for step in d["steps"]:
                del step["copy"]["config"]
        out = {
            "schema": d.pop("schema"),
            "volume": {"host": d.pop("host"), "disk": d.pop("disk")},
        }
        out.update(d)
        out["tape_loads"] = self.tape_loads
        return json_types(out)


def label_key(label: str):
    """Natural order: DAILY-9 before DAILY-10."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", label) if t]


def read_order(steps: Sequence[Step]) -> list[Step]:
    """The one order images are read in, by ``run`` and in the plan's tape
    list: the incrementals first (they are spooled), holding copies before
    tape copies, tapes by label and file number; the level 0 last, because
    it is streamed straight through the merge into the restore."""

    def where(s: Step):
        if s.copy.kind == "holding" or not s.copy.parts:
            return (0, [], 0)
        first = s.copy.parts[0]
        return (1, label_key(first.label), first.filenum)

    return sorted((s for s in steps if s.level != 0), key=where) + [s for s in steps if s.level == 0]


def tape_reads(steps: Sequence[Step]) -> tuple[TapeRead, ...]:
    """The tape loads of ``read_order``: reads in a row from one label are
    one load; a label read again later (the level 0's tape, often) is
    another load."""
    loads: list[tuple[str, list[TapeFile]]] = []
    for s in read_order(steps):
        if s.copy.kind != "tape":
            continue
        for p in s.copy.parts:
            if not loads or loads[-1][0] != p.label:
                loads.append((p.label, []))
            loads[-1][1].append(TapeFile(p.filenum, s.datestamp, s.level, p.partnum, p.kb))
    return tuple(TapeRead(label, tuple(files), sum(f.kb or 0 for f in files)) for label, files in loads)


def json_types(value):
    """Tuples become lists: the JSON form uses JSON's own types."""
    if isinstance(value, dict):
        return {k: json_types(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_types(v) for v in value]
    return value


def canonical(data) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def from_dict(d: dict) -> Plan:
    """Rebuild a Plan from its JSON form (the hash is not checked here)."""
    if d.get("schema") != SCHEMA:
        raise BadPlan("document", f"schema is {d.get('schema')!r}, expected {SCHEMA!r}")
    try:
        steps = tuple(
            Step(
                s["datestamp"], s["level"],
                CopyRef(
                    s["copy"]["kind"], s["copy"]["storage"], s["copy"]["write_timestamp"],
                    tuple(PartRead(**p) for p in s["copy"]["parts"]), s["copy"]["path"],
                    tuple(s["copy"]["chunks"]), s["copy"].get("config"),
                ),
                s["why"], s["kb"], s["predecessor"], tuple(s["amfetchdump"]),
            )
            for s in d["steps"]
        )
        tapes = tuple(
            TapeRead(t["label"], tuple(TapeFile(**f) for f in t["files"]), t["kb"]) for t in d["tapes"]
        )
        alternatives = tuple(
            Alternative(**{**a, "steps": tuple(a["steps"]), "tapes": tuple(a["tapes"]),
                           "command": tuple(a["command"])})
            for a in d["alternatives"]
        )
        return Plan(
            host=d["volume"]["host"], disk=d["volume"]["disk"], target=TargetRecord(**d["target"]),
            chain=d["chain"], restorable=d["restorable"], reason=d["reason"], chosen=d["chosen"],
            steps=steps, tapes=tapes, total_kb=d["total_kb"],
            warnings=tuple(Notice(**w) for w in d["warnings"]), alternatives=alternatives,
            config=d["config"], configs=tuple(d.get("configs", ())),
        )
    except (KeyError, TypeError) as err:
        raise BadPlan("document", f"malformed plan ({type(err).__name__}: {err})") from None


def dumps(plan: Plan) -> str:
    return indented(plan.to_dict(), ensure_ascii=False) + "\n"


def json_object(text: str, name: str) -> dict:
    """A plan file's text as a JSON object, or BadPlan."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise BadPlan(name, f"not JSON ({err})") from None
    if not isinstance(data, dict):
        raise BadPlan(name, "not a JSON object")
    return data


def check_hash(doc: Hashed, data: dict, name: str):
    """``doc``, rebuilt from ``data``, if the hash ``data`` records is its own."""
    if data.get("plan_hash") != doc.plan_hash:
        raise BadPlan(name, f"plan_hash does not match its content (was it edited?); "
                            f"recorded {data.get('plan_hash')!r}, computed {doc.plan_hash}")
    return doc


def loads(text: str, name: str = "plan") -> Plan:
    """Parse a plan and check that its hash matches its content."""
    data = json_object(text, name)
    return check_hash(from_dict(data), data, name)


def load(path: Path) -> Plan:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise BadPlan(path, err.strerror or str(err)) from None
    return loads(text, str(path))
