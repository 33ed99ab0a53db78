"""What ``volumes`` and ``history`` show, as records and as their versioned
JSON documents (``coda-restore.volumes/1``, ``coda-restore.history/1``; the
README documents both).  Pure functions of a Catalog: no printing.  With
``several`` (the records of several configs) dumps, copies and summaries
name their configs; without, the documents are as they were before."""

from __future__ import annotations

from dataclasses import dataclass

from coda_restore.amanda.model import Catalog, Dump, DumpStatus, HoldingCopy, TapeCopy

HISTORY_SCHEMA = "coda-restore.history/1"
VOLUMES_SCHEMA = "coda-restore.volumes/1"


def dump_status(dump: Dump) -> str:
    """Amanda's dump status of the dump's best copy: "ok", "partial" or
    "fail"; "none" when nothing was written anywhere."""
    if not dump.copies:
        return "none"
    statuses = {c.status for c in dump.copies if c.available} or {c.status for c in dump.copies}
    for s in (DumpStatus.OK, DumpStatus.PARTIAL, DumpStatus.FAIL):
        if s in statuses:
            return s.value
    return "fail"


def _reason(x) -> str | None:
    r = x.unavailable_because
    return None if r is None else r.value


def copy_json(copy: TapeCopy | HoldingCopy, several: bool = False) -> dict:
    of = {"config": copy.config} if several else {}
    if isinstance(copy, HoldingCopy):
        return {"kind": "holding", **of, "path": copy.path, "chunks": list(copy.chunks), "status": copy.status.value,
                "available": copy.available, "unavailable_because": _reason(copy), "kb": copy.kb}
    return {
        "kind": "tape",
        **of,
        "storage": copy.storage,
        "pool": copy.pool,
        "write_timestamp": copy.write_timestamp,
        "status": copy.status.value,
        "available": copy.available,
        "unavailable_because": _reason(copy),
        "message": copy.message,
        "kb": copy.kb,
        "origin": str(copy.origin) if copy.origin else None,
        "parts": [{"part": p.partnum, "label": p.label, "filenum": p.filenum, "status": p.status.value,
                   "available": p.available, "unavailable_because": _reason(p), "kb": p.kb}
                  for p in copy.parts],
    }


def dump_json(dump: Dump, several: bool = False) -> dict:
    return {
        "datestamp": dump.datestamp,
        "level": dump.level,
        **({"configs": list(dump.configs)} if several else {}),
        "status": dump_status(dump),
        "available": dump.available,
        "unavailable_because": _reason(dump),
        "recorded": dump.recorded,
        "client": dump.client.value,
        "client_message": dump.client_message,
        "kb": dump.kb,
        "origin": str(dump.origin) if dump.origin else None,
        "copies": [copy_json(c, several) for c in dump.copies],
    }


def history_json(host: str, disk: str, dumps: tuple[Dump, ...] | list[Dump], several: bool = False) -> dict:
    """Every dump of one DLE, newest first."""
    ordered = sorted(dumps, key=lambda d: (d.datestamp, -d.level), reverse=True)
    return {"schema": HISTORY_SCHEMA, "volume": {"host": host, "disk": disk},
            "dumps": [dump_json(d, several) for d in ordered]}


@dataclass(frozen=True, slots=True)
class VolumeSummary:
    host: str
    disk: str
    dumps: int  # known, available or not
    available: int
    last_full: Dump | None  # newest available level 0
    last_dump: Dump | None  # newest known dump, whatever became of it
    last_available: Dump | None  # newest available dump
    configs: tuple[str, ...] = ()  # the configs its dumps come from, sorted


def summarize(catalog: Catalog) -> list[VolumeSummary]:
    out = []
    for host, disk in catalog.volumes():
        dumps = catalog.dumps_of(host, disk)
        avail = [d for d in dumps if d.available]
        fulls = [d for d in avail if d.level == 0]
        out.append(VolumeSummary(host, disk, len(dumps), len(avail), fulls[-1] if fulls else None,
                                 max(dumps, key=lambda d: d.datestamp) if dumps else None,
                                 max(avail, key=lambda d: d.datestamp) if avail else None,
                                 tuple(sorted({c for d in dumps for c in d.configs}))))
    return out


def _brief(d: Dump | None, several: bool = False) -> dict | None:
    if d is None:
        return None
    return {"datestamp": d.datestamp, "level": d.level, **({"configs": list(d.configs)} if several else {}),
            "available": d.available, "unavailable_because": _reason(d)}


def volumes_json(summaries: list[VolumeSummary], several: bool = False) -> dict:
    return {"schema": VOLUMES_SCHEMA, "volumes": [
        {"host": s.host, "disk": s.disk, **({"configs": list(s.configs)} if several else {}),
         "dumps": s.dumps, "available": s.available,
         "last_full": _brief(s.last_full, several), "last_dump": _brief(s.last_dump, several),
         "last_available": _brief(s.last_available, several)}
        for s in summaries]}
