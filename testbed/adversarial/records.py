"""The records side of the adversarial suite: one Amanda log of the example
records damaged (a line deleted, cut, doubled, a token replaced, binary
bytes or NULs put in), then every command that reads records run on it:
volumes, history, plan (exact and minimal), check.  Each must end clearly
(harness.Outcome.clear), write nothing into the records, and must not call
RESTORABLE a chain whose time holds a log it could not read whole (the one
wrong answer an oracle can see without a second implementation)."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from adversarial.harness import Outcome, files_under, run

EXAMPLE = Path(__file__).resolve().parents[2] / "example-logs"
LOGS = sorted(p.name for p in (EXAMPLE / "log").iterdir())
VOLUME, DATE, NOW = "u.ann", "2026-03-08", "2026-03-09"
CHAIN_FROM = "20260306010000"  # u.ann's level 0 under the chain for DATE
OPS = ("delete", "cut", "double", "token", "binary", "nul", "truncate-file")


@dataclass
class Verdict:
    outcomes: list[Outcome] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.clear for o in self.outcomes) and not (self.wrong or self.written)

    def __str__(self) -> str:
        return "; ".join(str(o) for o in self.outcomes if not o.clear) + f" wrong {self.wrong} written {self.written}"


def damage(data: bytes, op: str, line: int, at: int, junk: bytes) -> tuple[bytes, bool]:
    """The damaged log, and whether it is damaged in a way the catalog must
    notice (binary bytes, a NUL, a cut last line)."""
    lines = data.split(b"\n")
    i = line % max(len(lines) - 1, 1)
    if op == "delete":
        del lines[i]
    elif op == "cut":
        lines[i] = lines[i][: at % (len(lines[i]) + 1)]
    elif op == "double":
        lines.insert(i, lines[i])
    elif op == "token":
        words = lines[i].split(b" ")
        words[at % len(words)] = junk.replace(b"\n", b"").replace(b" ", b"") or b"X"
        lines[i] = b" ".join(words)
    elif op == "binary":
        lines[i] = lines[i][: at % (len(lines[i]) + 1)] + b"\x01\xff" + junk + lines[i][at % (len(lines[i]) + 1):]
    elif op == "nul":
        lines[i] = lines[i][: at % (len(lines[i]) + 1)] + b"\0" + lines[i][at % (len(lines[i]) + 1):]
    elif op == "truncate-file":
        out = data[: at % (len(data) + 1)]
        return out, bool(out) and not out.endswith(b"\n")
    out = b"\n".join(lines)
    noticed = op in ("binary", "nul") or (bool(out) and not out.endswith(b"\n"))
    return out, noticed


def judge(log: str, op: str, line: int, at: int, junk: bytes, *, child: bool = False,
          timeout: float = 60.0) -> Verdict:
    verdict = Verdict()
    with tempfile.TemporaryDirectory(prefix="adversarial.") as top:
        ex = Path(top) / "ex"
        shutil.copytree(EXAMPLE, ex)
        path = ex / "log" / log
        data, noticed = damage(path.read_bytes(), op, line, at, junk)
        path.write_bytes(data)
        before = files_under(ex)
        src = ["--logdir", ex / "log", "--tapelist", ex / "tapelist", "--holding", ex / "holding"]
        when = ["--now", NOW]
        argvs = [["volumes", *src], ["history", VOLUME, *src],
                 ["plan", VOLUME, "--date", DATE, "--json", *src, *when],
                 ["plan", VOLUME, "--date", DATE, "--chain", "minimal", "--json", *src, *when],
                 ["check", VOLUME, *src, *when]]
        for argv in argvs:
            out = run(argv, child=child, timeout=timeout)
            verdict.outcomes.append(out)
            stamp = log.split(".")[1]
            if argv[0] == "plan" and out.status == 0 and noticed and CHAIN_FROM <= stamp <= "20260308235959":
                verdict.wrong.append(f"{' '.join(map(str, argv[:5]))}: RESTORABLE over damaged {log}")
            if argv[0] == "plan" and out.status == 0:
                plan = json.loads(out.stdout)
                if not plan["restorable"]:
                    verdict.wrong.append("plan exited 0 but says not restorable")
        verdict.written = [str(p) for p in files_under(ex) - before]
    return verdict
