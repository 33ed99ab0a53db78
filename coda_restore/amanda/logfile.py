"""Amanda trace logs (``log.*``): a streaming tokenizer and a grammar for the
dump-result lines of every generation (ref amanda-formats.md §1.2–§1.6).

``parse_line(raw, ...)`` turns one line that matters for the catalog (START,
FINISH and the dump-result lines SUCCESS, STRANGE, PARTIAL, FAIL, CHUNK,
CHUNKSUCCESS, PART, PARTPARTIAL, DONE) into an ``Entry``; everything else
(INFO, STATS, DISK, CONT lines, ...) is skipped without being tokenized,
because a year of logs is millions of lines.  A line that should parse but
does not becomes a ``CatalogWarning`` with file:line and is skipped; reading
goes on.  ``open_lines`` gives a log's lines (only those about one volume,
with a needle), ``read_log`` both at once.  Two parsers read a result line:
``match_part``/``match_done``/``match_success``, one regex each for the
plain lines that make nearly every line of a 2.6+ log, and the general
grammar (``parse_result``) for the rest; both give the same Result, and the
catalog's fold calls the match_* itself.

Generations accepted, all in one grammar (the optional tokens tell them apart):

* ≤2.4.2 ``SUCCESS taper h d lvl [...]``: no datestamp (a "date" shorter than
  3 characters is the level; the dump datestamp is the log's);
* 2.4.3–2.5 ``SUCCESS taper h d ts lvl [... {wr: ...}]``, 2.5 ``CHUNK`` /
  ``CHUNKSUCCESS`` and the 2.5 spanning ``FAIL`` with ``ts.N``;
* 2.6–3.3 ``PART``/``PARTPARTIAL`` with label and file number, ``DONE``,
  ``PARTIAL`` with or without nparts, FAIL with or without ``error|config``;
* 3.4+ optional ``VAULT``, ``"ST:s"``, ``"POOL:p"`` prefixes and CRC tokens;
* ``STRANGE dumper h d lvl ...`` (no datestamp) and planner/driver lines.

Not promised: free-text fields keep Amanda's own truncation at ~4 KiB.
"""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from coda_restore.amanda.model import CatalogWarning, Origin


class LogType(enum.Enum):
    """Amanda's log types (3.4+ list); BOGUS and CONT exist only when reading."""

    BOGUS = "BOGUS"
    FATAL = "FATAL"
    ERROR = "ERROR"
    WARNING = "WARNING"
    INFO = "INFO"
    SUMMARY = "SUMMARY"
    START = "START"
    FINISH = "FINISH"
    DISK = "DISK"
    DONE = "DONE"
    PART = "PART"
    PARTPARTIAL = "PARTPARTIAL"
    SUCCESS = "SUCCESS"
    PARTIAL = "PARTIAL"
    FAIL = "FAIL"
    STRANGE = "STRANGE"
    CHUNK = "CHUNK"
    CHUNKSUCCESS = "CHUNKSUCCESS"
    STATS = "STATS"
    CONT = "CONT"
    RETRY = "RETRY"
    MARKER = "MARKER"


class Program(enum.Enum):
    PLANNER = "planner"
    DRIVER = "driver"
    AMREPORT = "amreport"
    DUMPER = "dumper"
    CHUNKER = "chunker"
    TAPER = "taper"
    AMFLUSH = "amflush"
    AMDUMP = "amdump"
    AMIDXTAPED = "amidxtaped"
    AMFETCHDUMP = "amfetchdump"
    AMCHECKDUMP = "amcheckdump"
    AMVAULT = "amvault"
    AMCLEANUP = "amcleanup"
    AMBACKUPD = "ambackupd"
    AMTRMIDX = "amtrmidx"
    AMTRMLOG = "amtrmlog"
    UNKNOWN = "unknown"


_PROGRAMS = {p.value: p for p in Program}
_PROGRAMS["checkdump"] = Program.AMCHECKDUMP  # as get_logline reads them
_PROGRAMS["fetchdump"] = Program.AMFETCHDUMP

