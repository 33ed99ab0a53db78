"""Progress and events of a run, as records.

The executor reports to an injected ``Reporter``; by default nothing
happens (``NullReporter``).  The CLI picks the printers: a JSON-lines file
for ``--log-json``, a human log on stderr, and rich bars on a terminal.  Every
event names its volume and dump, carries byte counts and ``finished``.
"""

from __future__ import annotations

import enum
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol


class Stage(enum.Enum):
    """A stage of a run, as progress events name it (a plan's dump to apply is plan.Step)."""

    START = "start"
    PREFLIGHT = "preflight"
    FETCH = "fetch"
    VERIFY = "verify"
    MERGE = "merge"
    RESTORE = "restore"
    END = "end"


@dataclass(frozen=True)
class Event:
    step: Stage
    volume: str
    dump: str | None = None  # "DATESTAMP/LEVEL" or None for the whole run
    bytes: int = 0
    finished: bool = False
    ok: bool = True
    sha256: str | None = None
    message: str = ""
    resumed: bool = False  # a spooled image taken from the journal, not fetched
    time: float = field(default_factory=time.time)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["step"] = self.step.value
        return data


class Reporter(Protocol):
    def event(self, event: Event) -> None: ...

    def progress(self, step: Stage, dump: str | None, done: int, total: int | None) -> None: ...

    def close(self) -> None:
        """The run is over: a file to close, bars to take down."""


class NullReporter:
    def event(self, event: Event) -> None:
        pass

    def progress(self, step: Stage, dump: str | None, done: int, total: int | None) -> None:
        pass

    def close(self) -> None:
        pass


class JsonLinesLog(NullReporter):
    """One JSON object per line, flushed at once so a killed run keeps them."""

    def __init__(self, path: Path):
        self._file = open(path, "a", encoding="utf-8")

    def event(self, event: Event) -> None:
        self._file.write(json.dumps(event.to_dict(), sort_keys=True) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class Fanout(NullReporter):
    def __init__(self, *reporters: Reporter):
        self._reporters = reporters

    def event(self, event: Event) -> None:
        for r in self._reporters:
            r.event(event)

    def progress(self, step: Stage, dump: str | None, done: int, total: int | None) -> None:
        for r in self._reporters:
            r.progress(step, dump, done, total)

    def close(self) -> None:
        for r in self._reporters:
            r.close()
