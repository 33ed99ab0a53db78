"""Parse ``amadmin CONF find`` output: Amanda's own view of what is on media.

The columns are padded and may be empty (a dumper FAIL row has no storage,
pool or label), so rows are read token by token from both ends: date (one or
two tokens), host, disk and level from the left; then the ``part`` column
(``N/M``), found as the first ``-?N/-?M`` token after the level that is
followed by a status word, with the file number before it and 0 to 3 of
storage, pool, label between.  Host, disk and label use Amanda's quoting
(ref §1.3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PART = re.compile(r"^-?\d+/-?\d+$")
_TIME = re.compile(r"^\d\d:\d\d:\d\d$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


@dataclass(frozen=True)
class FindRow:
    datestamp: str  # 14 digits
    host: str
    disk: str
    level: int
    storage: str  # "" when Amanda printed none (FAILED rows)
    pool: str
    label: str  # a holding file's path for holding copies; "" for FAILED rows
    filenum: int
    partnum: int
    nparts: int
    status: str  # "OK", "OK FAIL Missing part", "FAILED (dumper) [...]", ...

    @property
    def ok(self) -> bool:
        return self.status == "OK"

    @property
    def holding(self) -> bool:
        return self.storage == "HOLDING"

    @property
    def failed_program(self) -> str | None:
        """``dumper`` for a ``FAILED (dumper) ...`` row, else None."""
        m = re.match(r"FAILED \((\w+)\)", self.status)
        return m.group(1) if m else None

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.host, self.disk, self.datestamp, self.level)


def tokens(text: str) -> list[tuple[str, int, int]]:
    """Amanda's quoted-token split (``skip_quoted_string``) with unquoting;
    each token with its start and end offset in ``text``."""
    out = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            break
        start, buf, quoted = i, [], False
        while i < n and (quoted or text[i] not in " \t"):
            c = text[i]
            if c == "\\" and i + 1 < n:
                nxt = text[i + 1]
                buf.append({"n": "\n", "t": "\t", "r": "\r", "f": "\f"}.get(nxt, nxt))
                i += 2
                continue
            if c == '"':
                quoted = not quoted
            else:
                buf.append(c)
            i += 1
        out.append(("".join(buf), start, i))
    return out


def parse_row(line: str) -> FindRow | None:
    toks = tokens(line)
    if len(toks) < 7 or not _DATE.match(toks[0][0]):
        return None
    date = toks[0][0].replace("-", "")
    i = 1
    if _TIME.match(toks[1][0]):
        date += toks[1][0].replace(":", "")
        i = 2
    else:
        date += "000000"
    host, disk, level = toks[i][0], toks[i + 1][0], int(toks[i + 2][0])
    rest = toks[i + 3 :]
    for j in range(1, len(rest) - 1):
        if _PART.match(rest[j][0]) and rest[j - 1][0].isdigit():
            middle = [t[0] for t in rest[: j - 1]]
            if len(middle) > 3:
                continue
            storage, pool, label = (middle + ["", "", ""])[:3]
            partnum, nparts = (int(x) for x in rest[j][0].split("/"))
            status = line[rest[j + 1][1] :].strip()
            return FindRow(date, host, disk, level, storage, pool, label,
                           int(rest[j - 1][0]), partnum, nparts, status)
    raise ValueError(f"cannot parse amadmin find row: {line!r}")


def parse(text: str) -> list[FindRow]:
    """Every row of ``amadmin CONF find``; the header and blank lines are skipped."""
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("date ") or "No dump to list" in line:
            continue
        row = parse_row(line)
        if row is None:
            raise ValueError(f"unexpected amadmin find line: {line!r}")
        rows.append(row)
    return rows
