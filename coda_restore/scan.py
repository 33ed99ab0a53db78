"""A catalog read from the media alone, for the day the Amanda server is
gone too (issue 17).

Algorithm::

    vtape directory (chg-disk root, or one slot):
        each slot: 00000.LABEL's header   -> label, write timestamp (TAPESTART DATE)
        each NNNNN.* file: its 32 KiB Amanda header -> (host, disk, datestamp, level, part)
                           part 1: the Coda dump header just after it (comp N or .gz)
    holding disk: amanda.holding.scan_holding (chunks followed by CONT_FILENAME)
    fold:
        a label seen twice keeps its newest write; the older write's files are
            TAPE_REUSED (as Amanda's tapelist would say)
        the parts of one dump written in one run (one write timestamp, any
            number of labels) are one copy; it is OK only if parts 1..k are all
            there and the last one is known to be the last: their bytes add up
            to the header's SERVER-CRC size, or (uncompressed) the last part
            ends with the Coda end-of-dump marker

What could not be read (a label, a header, a Coda header, a cut file) is a
problem with its path, and the file counts for nothing: it is never guessed.
The scan file is JSON (``SCHEMA``) and becomes a ``Catalog`` again with
``catalog_of``, so every command reads it like Amanda's records.

What it does not promise: a dump recorded on the Coda server but on none of
the media scanned is unknown here; the planner finds the hole from the Coda
headers (an incremental's ``oldest`` is no scanned dump's ``latest``).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

from coda_restore import proc
from coda_restore.amanda.config import amanda_user, as_amanda_user, build
from coda_restore.amanda.header import HEADER_BYTES, Header, HeaderError, parse_header
from coda_restore.amanda.holding import scan_holding
from coda_restore.amanda.logfile import ts14
from coda_restore.amanda.model import (Catalog, CatalogWarning, CodaLink, Dump, DumpStatus, HoldingCopy, Origin, Part,
                                       PartStatus, TapeCopy, TapelistEntry, Unavailable)
from coda_restore.errors import BadScan, CodaRestoreError, UsageError
from coda_restore.json_text import indented
from coda_restore.planning.plan import label_key
from coda_restore.voldump.reader import DumpReader

SCHEMA = "coda-restore.scan/1"
STORAGE = "scan"  # the storage name of a scanned tape copy (no config says one)
CODA_END = bytes.fromhex("083a214b6e")  # D_ENDDUMP + DUMPENDMAGIC (coda-dump-format §7)
_CODA_HEAD = 4096  # the Coda dump header is under 100 bytes; read this much of the image
_VOLUME_FILE = re.compile(r"(\d{5})\.(.+)")
_TAPESTART = re.compile(r"(?:AMANDA|NETDUMP): TAPESTART DATE (\S+) TAPE (\S+)")


@dataclass(frozen=True)
class ScannedTape:
    label: str
    write_timestamp: str  # 14 digits
    path: str  # the slot directory


@dataclass(frozen=True)
class ScannedFile:
    """One file on a volume: one part of a dump."""

    label: str
    filenum: int
    path: str
    write_timestamp: str
    host: str
    disk: str
    datestamp: str
    level: int
    partnum: int
    bytes: int  # data after the 32 KiB header
    stored_bytes: int | None  # the whole dump's stored size (SERVER-CRC), when the header says
    compression: str | None
    ends_dump: bool  # the data ends with the Coda end-of-dump marker
    coda: CodaLink | None = None  # part 1 only


@dataclass(frozen=True)
class ScannedHolding:
    path: str
    chunks: tuple[str, ...]
    ok: bool
    host: str
    disk: str
    datestamp: str
    level: int
    bytes: int
    coda: CodaLink | None = None


@dataclass(frozen=True)
class ScanProblem:
    path: str
    what: str


@dataclass(frozen=True)
class Scan:
    tapes: tuple[ScannedTape, ...] = ()
    files: tuple[ScannedFile, ...] = ()
    holding: tuple[ScannedHolding, ...] = ()
    problems: tuple[ScanProblem, ...] = ()
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, **asdict(self)}


# -- reading the media ------------------------------------------------------------


def coda_link(head: bytes, where: str) -> CodaLink:
    """The Coda dump header at the start of an image; raises CodaRestoreError."""
    reader = DumpReader(io.BytesIO(head), where)
    h = reader.read_header()
    return CodaLink(h.volume_id, h.parent_id, h.volume_name, h.level, h.oldest, h.latest, h.backup_date)


def _image_head(f, compression: str | None) -> bytes:
    """The first bytes of the image after the Amanda header, uncompressed."""
    if compression is None:
        return f.read(_CODA_HEAD)
    if compression in (".gz", ".Z"):
        try:
            return gzip.GzipFile(fileobj=f).read(_CODA_HEAD)
        except (OSError, EOFError, zlib.error) as err:
            raise HeaderError(f"cannot uncompress its {compression} data: {err}") from None
    raise HeaderError(f"its data is compressed with {compression!r}, which scan cannot undo")


def _read_coda(path: str, compression: str | None, problems: list[ScanProblem]) -> CodaLink | None:
    try:
        with open(path, "rb") as f:
            f.seek(HEADER_BYTES)
            return coda_link(_image_head(f, compression), path)
    except (CodaRestoreError, HeaderError, OSError) as err:
        problems.append(ScanProblem(path, f"no Coda dump header read: {err}"))
        return None


def _ends_dump(path: str, size: int) -> bool:
    if size < HEADER_BYTES + len(CODA_END):
        return False
    with open(path, "rb") as f:
        f.seek(size - len(CODA_END))
        return f.read() == CODA_END


def _slots(root: Path) -> list[Path]:
    """A slot directory, or a chg-disk root's slotN directories (not its
    ``data`` symlink to the current one), in natural order."""
    if any(_VOLUME_FILE.fullmatch(n) and n.startswith("00000.") for n in os.listdir(root)):
        return [root]
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.is_symlink()), key=lambda p: label_key(p.name))


def label_at(device: str) -> str | None:
    """The label of the volume now at a device, or None: a ``file:`` slot's
    label file, else what Amanda's Device API reads off the volume."""
    if not device.startswith("file:"):
        done = _device_listing(device, "label", _amanda_user())
        return next((ln.split("\t")[1] for ln in done.stdout.splitlines() if ln.startswith("LABEL\t")), None)
    slot = Path(device.removeprefix("file:"))
    try:
        name = next((n for n in sorted(os.listdir(slot)) if n.startswith("00000.")), None)
        if name is None:
            return None
        with open(slot / name, "rb") as f:
            m = _TAPESTART.match(f.read(HEADER_BYTES).split(b"\0", 1)[0].decode("utf-8", "replace"))
    except OSError:
        return None
    return m.group(2) if m else None


