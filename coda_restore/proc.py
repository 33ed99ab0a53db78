"""The one door to subprocesses.

Every child (amgetconf, amadmin, amfetchdump, volutil) is started here, from
an argument list, never a shell string: host and disk names can hold spaces
and quotes.  The command line is logged first; the exit status and the tail
of stderr are kept, so a failure names itself (``CommandFailed``).  Callers
judge the result.

Every child starts in a process group of its own, and is stopped as a
group: a ``runuser`` in front of amfetchdump, or a volutil that is a wrapper
script, leaves no grandchild behind holding the pipe open.

Nothing else in the package imports ``subprocess``: a caller that reads a
child's output asks for ``Child(argv, stdout=proc.PIPE)``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from coda_restore.errors import CommandFailed

log = logging.getLogger(__name__)

STDERR_TAIL = 4000  # characters of a child's stderr kept for the error message
_pause = threading.Event().wait  # time.sleep fails (EINVAL) under libfaketime; this does not
DRAIN_GRACE = 5.0  # seconds to wait for a killed group's stderr to close
PIPE = subprocess.PIPE  # Child(stdout=PIPE): callers need not import subprocess


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


def kill_group(popen: subprocess.Popen) -> None:
    """SIGKILL the child's whole process group (it leads one: start_new_session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)


def run(args: Sequence[object], *, check: bool = True, env: dict[str, str] | None = None,
        timeout: float | None = None) -> Completed:
    """Run a short command to completion, capturing its text output."""
    argv = argv_of(args)
    log.debug("running %s", display(argv))
    try:
        popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env, start_new_session=True)
    except FileNotFoundError:
        raise CommandFailed(argv, 127, f"{argv[0]}: command not found") from None
    # the timeout is a timer thread, not communicate(timeout=): that polls
    # with time.sleep, which fails (EINVAL) under libfaketime, as amcoda runs
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        if popen.returncode is None:
            kill_group(popen)

    timer = threading.Timer(timeout, expire) if timeout is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        out, err = popen.communicate()
    except BaseException:
        kill_group(popen)
        popen.wait()
        raise
    finally:
        if timer is not None:
            timer.cancel()
    if expired.is_set():
        raise CommandFailed(argv, -1, f"timed out after {timeout} s")
    # bytes a child prints that are not UTF-8 are shown, never a traceback
    stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    log.debug("%s exited %d; stderr: %s", argv[0], popen.returncode, stderr[-STDERR_TAIL:])
    done = Completed(tuple(argv), popen.returncode, stdout, stderr)
    if check and popen.returncode != 0:
        raise CommandFailed(argv, popen.returncode, stderr[-STDERR_TAIL:])
    return done


class Child:
    """A streaming child (amfetchdump, volutil restore): its pipes belong to
    the caller, its stderr is drained by a thread into a bounded tail so the
    child can never block on a full stderr pipe."""

    def __init__(self, args: Sequence[object], *, stdin=subprocess.DEVNULL, stdout=None):
        self.argv = argv_of(args)
        log.debug("starting %s", display(self.argv))
        try:
            self.popen = subprocess.Popen(self.argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                                          start_new_session=True)
        except FileNotFoundError:
            raise CommandFailed(self.argv, 127, f"{self.argv[0]}: command not found") from None
        self._tail = bytearray()
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()

    def _drain(self) -> None:
        for chunk in iter(lambda: self.popen.stderr.read1(65536), b""):
            self._tail += chunk
            del self._tail[:-STDERR_TAIL]

    @property
    def stdin(self):
        return self.popen.stdin

    @property
    def stdout(self):
        return self.popen.stdout

    @property
    def stderr_tail(self) -> str:
        return self._tail.decode("utf-8", "replace")

    def kill(self) -> None:
        """Stop the child and everything it started (its process group).
        Only while the child is not reaped: until then its pid, and so the
        group id, cannot be another process's."""
        if self.popen.returncode is None:
            kill_group(self.popen)

    def _exited(self, timeout: float | None) -> bool:
        """Wait for the child to exit, without reaping it (WNOWAIT), so that
        what it left in its group can still be stopped safely."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.popen.returncode is None:
            try:
                flags = os.WEXITED | os.WNOWAIT | (0 if deadline is None else os.WNOHANG)
                if os.waitid(os.P_PID, self.popen.pid, flags) is not None:
                    return True
            except ChildProcessError:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            _pause(0.02)
        return True

    def _reap(self) -> int:
        kill_group(self.popen)  # a grandchild left behind (a wrapper's) must not hold our pipes
        return self.popen.wait()

    def own_failure(self, grace: float = 2.0) -> CommandFailed | None:
        """After its stream went bad: the child's own failure, if it exited
        non-zero by itself within ``grace`` seconds (a tape error, a busy
        changer, a missing label say more than "truncated dump")."""
        if not self._exited(grace):
            return None
        status = self._reap()
        self._drainer.join(DRAIN_GRACE)
        return CommandFailed(self.argv, status, self.stderr_tail) if status > 0 else None

    def wait(self, *, check: bool = True) -> int:
        """Wait for the child and its stderr; raise CommandFailed on non-zero."""
        for pipe in (self.popen.stdin, self.popen.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        self._exited(None)
        status = self._reap()
        self._drainer.join(DRAIN_GRACE)  # a grandchild outside the group may keep stderr open
        log.debug("%s exited %d; stderr: %s", self.argv[0], status, self.stderr_tail)
        if check and status != 0:
            raise CommandFailed(self.argv, status, self.stderr_tail)
        return status
