"""The 32 KiB Amanda header in front of every dump image: a holding-disk
file's, a volume file's, and the one ``amfetchdump -h`` / ``amrestore -h``
put on the stream (ref amanda-formats.md §4.1–§4.2).

``parse_header`` reads the fields a catalog and the executor need; a block
that is no dump header is a ``HeaderError`` (not a log-line error: the
executor catches it for a tape image, the holding scan for a file).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from coda_restore.amanda.logfile import tokens, unquote

HEADER_BYTES = 32 * 1024  # DISK_BLOCK_BYTES


class HeaderError(ValueError):
    """A block that is not the Amanda header of a dump (the reason is the message)."""


@dataclass(frozen=True, slots=True)
class Header:
    """The fields of a dump file header that a catalog needs."""

    type: str  # FILE, CONT_FILE, SPLIT_FILE, TAPESTART, ...
    datestamp: str
    host: str
    disk: str
    level: int
    partial: bool = False
    cont_filename: str | None = None
    orig_kb: int | None = None
    program: str | None = None
    application: str | None = None
    compression: str | None = None  # "comp" suffix, None when "N"
    partnum: int | None = None  # "part N/M" of a volume file (SPLIT_FILE); None elsewhere
    stored_bytes: int | None = None  # size in SERVER-CRC=crc:size: the bytes Amanda stored (3.4+)


def parse_header(block: bytes) -> Header:
    """Parse a header block; raises HeaderError when it is not a dump header."""
    text = block.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    first, _, rest = text.partition("\n")
    toks = tokens(first)
    if len(toks) < 2 or toks[0] not in ("AMANDA:", "NETDUMP:"):
        raise HeaderError("not an Amanda header")
    typ = toks[1]
    if typ not in ("FILE", "CONT_FILE", "SPLIT_FILE"):
        raise HeaderError(f"header type {typ} is not a dump")
    if len(toks) < 7:
        raise HeaderError("short dump header")
    datestamp, host, disk = toks[2], toks[3], unquote(toks[4])
    fields: dict[str, str] = {}
    i = 5
    while i + 1 < len(toks):
        fields.setdefault(toks[i], toks[i + 1])
        i += 2
    try:
        level = int(fields["lev"])
    except (KeyError, ValueError):
        raise HeaderError("no level in header") from None
    partial = False
    cont = orig = app = stored = None
    for line in rest.split("\n"):
        if line.startswith("CONT_FILENAME="):
            cont = line[len("CONT_FILENAME="):] or None
        elif line == "PARTIAL=YES":
            partial = True
        elif line.startswith("ORIGSIZE="):
            try:
                orig = int(line[len("ORIGSIZE="):])
            except ValueError:
                pass
        elif line.startswith("APPLICATION="):
            app = line[len("APPLICATION="):]
        elif line.startswith("SERVER-CRC="):
            stored = _crc_size(line[len("SERVER-CRC="):])
        elif line.startswith("DLE=<<") or line.startswith("To restore"):
            break  # the DLE heredoc and the instructions carry nothing we need
    comp = fields.get("comp")
    part = fields.get("part", "").partition("/")[0]
    return Header(typ, sys.intern(datestamp), sys.intern(host), sys.intern(disk), level, partial, cont,
                  orig, fields.get("program"), app, None if comp in (None, "N") else comp,
                  int(part) if part.isdigit() else None, stored)


def _crc_size(value: str) -> int | None:
    """The size of ``crc:size`` (Amanda's CRC lines), None when malformed."""
    size = value.partition(":")[2]
    return int(size) if size.isdigit() else None


def read_header(path: str) -> Header:
    with open(path, "rb") as f:
        return parse_header(f.read(HEADER_BYTES))


def read_block(stream) -> bytes:
    """The header block off a stream: up to HEADER_BYTES, however short the
    reads of a pipe are (fewer bytes only when the stream ended)."""
    block = bytearray()
    while len(block) < HEADER_BYTES and (chunk := stream.read(HEADER_BYTES - len(block))):
        block += chunk
    return bytes(block)
