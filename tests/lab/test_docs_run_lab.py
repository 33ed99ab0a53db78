"""The README's stderr log of a real run is what run prints in the Coda lab
(issue 12: the docs are executed, with the lab where they need one).  Only
what differs from run to run is masked: the workdir, its free space and
the id the server gives the new volume and how many volumes it already
has (other lab tests restore volumes too)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cli_runner import run_cli
from lab.coda_lab import checkout_tool
from paths import REPO

pytestmark = pytest.mark.lab

README = (REPO / "README.md").read_text()
INTRO = "and the stderr log of a real run (the Coda lab of the test suite"


def _mask(line: str, workdir: str) -> str:
    line = line.replace(workdir, "WORKDIR")
    line = re.sub(r"\d+ MiB free", "N MiB free", line)
    # Amanda under libfaketime starts a night's run at 01:00:00 or 01:00:01,
    # and the plan's hash covers those datestamps
    line = re.sub(r"\b(2026\d{8})\d\d\b", r"\1SS", line)
    line = re.sub(r"plan [0-9a-f]{12}:", "plan HASH:", line)
    line = re.sub(r"no volume of \d+ has", "no volume of N has", line)
    line = re.sub(r"(created|dump) [0-9a-f]{8}$", r"\1 VOLID", line)
    return re.sub(r"restored (\S+) \([0-9a-f]{8}\)", r"restored \1 (VOLID)", line)


def test_the_readme_log_of_a_real_run_is_what_run_prints(coda_lab, tmp_path):
    shown = README.split(INTRO, 1)[1].split("\n\n", 2)[1].splitlines()
    shown = [line[4:] for line in shown]
    workdir = "/tmp/rdw"  # as in the README
    name = "u.jan.20260511"  # the default name the log shows
    server = coda_lab.server()
    for v in server.volumes():
        if v.name == name:
            server.purge(v.id, name)
    tools = tmp_path / "w" / "bin"  # the simulated server's volutil and pdbtool, as in the README
    volutil, pdbtool = (checkout_tool(coda_lab.lab.root, tools, tool=t) for t in ("volutil", "pdbtool"))
    result = run_cli("run", coda_lab.disk("u.jan"), "--date", "2026-05-11", "--config", coda_lab.config,
                     "--server", "localhost", "--partition", "/vicepa", "--workdir", tmp_path / "w",
                     "--volutil", str(volutil), "--pdbtool", str(pdbtool))
    printed = [_mask(line, str(tmp_path / "w")) for line in result.stderr.splitlines()]
    assert printed == [_mask(line, workdir) for line in shown]