# The types a catalog reads; every other line is skipped untokenized.
_RESULT_TYPES = {
    t.value: t
    for t in (LogType.SUCCESS, LogType.STRANGE, LogType.PARTIAL, LogType.FAIL, LogType.CHUNK,
              LogType.CHUNKSUCCESS, LogType.PART, LogType.PARTPARTIAL, LogType.DONE)
}
_WANTED = {**_RESULT_TYPES, "START": LogType.START, "FINISH": LogType.FINISH}
# Taper lines that carry a part number token (find.c's list).
_PART_NUMBERED = frozenset((LogType.CHUNK, LogType.PART, LogType.PARTPARTIAL, LogType.PARTIAL, LogType.DONE))
_STORAGE_PREFIXED = frozenset((LogType.PART, LogType.PARTPARTIAL, LogType.DONE, LogType.FAIL, LogType.PARTIAL))


# ---------------------------------------------------------------------------
# Quoting (§1.3)

# A token runs to the first whitespace outside double quotes; a backslash
# escapes the next character; an unterminated quote runs to the end of line.
_TOKEN = re.compile(r'(?:[^\s"\\]|\\.|"(?:[^"\\]|\\.)*(?:"|$))+', re.S)
_OCTAL = re.compile(r"[0-7]{1,3}")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f"}


def tokens(text: str) -> list[str]:
    """Split on whitespace outside quotes; tokens stay quoted (raw)."""
    toks = text.split()
    if '"' not in text and "\\" not in text:
        return toks
    # Quotes that open and close inside one token ("ST:x") hide no
    # whitespace: the plain split is right.  Otherwise tokenize properly.
    quoted = text.split('"')[1::2]
    if "\\" in text or not text.count('"') % 2 == 0 or any(" " in q or "\t" in q for q in quoted):
        return _TOKEN.findall(text)
    return toks


def tokens_with_rest(text: str, n: int) -> tuple[list[str], str]:
    """The first ``n`` raw tokens and the text after them (leading blanks
    removed), for lines that end in free text such as a FAIL message."""
    out: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        if len(out) == n:
            return out, text[m.start():]
        out.append(m.group())
        pos = m.end()
    return out, text[pos:].lstrip()


