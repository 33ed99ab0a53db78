"""The standard lab: four Coda volumes backed up for a week of fake nights.

What each night exercises (the reader must get every one right):

- mon: first night, every DLE at level 0; p.proj (about 850 KiB in 128 KiB
  parts on vtapes that reach early end-of-medium at 900 KiB with headers)
  spans two vtapes.  The sizes put EOM right where a part starts, so 3.5.1
  logs a zero-byte ``PART`` with file number 0 and writes that part again
  on the next vtape (Amanda's find skips file number 0).
- tue: u.ann's directory is gone, so its dumper fails (twice: the driver retries).
- wed: ``amdump --no-taper``: dumps stay on the holding disk ...
- wed-flush: ... until ``amflush`` writes them later that day, to one vtape
  made short (``-o``): EOM falls where u.ann's part starts (a zero-byte
  ``PART`` again), runtapes=1 allows no second vtape, so u.ann's flush ends
  ``PARTIAL`` and u.ann and u.jan stay on the holding disk ...
- thu: ... and ``amdump -o autoflush=yes`` writes them (``DONE`` lines with
  wednesday's datestamp in thursday's log; u.ann now has a partial and a good
  tape copy).  ``amadmin force u.jan`` before the run: u.jan gets a new level 0.
- fri, fri-late: two runs in one night (the second only for u.jan and u.ann).
- fri, fri-late, sat: tapecycle 6 (Amanda then reuses a tape rather than
  label one of the 8 slots' spare vtapes): monday's and tuesday's tapes are
  overwritten.  Split dumps first lose a half (``OK FAIL Missing part`` in
  ``amadmin find``), then vanish; every volume still has a restorable chain
  at the end.
- sun: another ``--no-taper`` night (u.ann and coda:root only), never
  flushed: the lab ends with dumps only on the holding disk.
- fetch: an ``amfetchdump``, which leaves its one-line log in the logdir.

``coda:root`` has a colon, so Amanda quotes it in the logs (ref §1.3) and
sanitises it in file names.
"""

from __future__ import annotations

from .builder import Delete, Dle, LabSpec, Run, RunKind, Write

CONFIG = "codarestore-lab"

K = 1024

DLES = (
    Dle("u.jan"),
    Dle("p.proj"),
    Dle("u.ann"),
    Dle("coda:root"),
)

INITIAL = (
    Write("u.jan", "docs/thesis.tex", 200 * K),
    Write("u.jan", "mail/inbox", 100 * K),
    Write("p.proj", "data/big.bin", 850 * K),
    Write("u.ann", "notes.txt", 110 * K),
    Write("coda:root", "etc/motd", 20 * K),
)

RUNS = (
    Run("mon", "2026-03-02 01:00:00",
        note="all level 0; p.proj spans two vtapes (after a zero-byte part at end-of-medium)"),
    Run("tue", "2026-03-03 01:00:00",
        changes=(Write("u.jan", "docs/ch1.tex", 40 * K), Write("p.proj", "data/new.bin", 60 * K)),
        fail=("u.ann",), expect_status=4, note="u.ann's dumper fails"),
    Run("wed", "2026-03-04 01:00:00", flags=("--no-taper",),
        changes=(Write("u.jan", "docs/ch2.tex", 50 * K), Write("u.ann", "todo.txt", 20 * K)),
        note="holding disk only"),
    Run("wed-flush", "2026-03-04 09:00:00", kind=RunKind.AMFLUSH, expect_status=16,
        flags=("-o", "runtapes=1", "-o", "tapetype:LAB-VTAPE:length=256k"),
        note="one short vtape: u.ann's flush is PARTIAL, u.jan's waits on the holding disk"),
    Run("thu", "2026-03-05 01:00:00", force=("u.jan",), flags=("-o", "autoflush=yes"),
        changes=(Write("p.proj", "data/new.bin", 70 * K), Write("coda:root", "etc/passwd", 10 * K)),
        note="flushes wednesday's leftovers (autoflush); forced full of u.jan"),
    Run("fri", "2026-03-06 01:00:00",
        changes=(Write("u.jan", "mail/inbox", 110 * K), Delete("u.ann", "todo.txt")),
        note="a file deleted; older tapes being reused"),
    Run("fri-late", "2026-03-06 04:00:00", only=("u.jan", "u.ann"),
        changes=(Write("u.jan", "mail/sent", 30 * K),), note="second run in one night"),
    Run("sat", "2026-03-07 01:00:00",
        changes=(Write("p.proj", "data/more.bin", 90 * K), Write("u.ann", "notes.txt", 35 * K)),
        note="tuesday's tapes reused"),
    Run("sun", "2026-03-08 01:00:00", flags=("--no-taper",), only=("u.ann", "coda:root"),
        changes=(Write("u.ann", "todo.txt", 15 * K), Write("coda:root", "etc/group", 5 * K)),
        note="left on the holding disk"),
    Run("fetch", "2026-03-08 10:00:00", kind=RunKind.AMFETCHDUMP,
        fetch=("localhost", "u.jan"), note="one-line amfetchdump log"),
)

SPEC = LabSpec(CONFIG, DLES, RUNS, initial=INITIAL, slots=8, tapecycle=6)
