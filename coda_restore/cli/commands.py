"""Finds the command modules (``coda_restore/cli/NAME_cmd.py``, one command
each) and imports them, which registers their commands on the app.

``main`` imports only the module of the command being run: the others pull
in networkx, the codec and the catalog, and their import time would be paid
by every invocation.  Help and unknown words load them all.  Discovery by
name keeps this file out of every change that adds a command."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence

import coda_restore.cli as _pkg

SUFFIX = "_cmd"
# the order --help lists them in: the job's order, then the dump tools
ORDER = ("volumes", "history", "plan", "check", "run", "verify", "inspect", "merge", "ls", "extract")


def names() -> list[str]:
    found = {m.name[: -len(SUFFIX)] for m in pkgutil.iter_modules(_pkg.__path__) if m.name.endswith(SUFFIX)}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


def _load(name: str) -> None:
    importlib.import_module(f"coda_restore.cli.{name}{SUFFIX}")


def load_all() -> None:
    for name in names():
        _load(name)


def load_for(argv: Sequence[str]) -> None:
    """The command is the first word that is not an option (the top level
    takes no option with a value)."""
    word = next((a for a in argv if not a.startswith("-")), None)
    if word in names() and not any(a in ("-h", "--help") for a in argv[: argv.index(word)]):
        _load(word)
    elif word is not None or not argv or any(a in ("-h", "--help") for a in argv):
        load_all()  # help, or a word that is no command: list them all
    # else: top-level options only (--version): no command is needed
