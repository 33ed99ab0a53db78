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

from adversarial.harness import files_under, run
from voldump_vectors import f1, f1_parts, i1

# merge's refusals of the pair: a flip in a header field can make i1 no longer belong
_PAIR_ERRORS = ("is not a dump of the same volume", "is not with respect to", "is not newer than",
                "is not a full dump", "negative-level")
COMMANDS = ("inspect", "ls", "extract-to", "extract-tar", "merge")


@dataclass
class Verdict:
    statuses: dict[str, int] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    tracebacks: list[str] = field(default_factory=list)
    undocumented: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # files written outside the target
    hangs: list[str] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        judged = dict(self.statuses)
        if any(m in self.messages.get("merge", "") for m in _PAIR_ERRORS):
            del judged["merge"]  # merge also judges the pair (i1 on this dump), not the dump alone
        return len({s == 4 for s in judged.values()}) <= 1  # 4: invalid dump; 3 (an incremental alone) is no verdict

    @property
    def ok(self) -> bool:
        return self.agree and not (self.tracebacks or self.undocumented or self.outside or self.hangs)

    def __str__(self) -> str:
        return (f"statuses {self.statuses}; tracebacks {self.tracebacks}; hangs {self.hangs}; "
                f"undocumented {self.undocumented}; "
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


def judge(dump_bytes: bytes, *, child: bool = False, timeout: float = 60.0) -> Verdict:
    """Run every command on the dump; what they said, together."""
    verdict = Verdict()
    with tempfile.TemporaryDirectory(prefix="adversarial.") as top:
        top = Path(top)
        dump = top / "dump"
        dump.write_bytes(dump_bytes)
        (top / "work").mkdir()
        (top / "work" / "i1").write_bytes(i1())
        before = files_under(top)
        for command in COMMANDS:
            out = run(_argv(command, dump, top / "work"), child=child, timeout=timeout)
            verdict.statuses[command] = -1 if out.hung else out.status
            verdict.messages[command] = out.stderr.strip()[-300:]
            if out.traceback:
                verdict.tracebacks.append(f"{command}: {out.traceback}")
            if out.hung:
                verdict.hangs.append(command)
            elif not out.clear:
                verdict.undocumented.append(f"{command}: {out}")
        allowed = {top / "work" / n for n in ("out", "out.tar", "merged")}
        for p in files_under(top):
            if p in before or p in allowed or any(a in p.parents for a in allowed):
                continue
            verdict.outside.append(os.fspath(p.relative_to(top)))
    return verdict
