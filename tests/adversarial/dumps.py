"""The dump side of the adversarial suite: every command that reads a dump
(inspect, ls, extract --to, extract --tar, merge) run in-process on one
hostile dump, and the invariant they must keep together: one clear message
and a documented status, no traceback, nothing written outside the target,
and the same verdict from all (valid for every command, or for none).
Used by tests/adversarial/test_dumps.py (derandomized, in CI) and by
bench/adversarial.py (the long fuzz)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from typer.testing import CliRunner

from coda_restore.cli import app, commands
from coda_restore.errors import EXIT_STATUSES
from voldump_vectors import f1, f1_parts, i1

commands.load_all()

COMMANDS = ("inspect", "ls", "extract-to", "extract-tar", "merge")


@dataclass
class Verdict:
    statuses: dict[str, int] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    tracebacks: list[str] = field(default_factory=list)
    undocumented: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # files written outside the target

    @property
    def agree(self) -> bool:
        return len({s == 0 for s in self.statuses.values()}) <= 1

    @property
    def ok(self) -> bool:
        return self.agree and not (self.tracebacks or self.undocumented or self.outside)

    def __str__(self) -> str:
        return (f"statuses {self.statuses}; tracebacks {self.tracebacks}; undocumented {self.undocumented}; "
                f"outside {self.outside}; messages {self.messages}")


def root_pages_at() -> tuple[int, int]:
    """(offset, length) of the root directory's pages in f1()."""
    data, pages = f1(), f1_parts()[0][0].pages
    return data.index(pages), len(pages)


def _argv(command: str, dump: Path, work: Path) -> list[str]:
    return {
        "inspect": ["inspect", dump],
        "ls": ["ls", dump],
        "extract-to": ["extract", dump, "--to", work / "out"],
        "extract-tar": ["extract", dump, "--tar", work / "out.tar"],
        "merge": ["merge", work / "merged", dump, work / "i1"],
    }[command]


def judge(dump_bytes: bytes) -> Verdict:
    """Run every command on the dump; what they said, together."""
    verdict = Verdict()
    runner = CliRunner()
    with tempfile.TemporaryDirectory(prefix="adversarial.") as top:
        top = Path(top)
        dump = top / "dump"
        dump.write_bytes(dump_bytes)
        (top / "work").mkdir()
        (top / "work" / "i1").write_bytes(i1())
        before = {p for p in top.rglob("*")}
        for command in COMMANDS:
            work = top / "work"
            result = runner.invoke(app, [str(a) for a in _argv(command, dump, work)])
            status = result.exit_code
            verdict.statuses[command] = status
            verdict.messages[command] = result.stderr.strip()[-300:]
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                verdict.tracebacks.append(f"{command}: {type(result.exception).__name__}: {result.exception}")
            if status not in EXIT_STATUSES:
                verdict.undocumented.append(f"{command}: {status}")
            if status != 0 and (result.stderr.count("coda-restore: error:") != 1):
                verdict.undocumented.append(f"{command}: not one error line")
        allowed = {top / "work" / n for n in ("out", "out.tar", "merged")}
        for p in top.rglob("*"):
            if p in before or p in allowed or any(a in p.parents for a in allowed):
                continue
            verdict.outside.append(os.fspath(p.relative_to(top)))
    return verdict
