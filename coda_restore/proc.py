"""The one door to subprocesses.

Every child (amgetconf, amadmin, amfetchdump, volutil) is started here, from
an argument list, never a shell string: host and disk names can hold spaces
and quotes.  The command line is logged first; the exit status and the tail
of stderr are kept, so a failure names itself (``CommandFailed``).  Callers
judge the result.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from coda_restore.errors import CommandFailed

log = logging.getLogger(__name__)

STDERR_TAIL = 4000  # characters of a child's stderr kept for the error message


def argv_of(args: Sequence[object]) -> list[str]:
    """Stringify an argument list (Paths, ints) for exec."""
    return [os.fspath(a) if isinstance(a, os.PathLike) else str(a) for a in args]


def display(args: Sequence[object]) -> str:
    """The argv as a person would type it in a POSIX shell."""
    return shlex.join(argv_of(args))


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    status: int
    stdout: str
    stderr: str


def run(args: Sequence[object], *, check: bool = True, env: dict[str, str] | None = None,
        timeout: float | None = None) -> Completed:
    """Run a short command to completion, capturing its text output."""
    argv = argv_of(args)
    log.debug("running %s", display(argv))
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              env=env, timeout=timeout, check=False)
    except FileNotFoundError:
        raise CommandFailed(argv, 127, f"{argv[0]}: command not found") from None
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(argv, -1, f"timed out after {exc.timeout} s") from None
    log.debug("%s exited %d; stderr: %s", argv[0], proc.returncode, proc.stderr[-STDERR_TAIL:])
    done = Completed(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise CommandFailed(argv, proc.returncode, proc.stderr[-STDERR_TAIL:])
    return done