def devices(s: Scan) -> dict[str, str]:
    """label -> the amrestore device (``file:SLOT``) of its newest write."""
    newest = newest_writes(s)
    return {t.label: f"file:{t.path}" if t.path.startswith("/") else t.path  # a slot, or a device scanned as one
            for t in s.tapes if newest[t.label] == t.write_timestamp}


def _scan_slot(slot: Path, tapes: list[ScannedTape], files: list[ScannedFile], problems: list[ScanProblem]) -> None:
    names = sorted(n for n in os.listdir(slot) if _VOLUME_FILE.fullmatch(n) and not n.endswith("-lock"))
    label_files = [n for n in names if n.startswith("00000.")]
    if not label_files:
        if names:
            problems.append(ScanProblem(str(slot), f"no volume label (00000.*): its {len(names)} file(s) are not read"))
        return  # an empty slot
    label_path = slot / label_files[0]
    try:
        with open(label_path, "rb") as f:
            text = f.read(HEADER_BYTES).split(b"\0", 1)[0].decode("utf-8", "replace")
    except OSError as err:
        problems.append(ScanProblem(str(label_path), f"cannot read the volume label: {err.strerror}"))
        return
    m = _TAPESTART.match(text)
    if not m or not re.fullmatch(r"\d{8}|\d{14}", m.group(1)):
        problems.append(ScanProblem(str(label_path), "not a written volume label (no TAPESTART DATE); "
                                                     "its files are not read"))
        return
    label, written = m.group(2), ts14(m.group(1))
    tapes.append(ScannedTape(label, written, str(slot)))
    for name in names:
        filenum = int(name[:5])
        if filenum == 0:
            continue
        path = slot / name
        try:
            size = path.stat().st_size
            if size < HEADER_BYTES:
                raise HeaderError(f"the file is {size} bytes, shorter than its {HEADER_BYTES}-byte header")
            with open(path, "rb") as f:
                block = f.read(HEADER_BYTES)
            if block.startswith(b"AMANDA: TAPEEND"):
                continue
            header = parse_header(block)
            if header.type not in ("SPLIT_FILE", "FILE"):
                raise HeaderError(f"header type {header.type} on a volume")
        except HeaderError as err:
            problems.append(ScanProblem(str(path), f"file {filenum} of {label}: Amanda header not read ({err})"))
            continue
        except OSError as err:
            problems.append(ScanProblem(str(path), f"file {filenum} of {label}: cannot read: {err.strerror}"))
            continue
        partnum = header.partnum or 1
        coda = _read_coda(str(path), header.compression, problems) if partnum == 1 else None
        files.append(ScannedFile(
            label, filenum, str(path), written, header.host, header.disk, ts14(header.datestamp), header.level,
            partnum, size - HEADER_BYTES, header.stored_bytes, header.compression,
            header.compression is None and _ends_dump(str(path), size), coda))


