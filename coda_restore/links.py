"""Proving a chain from the Coda headers inside its images (DESIGN rule 2):
the first is a full dump (oldest == latest), every incremental's ``oldest``
is its predecessor's ``latest``, all are dumps of one volume (one parent
id), and each header's level is the level Amanda gave it.

With a scan alone this is the only proof there is: a recorded dump that is
on none of the media scanned shows as a link that does not hold.  With
Amanda's records too, the chain comes from the records and the headers
must agree with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from coda_restore.amanda.model import ClientResult, Dump


@dataclass(frozen=True)
class Proof:
    proven: bool
    broken: bool  # a header contradicts the chain (else: not proven for want of headers)
    message: str


def _ref(d: Dump) -> str:
    return f"{d.datestamp}/{d.level}"


def contradicts(prev: Dump | None, cur: Dump) -> bool:
    """Do the Coda headers say ``cur`` does not follow ``prev`` in an exact
    chain (``prev`` None or any level for a level 0)?  False when a header
    is missing: nothing to contradict.  The one-pass form of ``prove``,
    for restore points and coverage."""
    c = cur.coda
    if c is None:
        return False
    if c.level != cur.level:
        return True
    if cur.level == 0:
        return c.oldest != c.latest
    p = prev.coda if prev is not None else None
    return p is not None and (c.oldest != p.latest or c.parent_id != p.parent_id)


def prove(dumps: Sequence[Dump]) -> Proof | None:
    """The proof of a chain (oldest first), or None when no member carries a
    Coda header (Amanda's records only: nothing to check)."""
    if not any(d.coda for d in dumps):
        return None
    unread = [d for d in dumps if d.coda is None]
    if unread:
        return Proof(False, False, f"not proven from the images: no Coda header was read for "
                                   f"{', '.join(_ref(d) for d in unread)}")
    first = dumps[0].coda
    for d in dumps:
        c = d.coda
        if c.level != d.level:
            return Proof(False, True, f"{_ref(d)}: Amanda's header says level {d.level}, its Coda header level {c.level}")
        if c.parent_id != first.parent_id:
            return Proof(False, True, f"{_ref(d)} is a dump of another volume (parent {c.parent_id:08x} "
                                      f"{c.name}, not {first.parent_id:08x} {first.name})")
    if first.oldest != first.latest or first.level != 0:
        return Proof(False, True, f"{_ref(dumps[0])} is not a full dump by its Coda header "
                                  f"(oldest {first.oldest}, latest {first.latest})")
    steps = [f"{_ref(dumps[0])} latest {first.latest}"]
    for prev, d in zip(dumps, dumps[1:]):
        if d.coda.oldest != prev.coda.latest:
            return Proof(False, True, (
                f"{_ref(d)} was taken against the dump whose latest is {d.coda.oldest}, but the dump before it "
                f"in the chain, {_ref(prev)}, has latest {prev.coda.latest}: a dump recorded between them is on "
                "none of the media read, or Amanda's records do not match the images"))
        steps.append(f"{_ref(d)} oldest {d.coda.oldest} latest {d.coda.latest}")
    message = "every link proven from the Coda headers in the images: " + " -> ".join(steps)
    if all(d.client is ClientResult.UNKNOWN for d in dumps):  # no Amanda records: only what the media hold
        message += (f"; from the images alone, a dump recorded after {_ref(dumps[-1])} that is on none of the "
                    "media read cannot be known")
    return Proof(True, False, message)
