"""Small helpers for the catalog tests: write literal Amanda records (lines
taken from the reference's examples) into a logdir under tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path

from coda_restore.amanda.catalog import build_catalog
from coda_restore.amanda.model import Catalog, Dump


def write_records(root: Path, logs: dict[str, str], tapelist: str) -> tuple[Path, Path]:
    logdir = root / "log"
    (logdir / "oldlog").mkdir(parents=True, exist_ok=True)
    for name, text in logs.items():
        (logdir / name).write_text(textwrap.dedent(text).lstrip("\n"))
    tl = root / "tapelist"
    tl.write_text(textwrap.dedent(tapelist).lstrip("\n"))
    return logdir, tl


def catalog_of(root: Path, logs: dict[str, str], tapelist: str, **kw) -> Catalog:
    logdir, tl = write_records(root, logs, tapelist)
    return build_catalog(logdir, tl, **kw)


def one(catalog: Catalog, host: str, disk: str, datestamp: str, level: int) -> Dump:
    found = [d for d in catalog.dumps if d.key == (host, disk, datestamp, level)]
    assert len(found) == 1, f"{(host, disk, datestamp, level)} not in {[d.key for d in catalog.dumps]}"
    return found[0]


def parts(copy) -> list[tuple]:
    return [(p.partnum, p.label, p.filenum, p.status.value, p.available) for p in copy.parts]