def unquote(tok: str) -> str:
    """Amanda's unquote_string: drop every unescaped ``"``, decode \\n \\t \\r
    \\f \\\\ \\" and \\ooo octal (a NUL result is dropped); \\x becomes x."""
    if "\\" not in tok:
        return tok.replace('"', "")
    out: list[str] = []
    i, n = 0, len(tok)
    while i < n:
        c = tok[i]
        if c == '"':
            i += 1
        elif c == "\\" and i + 1 < n:
            nxt = tok[i + 1]
            m = _OCTAL.match(tok, i + 1)
            if m:
                code = int(m.group(), 8)
                if code:
                    out.append(chr(code))
                i = m.end()
            else:
                out.append(_ESCAPES.get(nxt, nxt))
                i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def quote(s: str) -> str:
    """Amanda's quote_string, for printing names as Amanda would."""
    if s and not any(c in ':\'\\"' or c <= " " or c >= "\x7f" for c in s):
        return s
    body = (s.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r").replace("\f", "\\f"))
    return f'"{body}"'


# ---------------------------------------------------------------------------
# Datestamps (§1.4)



def is_datestamp(s: str) -> bool:
    return len(s) in (8, 14) and s.isdigit() and s.isascii()


class _Padded(dict):
    def __missing__(self, stamp: str) -> str:
        out = self[stamp] = sys.intern(stamp.ljust(14, "0"))
        return out


# ts14(stamp): zero-pad an 8-digit datestamp to 14 digits (as
# Amanda::DB::Catalog does), interned, since a catalog holds each run's
# datestamp many times.  A dict lookup: a stamp seen before costs no Python call.
ts14 = _Padded().__getitem__


# ---------------------------------------------------------------------------
# Entries


@dataclass(frozen=True, slots=True)
class Start:
    """START <prog> ...: a run (planner/driver/amflush/amvault: ``date D``) or
    a new volume (taper: ``datestamp D ["ST:s"] ["POOL:p"] label L``)."""

    program: Program
    datestamp: str
    label: str | None
    storage: str | None
    pool: str | None
    line: int


@dataclass(frozen=True, slots=True)
class Finish:
    program: Program
    datestamp: str | None
    line: int


class Result(NamedTuple):
    """One dump-result line (SUCCESS ... DONE) of any program.  A NamedTuple,
    not a dataclass: a year of logs makes a million of them."""

    type: LogType
    program: Program
    host: str
    disk: str
    datestamp: str | None  # raw, 8 or 14 digits; None: the log's (<=2.4.2, STRANGE)
    level: int
    partnum: int  # -1 when the line has none
    totalparts: int  # -1 when the line has none or says -1
    label: str | None  # PART/PARTPARTIAL only
    filenum: int  # PART/PARTPARTIAL only, else 0
    storage: str | None  # "ST:" token
    pool: str | None  # "POOL:" token
    kb: int | None  # from the [sec ...] stats (bytes converted)
    message: str  # FAIL/PARTIAL/PARTPARTIAL/STRANGE text, unquoted
    line: int


Entry = Start | Finish | Result


class LogSyntaxError(ValueError):
    """A line of a known type that does not parse; becomes a warning."""


def _int(tok: str, what: str) -> int:
    try:
        return int(tok)
    except ValueError:
        raise LogSyntaxError(f"expected {what}, got {tok!r}") from None


_TEXT_TYPES = frozenset((LogType.FAIL, LogType.PARTIAL, LogType.PARTPARTIAL, LogType.STRANGE))
_PREFIX_HEADS = ('"ST:', '"POOL:', "ST:", "POOL:")
_CRC = re.compile(r"[0-9a-fA-F]{8}:\d+")


def _stats_kb(toks: list[str], i: int) -> int | None:
    """kb from ``[sec S kb K ...`` or ``[sec S bytes B ...`` starting at i."""
    if i + 3 < len(toks) and toks[i] == "[sec":
        unit, value = toks[i + 2], toks[i + 3]
        try:
            if unit == "kb":
                return int(float(value))
            if unit == "bytes":
                return int(float(value)) // 1024
        except ValueError:
            return None
    return None


def _message(rest: str) -> str:
    """The free text of a FAIL/PARTIAL line: after the stats, without the
    3.2+ ``error``/``config`` failure source, unquoted."""
    rest = rest.strip()
    if rest.startswith("[sec"):
        end = rest.find("]")
        rest = rest[end + 1:].strip() if end >= 0 else ""
    for source in ("error ", "config "):
        if rest.startswith(source):
            rest = rest[len(source):].lstrip()
            break
    if rest.startswith('"'):
        rest = unquote(rest)
    return rest


def _uq(tok: str) -> str:
    """unquote() for a name token, interned; most tokens have no quote."""
    return sys.intern(unquote(tok) if '"' in tok or "\\" in tok else tok)


def _prefixes(toks: list[str], i: int) -> tuple[str | None, str | None, int]:
    """The 3.4+ ``"ST:s"`` and ``"POOL:p"`` tokens from ``toks[i]`` on:
    (storage, pool, index of the first token after them)."""
    storage = pool = None
    while i < len(toks) and toks[i].startswith(_PREFIX_HEADS):
        tok = unquote(toks[i])
        if tok.startswith("ST:"):
            storage = sys.intern(tok[3:])
        elif tok.startswith("POOL:"):
            pool = sys.intern(tok[5:])
        else:
            break
        i += 1
    return storage, pool, i


def _taper_head(typ: LogType, toks: list[str]) -> tuple[str | None, str | None, str | None, int, int]:
    """What a taper line has before host and disk: ``VAULT``, ST:/POOL:, and
    a PART's label and file number.  (storage, pool, label, filenum, index)."""
    i = 1 if toks and toks[0] == "VAULT" else 0
    storage, pool, i = _prefixes(toks, i)
    label, filenum = None, 0
    if typ is LogType.PART or typ is LogType.PARTPARTIAL:
        if i + 1 >= len(toks):
            raise LogSyntaxError("expected a label and a file number")
        label = _uq(toks[i])
        filenum = _int(toks[i + 1], "a file number")
        i += 2
    return storage, pool, label, filenum, i


def _stamped(typ: LogType, taper: bool, toks: list[str], i: int) -> tuple[str, int, int, int, int]:
    """From the datestamp token on: (datestamp, level, partnum, totalparts,
    index after the level).  Taper lines may carry "a/b" (or "a") before the
    level; some PARTIAL lines do not: a part token is followed by the level."""
    date = toks[i]
    if typ is LogType.FAIL and "." in date:  # 2.5 spanning failure: ts.N
        date = date.partition(".")[0]
    if not is_datestamp(date):
        raise LogSyntaxError(f"expected a datestamp, got {date!r}")
    i += 1
    partnum = totalparts = -1
    if taper and typ in _PART_NUMBERED:
        if i + 1 < len(toks) and toks[i + 1].isdigit():
            a, _, b = toks[i].partition("/")
            partnum = _int(a, "a part number")
            totalparts = _int(b, "a part count") if b else -1
            i += 1
        elif typ is LogType.PARTIAL:
            partnum = totalparts = 1
    if i >= len(toks):
        raise LogSyntaxError("expected a level")
    return sys.intern(date), _int(toks[i], "a level"), partnum, totalparts, i + 1


def parse_result(typ: LogType, prog: Program, payload: str, line: int) -> Result | None:
    """Parse one dump-result payload (the text after TYPE and PROGRAM).
    Returns None for lines that are not dumps (planner "skipped" SUCCESS)."""
    if typ is LogType.SUCCESS and prog is Program.PLANNER:
        return None  # §8.14: a planner skip, not a dump
    wants_text = typ in _TEXT_TYPES
    toks = _TOKEN.findall(payload) if wants_text else tokens(payload)
    taper = prog is Program.TAPER
    storage = pool = label = None
    filenum = i = 0
    if taper and typ in _STORAGE_PREFIXED:
        storage, pool, label, filenum, i = _taper_head(typ, toks)
    if i + 2 >= len(toks):
        raise LogSyntaxError("expected host, disk and level")
    host, disk = _uq(toks[i]), _uq(toks[i + 1])
    if len(toks[i + 2]) < 3:  # <=2.4.2 and STRANGE: no datestamp; this is the level
        datestamp, level, i = None, _int(toks[i + 2], "a level"), i + 3
        partnum = totalparts = 1 if taper else -1
    else:
        datestamp, level, partnum, totalparts, i = _stamped(typ, taper, toks, i + 2)
    if not 0 <= level < 400:
        raise LogSyntaxError(f"level {level} out of range 0..399")
    while i < len(toks) and ":" in toks[i] and _CRC.fullmatch(toks[i]):
        i += 1  # 3.4+ native/client/server CRCs
    kb = _stats_kb(toks, i)
    message = ""
    if wants_text:
        _, rest = tokens_with_rest(payload, i)
        message = sys.intern(_message(rest)) if rest else ""
    return Result(typ, prog, host, disk, datestamp, level, partnum, totalparts, label, filenum,
                  storage, pool, kb, message, line)


# Fast paths for the three line shapes that make up nearly every log of
# 2.6+ (PART, DONE, dumper/chunker SUCCESS) with plain (unquoted) names: one
# regex match instead of tokenizing.  Anything else, or anything unusual in
# these, goes through parse_result(); both give the same Result (a test
# holds them to it).  The catalog's fold calls match_* itself, to skip
# making a Result for the quarter of a million PART lines of a year.
_NAME = r'([^\s"\\]+)'
_TS = r"(\d{14}|\d{8})"
_PREFIX = r'(?:"ST:([^\s"\\]*)" )?(?:"POOL:([^\s"\\]*)" )?'
_STATS = r"\[sec [^\s\]]+ (kb|bytes) (\d+(?:\.\d*)?)"
# A level below 400 and, for PART, a file number other than 0 (3.5.1's
# zero-byte part at end of medium, which the general path skips): what is
# not for the fast path does not match.
_LEVEL = r"(\d\d?|[0-3]\d\d)"
_FAST_PART = re.compile(_PREFIX + _NAME + r" (?!0 )(\d+) " + _NAME + " " + _NAME + " " + _TS
                        + r" (\d+)/(-?\d+) " + _LEVEL + " " + _STATS)
_FAST_DONE = re.compile(_PREFIX + _NAME + " " + _NAME + " " + _TS + r" (\d+) " + _LEVEL + " "
                        r"(?:[0-9a-fA-F]{8}:\d+ ){0,3}" + _STATS)
_FAST_SUCCESS = re.compile(_NAME + " " + _NAME + " " + _TS + " " + _LEVEL + r" (?:[0-9a-fA-F]{8}:\d+ ){0,2}"
                           + _STATS)
_intern = sys.intern

# match_*(payload, pos=0) -> re.Match or None; .groups() are
#   part:    (storage, pool, label, filenum, host, disk, datestamp, part, total, level, unit, value)
#   done:    (storage, pool, host, disk, datestamp, nparts, level, unit, value)
#   success: (host, disk, datestamp, level, unit, value)   (dumper or chunker)
# None: the general parser must read the line (quotes, level 400+, file 0, ...).
match_part = _FAST_PART.match
match_done = _FAST_DONE.match
match_success = _FAST_SUCCESS.match


def kb_of(unit: str, value: str) -> int:
    """The size of a fast-path match's stats (``kb`` or ``bytes``) in KiB."""
    n = int(value) if "." not in value else int(float(value))
    return n if unit == "kb" else n // 1024


def _fast_result(typ: LogType, prog: Program, payload: str, line: int) -> Result | None:
    """The Result of a line one of the match_* reads; None for any other."""
    if prog is Program.TAPER:
        if typ is LogType.PART and (m := match_part(payload)) is not None:
            st, pool, label, filenum, host, disk, ts, part, total, level, unit, value = m.groups()
            return Result(typ, prog, _intern(host), _intern(disk), _intern(ts), int(level), int(part), int(total),
                          _intern(label), int(filenum), st and _intern(st), pool and _intern(pool),
                          kb_of(unit, value), "", line)
        if typ is LogType.DONE and (m := match_done(payload)) is not None:
            st, pool, host, disk, ts, nparts, level, unit, value = m.groups()
            return Result(typ, prog, _intern(host), _intern(disk), _intern(ts), int(level), int(nparts), -1,
                          None, 0, st and _intern(st), pool and _intern(pool), kb_of(unit, value), "", line)
        return None
    if typ is LogType.SUCCESS and (prog is Program.DUMPER or prog is Program.CHUNKER):
        if (m := match_success(payload)) is not None:
            host, disk, ts, level, unit, value = m.groups()
            return Result(typ, prog, _intern(host), _intern(disk), _intern(ts), int(level), -1, -1, None, 0,
                          None, None, kb_of(unit, value), "", line)
    return None


def parse_start(prog: Program, payload: str, line: int) -> Start:
    toks = tokens(payload)
    if prog is Program.TAPER:
        # datestamp D ["ST:s"] ["POOL:p"] label L [tape N]
        if len(toks) < 4 or toks[0] != "datestamp":
            raise LogSyntaxError("expected 'datestamp D ... label L'")
        stamp = toks[1]
        if not is_datestamp(stamp):
            raise LogSyntaxError(f"expected a datestamp, got {stamp!r}")
        storage, pool, i = _prefixes(toks, 2)
        if i < len(toks) and toks[i] != "label":
            raise LogSyntaxError(f"unexpected {toks[i]!r} before 'label'")
        if i + 1 >= len(toks):
            raise LogSyntaxError("expected 'label L'")
        return Start(prog, sys.intern(stamp), sys.intern(unquote(toks[i + 1])), storage, pool, line)
    # START planner|driver|amflush|amvault date D
    if len(toks) < 2 or toks[0] != "date" or not is_datestamp(toks[1]):
        raise LogSyntaxError("expected 'date D'")
    return Start(prog, sys.intern(toks[1]), None, None, None, line)


def _lines_about(path: str, needle: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of the lines holding ``needle`` and of every START
    line, found with C-speed searches over the raw bytes: reading one volume's
    history out of a year of logs never tokenizes the other volumes' lines."""
    with open(path, "rb") as f:
        data = f.read()
    key = needle.encode("utf-8", "surrogateescape")
    starts: set[int] = set()
    i = data.find(key)
    while i >= 0:
        starts.add(data.rfind(b"\n", 0, i) + 1)
        i = data.find(key, i + 1)
    if not starts:
        return
    # START lines after the last line about the volume change nothing for
    # it: search (and count lines) only up to there.
    end = max(starts)
    i = data.find(b"\nSTART ", 0, end)
    while i >= 0:
        starts.add(i + 1)
        i = data.find(b"\nSTART ", i + 1, end)
    if data.startswith(b"START "):
        starts.add(0)
    lineno, prev = 1, 0
    for start in sorted(starts):
        lineno += data.count(b"\n", prev, start)
        prev = start
        end = data.find(b"\n", start)
        yield lineno, data[start:end if end >= 0 else len(data)].decode("utf-8", "surrogateescape") + "\n"


_BINARY = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")  # no Amanda log line holds these
_CONTROL_TO_NUL = bytes(0 if b < 9 or 10 < b < 32 or b == 127 else 1 for b in range(256))


def damage(path: str) -> tuple[frozenset[int], str] | None:
    """The lines of a log that cannot be trusted, and what is wrong, or None
    for a sound log: NULs, other control bytes or bytes that are not UTF-8
    (binary garbage), and a last line without its newline (cut).  One fast
    pass over the bytes; line by line only for a damaged file.  Raises
    OSError when the file cannot be read."""
    with open(path, "rb") as f:
        return damage_of(f.read())


def damage_of(data: bytes) -> tuple[frozenset[int], str] | None:
    """damage() of a log's bytes already read."""
    cut = bool(data) and not data.endswith(b"\n")
    if not cut and b"\0" not in data.translate(_CONTROL_TO_NUL):  # 1 GB/s, a regex a third of it
        try:
            data.isascii() or data.decode("utf-8")
            return None
        except UnicodeDecodeError:
            pass
    bad = set()
    lines = data.split(b"\n")
    for lineno, line in enumerate(lines, 1):
        if _BINARY.search(line) is not None:
            bad.add(lineno)
        elif not line.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                bad.add(lineno)
    what = []
    if bad:
        what.append(f"{len(bad)} line(s) of binary data (NULs, control bytes or invalid UTF-8)")
    if cut:
        bad.add(len(lines))
        what.append("the last line is cut (no newline)")
    return frozenset(bad), "; ".join(what)


def read_log(path: str, warnings: list[CatalogWarning], needle: str | None = None) -> Iterator[Entry]:
    """Yield the entries of one log file; malformed lines are appended to
    ``warnings`` (with file:line) and skipped.  CONT lines (two leading
    spaces) belong to the previous record and carry nothing for a catalog.
    With ``needle``, only START lines and lines containing it are read."""
    f, lines = open_lines(path, needle)
    try:
        for lineno, raw in lines:
            entry = parse_line(raw, lineno, path, warnings)
            if entry is not None:
                yield entry
    finally:
        if f is not None:
            f.close()


def open_lines(path: str, needle: str | None = None):
    """(closeable or None, iterator of (line number, line)) for one log."""
    if needle is None:
        f = open(path, encoding="utf-8", errors="surrogateescape", newline="\n")
        return f, enumerate(f, 1)
    return None, _lines_about(path, needle)


def parse_line(raw: str, lineno: int, path: str, warnings: list[CatalogWarning]) -> Entry | None:
    """One raw line: an Entry, or None for lines a catalog skips; a malformed
    line becomes a warning (file:line) and None."""
    if raw[:2] == "  " or raw[:1] in ("\n", "#", "%", ""):
        return None  # CONT, empty, test-catalog comment/directive
    word, _, rest = raw.partition(" ")
    typ = _WANTED.get(word)
    if typ is None:
        return None
    prog_name, _, payload = rest.lstrip(" ").partition(" ")
    prog = _PROGRAMS.get(prog_name.rstrip("\n"), Program.UNKNOWN)
    try:
        if typ is LogType.START:
            return parse_start(prog, payload, lineno)
        if typ is LogType.FINISH:
            toks = tokens(payload)
            return Finish(prog, toks[1] if len(toks) > 1 and toks[0] == "date" else None, lineno)
        return _fast_result(typ, prog, payload, lineno) or parse_result(typ, prog, payload, lineno)
    except LogSyntaxError as err:
        warnings.append(CatalogWarning(Origin(path, lineno), f"malformed {word} {prog_name} line: {err}"))
        return None
