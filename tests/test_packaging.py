"""What pyproject.toml declares is what the code imports, every range is
bounded, and the constraints file CI installs pins exactly the lower bounds."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

from paths import REPO

ROOT = REPO
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOWEST = ROOT / "tests" / "constraints-lowest.txt"
_RANGE = re.compile(r"^([A-Za-z0-9_.-]+)>=([0-9.]+),<([0-9.]+)$")
# import name -> distribution name, where they differ
_DIST = {"dateutil": "python-dateutil"}


def _requirements() -> list[str]:
    return [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["test"]]


def _third_party_imports() -> set[str]:
    found = set()
    for path in (ROOT / "coda_restore").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {n for n in found if n not in sys.stdlib_module_names and n != "coda_restore"}


def test_every_requirement_has_a_lower_and_an_upper_bound():
    unbounded = [r for r in _requirements() if not _RANGE.match(r)]
    assert not unbounded, f"give these a range 'name>=LOW,<HIGH': {unbounded}"


def test_every_third_party_import_is_declared():
    declared = {_RANGE.match(r).group(1).lower() for r in PROJECT["dependencies"]}
    undeclared = {n for n in _third_party_imports() if _DIST.get(n, n).lower() not in declared}
    assert not undeclared, f"coda_restore imports undeclared modules: {sorted(undeclared)}"


def test_the_lowest_constraints_pin_exactly_the_lower_bounds():
    pins = dict(line.split("==") for line in LOWEST.read_text().splitlines()
                if line and not line.startswith("#"))
    lows = {m.group(1): m.group(2) for m in map(_RANGE.match, _requirements())}
    assert {k: _release(v) for k, v in pins.items()} == {k: _release(v) for k, v in lows.items()}


def _release(version: str) -> tuple[int, ...]:
    """'8', '8.0' and '8.0.0' are one release."""
    parts = [int(p) for p in version.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)
