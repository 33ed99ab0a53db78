"""Runs one coda-restore command on hostile input and says how it ended:
in-process (fast, for CI) or as a child with a timeout (the bench: a hang is
seen as one).  The invariant every case must keep: a documented status, on
failure exactly one "coda-restore: error:" line, no traceback, no hang."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from coda_restore.cli import app, commands
from coda_restore.errors import EXIT_STATUSES

commands.load_all()
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Outcome:
    command: str
    status: int | None  # None: it hung
    stdout: str
    stderr: str
    traceback: str = ""

    @property
    def hung(self) -> bool:
        return self.status is None

    @property
    def clear(self) -> bool:
        """Ended as the rules say: a documented status; an error is one line."""
        if self.hung or self.traceback or self.status not in EXIT_STATUSES:
            return False
        return self.status == 0 or self.stderr.count("coda-restore: error:") <= 1

    def __str__(self) -> str:
        return f"{self.command}: status {self.status}{' TRACEBACK ' + self.traceback if self.traceback else ''}; " \
               f"{self.stderr.strip()[-200:]}"


def run(argv: list[object], *, child: bool = False, timeout: float = 60.0) -> Outcome:
    args = [str(a) for a in argv]
    name = " ".join(args[:1])
    if not child:
        result = CliRunner().invoke(app, args)
        exc = result.exception
        tb = "" if exc is None or isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}"
        return Outcome(name, result.exit_code, result.stdout, result.stderr, tb)
    proc = subprocess.Popen([sys.executable, "-m", "coda_restore", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                            cwd=REPO, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return Outcome(name, None, out, err)
    tb = "Traceback" if "Traceback" in err or "Exception ignored" in err else ""
    return Outcome(name, proc.returncode, out, err, tb)


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}