# Amanda's own Device API lists a volume with no config: its label and write
# time (read_label), then each file's header (seek_file), no data read.
# Printed one line each, the header block in hex.
DEVICE_LISTING = r"""
use strict; use warnings;
use lib shift @ARGV;
my ($device, $mode) = @ARGV;
use Amanda::Device qw(:constants); use Amanda::Header; use Amanda::Config qw(:init); use Amanda::Util qw(:constants);
Amanda::Util::setup_application("amrestore", "server", $CONTEXT_CMDLINE, "amrestore", "amanda");
config_init(0, undef);
$| = 1;
my $d = Amanda::Device->new($device);
$d->read_label() if $d->status == $DEVICE_STATUS_SUCCESS;
if ($d->status != $DEVICE_STATUS_SUCCESS) { print "ERROR\t", $d->error_or_status, "\n"; exit 0; }
print "LABEL\t", $d->volume_label, "\t", $d->volume_time, "\n";
exit 0 if $mode eq "label";
if (!$d->start($ACCESS_READ, undef, undef)) { print "ERROR\t", $d->error_or_status, "\n"; exit 0; }
my $f = 1;
while (1) {
    my $h = $d->seek_file($f);
    if (!$h) { print "ERROR\t", $d->error_or_status, "\n" if $d->status != $DEVICE_STATUS_SUCCESS; last; }
    last if $h->{type} == $Amanda::Header::F_TAPEEND || $h->{type} == $Amanda::Header::F_EMPTY;
    print "FILE\t", $d->file, "\t", unpack("H*", $h->to_string(32768, 32768)), "\n";
    $f = $d->file + 1;
}
"""


def _amanda_user() -> str | None:
    ok, _, user = amanda_user()
    return user if ok and os.geteuid() == 0 and user != "root" else None


def _device_listing(device: str, mode: str, user: str | None):
    """DEVICE_LISTING's output for ``device``: its label only, or its files too."""
    perl_lib = build("amperldir")
    return proc.run(as_amanda_user(["perl", "-e", DEVICE_LISTING, perl_lib, device, mode], user), check=False,
                    timeout=3600)


def _read_device_file(device: str, label: str, filenum: int, h: Header, user: str | None) -> tuple[int, bytes, bytes]:
    """(data bytes, its first bytes, its last 5 bytes) of one file, read by amrestore."""
    from coda_restore.executor.amrestore import AMRESTORE

    raw = ["-r"] if h.compression else []  # compressed: as stored (the Coda header is uncompressed here)
    argv = as_amanda_user([*AMRESTORE, *raw, "-f", str(filenum), "-l", label, device, h.host, h.disk, h.datestamp],
                          user)
    child = proc.Child(argv, stdout=proc.PIPE)
    size, first, tail = 0, b"", b""
    try:
        while chunk := child.stdout.read1(1 << 20):
            if size < HEADER_BYTES + _CODA_HEAD:
                first = (first + chunk)[: HEADER_BYTES + _CODA_HEAD]
            size += len(chunk)
            tail = (tail + chunk)[-len(CODA_END):]
        child.wait()
    finally:
        child.kill()
    return size - HEADER_BYTES, first[HEADER_BYTES:], tail


