"""The arguments ``extract`` and ``ls`` share: ``DUMP... [PATH...]`` and the
options that go with them, the split of one argument list into dumps and
paths, and the extraction run with the flags named in its errors (the codec
says what is wrong; which flag it concerns is said here)."""

from __future__ import annotations

import os
import stat
from typing import Annotated, Optional, Sequence

import typer

from coda_restore.chain import ChainMode
from coda_restore.errors import OwnLostFound, UsageError
from coda_restore.voldump.extract import ExtractOptions, ExtractResult, Sink, extract_dumps
from coda_restore.voldump.records import DUMPBEGINMAGIC, Tag
from coda_restore.voldump.tree import VPath, parse_path

ArgsArg = Annotated[
    list[str],
    typer.Argument(
        metavar="DUMP... [PATH...]",
        help="A full dump (or FULL INCR... a chain, oldest first), then paths inside the volume. "
        "Dumps are the leading arguments whose first bytes are a Coda dump header; '-' is stdin.",
    ),
]
PathOpt = Annotated[
    Optional[list[str]],
    typer.Option("--path", help="A path inside the volume (repeatable); then every argument is a dump."),
]
ChainOpt = Annotated[
    ChainMode,
    typer.Option("--chain", help="For a chain: exact (default) checks that each incremental's oldest is the previous "
                 "dump's latest; minimal accepts Amanda's chain, whose skipped deletions come back as orphans."),
]
OrphansOpt = Annotated[
    bool,
    typer.Option("--orphans", help="Also take the vnodes the root does not reach, as lost+found/VVVVVVVV.UUUUUUUU."),
]

DUMP_MAGIC = bytes([Tag.DUMPHEADER]) + DUMPBEGINMAGIC.to_bytes(4, "big")


def looks_like_dump(arg: str) -> bool:
    """``-`` (stdin), a regular file that starts like a Coda dump, or a pipe
    or device (``<(amfetchdump ...)``, a tape), which cannot be peeked at
    without losing what was read."""
    if arg == "-":
        return True
    try:
        st = os.stat(arg)
        if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
            return True
        if not stat.S_ISREG(st.st_mode):
            return False
        with open(arg, "rb") as f:
            return f.read(len(DUMP_MAGIC)) == DUMP_MAGIC
    except OSError:
        return False


def split_arguments(args: Sequence[str], paths: Sequence[str] = ()) -> tuple[list[str], list[VPath]]:
    """Dumps are the leading arguments that read as Coda dumps (``-`` only
    first); the rest are paths inside the volume.  With explicit ``paths``
    (``--path``), every argument must be a dump."""
    dumps: list[str] = []
    rest = list(args)
    while rest and not paths and (rest[0] == "-" and not dumps or rest[0] != "-" and looks_like_dump(rest[0])):
        dumps.append(rest.pop(0))
    if paths:
        dumps, rest = [], []
        for a in args:
            if not (a == "-" and not dumps or a != "-" and looks_like_dump(a)):
                raise UsageError(f"{a}: not a Coda dump (with --path, every argument is a dump)")
            dumps.append(a)
    if not dumps:
        first = args[0] if args else ""
        if not first:
            raise UsageError("no dump given")
        why = "no such file" if not os.path.exists(first) else "does not start with the Coda dump magic"
        raise UsageError(f"{first}: not a Coda dump ({why})")
    return dumps, [parse_path(p) for p in (*rest, *paths)]


def extract_from(dumps: Sequence[str], sink: Sink, options: ExtractOptions, chain: ChainMode) -> ExtractResult:
    """``extract_dumps`` with ``-`` as this process's stdin."""
    try:
        return extract_dumps(dumps, sink, options, typer.get_binary_stream("stdin"), chain)
    except OwnLostFound as err:
        raise UsageError(f"{err}; extract without --orphans") from None


def orphan_line(n: int, hint: str) -> str | None:
    if not n:
        return None
    return f"{n} orphan vnode(s) are not reachable from the root ({hint})"
