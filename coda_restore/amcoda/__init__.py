"""amcoda: an Amanda Application-API plugin that backs up Coda volumes.

Amanda runs ``amcoda COMMAND [--option value]...`` (ref ``amanda-formats.md``
§7.3).  What each command does, in terms of ``volutil`` (ref
``coda-dump-format.md`` §12, §16):

* ``estimate``: make sure the volume's backup clone is at most CLONE-MAX-AGE
  old (``lock`` + ``backup`` otherwise; the age is the RW volume's
  backupDate, which every ``backup`` moves, ref §23 row 5), then print
  ``LEVEL KiB 1`` per requested level: level 0 from the clone's size in
  ``volutil info``, an incremental by counting the bytes of an unmarked
  ``dump -i LEVEL`` of the clone (the next dump's base does not move).
  ``volutil dumpestimate`` kills a current server once an ``.ancient`` list
  exists (§23 row 4): it is used only with ESTIMATE "dumpestimate".
* A backupId of 0 or naming no volume (a purged clone, ``Unknown RPC2 return
  code 603``) is not an error: ``lock`` + ``backup`` make a new clone, as
  S_VolMakeBackups does, and the id ``backup`` printed is dumped.
* ``backup``: the same clone check, ``dump [-i LEVEL] CLONE`` streamed to
  fd 1 while the stream is checked and its directories are read for the
  index (fd 4), its last MiB held back until every check passed (see
  ``HeldBack``); ``sendbackup: size`` on fd 3; and only when ``--record``
  was given and every check passed, ``ancient``.  A dump that fails any
  check is reported with ``sendbackup: error [...]`` (on stderr, see
  ``Messages``) and a non-zero exit, and is never marked.
* ``restore``: the level-0 stream on stdin spooled to a regular file, then
  ``volutil restore -f FILE`` (never volutil's stdin) and the dump back,
  compared with what was sent.
* ``validate``: the stream on stdin through the dump validator.

Not promised: a restore of an incremental (the server refuses it; merge the
chain with ``coda-restore`` first), include/exclude lists, partial restores.

Where it is: ``request`` (Amanda's arguments, the properties, fd 3),
``clone`` (the backup clone), ``estimate``, ``backup`` (the dump stream,
its check and index, ``HeldBack``), ``restore`` and ``selfcheck``; this
module reads the command and hands it to its ``do_*``.  Failures go to
Amanda as messages and exit 1 (2 for a usage error), not as coda-restore's
exit statuses.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import BinaryIO, TextIO

from coda_restore.amcoda.backup import do_backup, scan_dump
from coda_restore.amcoda.estimate import do_estimate
from coda_restore.amcoda.request import INDEX_FD, MESG_FD, SUPPORT, Command, Messages, Request, parse_args
from coda_restore.amcoda.restore import do_restore
from coda_restore.amcoda.selfcheck import do_selfcheck
from coda_restore.errors import UsageError

USAGE = """\
usage: amcoda COMMAND [--NAME VALUE]...   (run by Amanda as its own user)
       amcoda install [--amlibexecdir DIR] [--user USER] [--name NAME] [--force]

Amanda's Application-API commands: support, selfcheck, estimate, backup,
restore, validate; properties are passed as --NAME VALUE (see the README or
coda-restore(1), AMANDA APPLICATION).  'amcoda install' (as root) puts this
amcoda into Amanda's application directory, tried as Amanda's user first;
'amcoda install --help' tells more.
"""


def do_support(req: Request, out: TextIO) -> int:
    for key, value in SUPPORT:
        out.write(f"{key} {value}\n")
    return 0


def do_validate(req: Request, stdin: BinaryIO, err: TextIO) -> int:
    """Exit 0 only for a complete, well-formed dump (amcheckdump's question)."""
    seen = scan_dump(stdin, "stdin")
    if seen.problem:
        err.write(f"amcoda: invalid dump: {seen.problem}\n")
        return 1
    return 0


def _open_fd(fd: int, mode: str):
    try:
        return os.fdopen(fd, mode, closefd=False)
    except OSError:
        return None


def _backup(req: Request) -> int:
    """``backup`` with Amanda's fds: 1 the data, 3 the messages, 4 the index."""
    mesg_stream = _open_fd(MESG_FD, "w")
    if mesg_stream is None:
        sys.stderr.write("amcoda: backup needs fd 3 (messages) open, as Amanda does\n")
        return 2
    index = _open_fd(INDEX_FD, "wb") if req.index_line else None
    if req.index_line and index is None:
        Messages(mesg_stream, sys.stderr).error("amcoda: --index line but fd 4 is not open")
        return 1
    sys.stdout.flush()
    return do_backup(req, sys.stdout.fileno(), Messages(mesg_stream, sys.stderr), index)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["install"]:  # the operator's command, not Amanda's API
        from coda_restore import plugin_install

        return plugin_install.main(argv[1:])
    if argv[:1] in (["-h"], ["--help"]):
        sys.stdout.write(USAGE)
        return 0
    try:
        req = parse_args(argv)
    except UsageError as exc:
        sys.stderr.write(f"amcoda: {exc}\n")
        return 2
    if req.command is Command.SUPPORT:
        return do_support(req, sys.stdout)
    if req.command is Command.SELFCHECK:
        return do_selfcheck(req, sys.stdout)
    if req.command is Command.ESTIMATE:
        return do_estimate(req, sys.stdout, sys.stderr)
    if req.command is Command.BACKUP:
        return _backup(req)
    if req.command is Command.RESTORE:
        return do_restore(req, sys.stdin.buffer, sys.stderr)
    return do_validate(req, sys.stdin.buffer, sys.stderr)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