def _scan_device(device: str, tapes: list[ScannedTape], files: list[ScannedFile], problems: list[ScanProblem]) -> None:
    user = _amanda_user()
    done = _device_listing(device, "files", user)
    label = written = None
    for line in done.stdout.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "ERROR":
            problems.append(ScanProblem(device, f"Amanda cannot read the volume: {rest}"))
        elif kind == "LABEL":
            label, stamp = rest.split("\t")
            if not re.fullmatch(r"\d{8}|\d{14}", stamp):
                problems.append(ScanProblem(device, f"volume {label} is labelled but not written (DATE {stamp})"))
                return
            written = ts14(stamp)
            tapes.append(ScannedTape(label, written, device))
        elif kind == "FILE" and label is not None:
            num, hexed = rest.split("\t")
            where = f"{device} file {num}"
            try:
                header = parse_header(bytes.fromhex(hexed))
                size, head, tail = _read_device_file(device, label, int(num), header, user)
            except (HeaderError, ValueError) as err:
                problems.append(ScanProblem(where, f"file {num} of {label}: Amanda header not read ({err})"))
                continue
            except CodaRestoreError as err:
                problems.append(ScanProblem(where, f"file {num} of {label}: amrestore could not read it ({err})"))
                continue
            partnum = header.partnum or 1
            coda = None
            if partnum == 1:
                try:
                    coda = coda_link(_image_head(io.BytesIO(head), header.compression), where)
                except (CodaRestoreError, HeaderError) as err:
                    problems.append(ScanProblem(where, f"no Coda dump header read: {err}"))
            files.append(ScannedFile(label, int(num), where, written, header.host, header.disk, ts14(header.datestamp),
                                     header.level, partnum, size, header.stored_bytes, header.compression,
                                     header.compression is None and tail == CODA_END, coda))
    if done.status != 0:
        problems.append(ScanProblem(device, f"reading the volume's headers failed (exit {done.status}): "
                                            f"{done.stderr.strip()[-300:]}"))


def scan(vtapes: list[str | os.PathLike] = (), holding: list[str | os.PathLike] = (),
         device: list[str] = ()) -> Scan:
    """Read every vtape directory, device (with Amanda's Device API and
    amrestore) and holding disk given; raises UsageError when a directory
    is not one."""
    tapes: list[ScannedTape] = []
    files: list[ScannedFile] = []
    held: list[ScannedHolding] = []
    problems: list[ScanProblem] = []
    for where in (*vtapes, *holding):
        if not os.path.isdir(where):
            raise UsageError(f"{os.fspath(where)} is not a directory")
    for root in vtapes:
        for slot in _slots(Path(root)):
            _scan_slot(slot, tapes, files, problems)
    for dev in device:
        _scan_device(dev, tapes, files, problems)
    warnings: list[CatalogWarning] = []
    for found in scan_holding(tuple(os.fspath(h) for h in holding), warnings):
        h, c = found.header, found.copy
        coda = _read_coda(c.path, h.compression, problems)
        held.append(ScannedHolding(c.path, c.chunks, c.status is DumpStatus.OK, h.host, h.disk, ts14(h.datestamp),
                                   h.level, (c.kb or 0) * 1024, coda))
    problems += [ScanProblem(str(w.origin), w.message) for w in warnings]
    return Scan(tuple(tapes), tuple(files), tuple(held), tuple(problems),
                tuple(os.fspath(p) for p in (*vtapes, *device, *holding)))


# -- the scan file ------------------------------------------------------------------


def dumps(s: Scan) -> str:
    return indented(s.to_dict(), ensure_ascii=False) + "\n"


def _link(d: dict | None) -> CodaLink | None:
    return CodaLink(**d) if d else None


def load(path: str | os.PathLike) -> Scan:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise BadScan(os.fspath(path), err.strerror or str(err)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BadScan(os.fspath(path), f"not JSON ({err})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise BadScan(os.fspath(path), f"not a scan file (schema is not {SCHEMA!r}); write one with coda-restore scan")
    try:
        return Scan(
            tuple(ScannedTape(**t) for t in data["tapes"]),
            tuple(ScannedFile(**{**f, "coda": _link(f["coda"])}) for f in data["files"]),
            tuple(ScannedHolding(**{**h, "chunks": tuple(h["chunks"]), "coda": _link(h["coda"])})
                  for h in data["holding"]),
            tuple(ScanProblem(**p) for p in data["problems"]),
            tuple(data["sources"]),
        )
    except (KeyError, TypeError) as err:
        raise BadScan(os.fspath(path), f"malformed ({type(err).__name__}: {err})") from None


# -- the fold into a Catalog ---------------------------------------------------------


def newest_writes(s: Scan) -> dict[str, str]:
    """label -> the write timestamp that counts: the newest seen."""
    newest: dict[str, str] = {}
    for t in s.tapes:
        newest[t.label] = max(newest.get(t.label, t.write_timestamp), t.write_timestamp)
    return newest


def _tape_copy(parts: list[ScannedFile], newest: dict[str, str]) -> tuple[TapeCopy, str | None]:
    """One run's parts of one dump as a copy, and why it is not whole (None: whole)."""
    by_num = {}
    reused = False
    for f in parts:
        if newest[f.label] != f.write_timestamp:
            reused = True
        by_num.setdefault(f.partnum, f)
    nums = sorted(by_num)
    last = by_num[nums[-1]]
    stored = next((f.stored_bytes for f in parts if f.stored_bytes is not None), None)
    total = sum(by_num[n].bytes for n in nums)
    why = None
    if nums != list(range(1, len(nums) + 1)):
        missing = sorted(set(range(1, nums[-1] + 1)) - set(nums))
        why = f"part(s) {', '.join(map(str, missing))} not found"
    elif stored is not None and total != stored:
        why = f"its parts hold {total} bytes, the header says {stored}: a part after {nums[-1]} is missing"
    elif stored is None and not last.ends_dump:
        why = f"part {nums[-1]} does not end the Coda dump and no header gives the size: a later part is missing"
    out = tuple(Part(n, by_num[n].label, by_num[n].filenum, PartStatus.OK, by_num[n].bytes // 1024,
                     Origin(by_num[n].path),
                     Unavailable.TAPE_REUSED if newest[by_num[n].label] != by_num[n].write_timestamp else None)
                for n in nums)
    if reused:
        status, because = DumpStatus.OK, Unavailable.TAPE_REUSED
    elif why:
        status, because = DumpStatus.FAIL, Unavailable.MISSING_PART
    else:
        status, because = DumpStatus.OK, None
    return TapeCopy(STORAGE, None, parts[0].write_timestamp, status, out, because, why or "", total // 1024,
                    Origin(parts[0].path)), why


def catalog_of(s: Scan, source: str = "scan") -> Catalog:
    """The scan as a Catalog: every dump seen, its copies, and the problems
    as warnings (each with its path)."""
    warnings = [CatalogWarning(Origin(p.path), p.what) for p in s.problems]
    newest = newest_writes(s)
    for label, stamp in newest.items():
        older = [t for t in s.tapes if t.label == label and t.write_timestamp != stamp]
        for t in older:
            warnings.append(CatalogWarning(Origin(t.path), f"label {label} seen twice: this write of "
                                                           f"{t.write_timestamp} is superseded by the one of {stamp}"))
    groups: dict[tuple, dict[str, list[ScannedFile]]] = {}
    for f in s.files:
        groups.setdefault((f.host, f.disk, f.datestamp, f.level), {}).setdefault(f.write_timestamp, []).append(f)
    held: dict[tuple, list[ScannedHolding]] = {}
    for h in s.holding:
        held.setdefault((h.host, h.disk, h.datestamp, h.level), []).append(h)
    dumps_: list[Dump] = []
    for key in sorted(set(groups) | set(held)):
        copies = []
        links = []
        for write, parts in sorted(groups.get(key, {}).items()):
            copy, why = _tape_copy(parts, newest)
            if why and copy.unavailable_because is Unavailable.MISSING_PART:
                warnings.append(CatalogWarning(Origin(parts[0].path), f"{key[0]} {key[1]} {key[2]} level {key[3]} "
                                                                      f"written {write}: {why}"))
            copies.append(copy)
            links += [f.coda for f in parts if f.coda is not None]
        for h in held.get(key, []):
            copies.append(HoldingCopy(h.path, h.chunks, DumpStatus.OK if h.ok else DumpStatus.PARTIAL, h.bytes // 1024))
            links += [h.coda] if h.coda is not None else []
        if len(set(links)) > 1:
            warnings.append(CatalogWarning(Origin(source), f"{key[0]} {key[1]} {key[2]} level {key[3]}: its copies "
                                                           "carry different Coda headers; none is trusted"))
        link = links[0] if len(set(links)) == 1 else None
        kb = max((c.kb or 0 for c in copies), default=0)
        dumps_.append(Dump(*key, copies=tuple(copies), kb=kb, origin=Origin(source), coda=link))
    tapelist = tuple(TapelistEntry(stamp, label, position=i + 1) for i, (label, stamp) in
                     enumerate(sorted(newest.items(), key=lambda kv: kv[1], reverse=True)))
    return Catalog(tuple(dumps_), tapelist, tuple(warnings))


def with_links(catalog: Catalog, scanned: Catalog) -> Catalog:
    """Amanda's catalog with the Coda headers a scan read, dump by dump, so
    that the planner checks Amanda's chain against the images."""
    links = {d.key: d.coda for d in scanned.dumps if d.coda is not None}
    dumps_ = tuple(_with(d, links.get(d.key)) for d in catalog.dumps)
    return Catalog(dumps_, catalog.tapelist, catalog.warnings + scanned.warnings, catalog.unreadable,
                   catalog.tapelists)


def _with(d: Dump, link: CodaLink | None) -> Dump:
    from dataclasses import replace

    return replace(d, coda=link) if link is not None else d
