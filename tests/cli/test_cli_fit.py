"""A CLI that fits the terminal and the shell (issue 12): tables follow
COLUMNS and wrap instead of cutting, pipes get no padding, help shows
metavariables, shells complete volume names from the records, and every
alternative plan prints is a command that can be pasted as it is."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from coda_restore.cli import commands
from paths import EXAMPLE

SOURCES = ["--logdir", EXAMPLE / "log", "--tapelist", EXAMPLE / "tapelist", "--holding", EXAMPLE / "holding"]
CLOCK = ["--now", "2026-03-09", "--tz", "UTC"]
LABELS = [line.split()[1] for line in (EXAMPLE / "tapelist").read_text().splitlines()]
VOLUMES = ["coda:root", "p.proj", "u.ann", "u.jan"]
SCRIPT = Path(sys.executable).parent / "coda-restore"

OUTPUTS = [
    ["volumes", *SOURCES],
    ["history", "u.ann", *SOURCES],
    ["plan", "u.ann", "--date", "last saturday", *CLOCK, *SOURCES],
    ["check", "--tapecycle", "6", *CLOCK, *SOURCES],
]


@pytest.mark.parametrize("args", OUTPUTS, ids=lambda a: a[0])
def test_tables_follow_columns_and_wrap_rather_than_cut(cli, monkeypatch, args):
    monkeypatch.setenv("COLUMNS", "80")
    out = cli(*args).stdout
    lines = out.splitlines()
    for line in lines:
        pasteable = line.lstrip().startswith(("amfetchdump ", "coda-restore "))  # never broken, on purpose
        assert len(line) <= 80 or pasteable, line
        assert line == line.rstrip() and "…" not in line
    words = set(out.split())
    assert set(VOLUMES if args[0] in ("volumes", "check") else ["u.ann"]) <= words  # whole names
    if args[0] in ("check", "plan"):
        shown = [label for label in LABELS if label in out]
        assert shown and all(label in words or f"{label}:" in out for label in shown)


def test_a_pipe_gets_no_padding_and_columns_is_honoured(cli, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    out = cli("plan", "u.ann", "--date", "last saturday", *CLOCK, *SOURCES).stdout.splitlines()
    assert "steps, in apply order" in out and "tapes, in read order" in out  # titles, not 200 columns wide
    assert all(line == line.rstrip() for line in out)
    monkeypatch.setenv("COLUMNS", "120")
    assert max(map(len, cli("volumes", *SOURCES).stdout.splitlines())) <= 120


@pytest.mark.parametrize("name", commands.names())
def test_help_shows_metavariables_not_python_types(cli, monkeypatch, name):
    monkeypatch.setenv("COLUMNS", "160")
    text = cli(name, "--help").stdout
    for python in ("<bool>", "<str>", "<path>", "<list[", "<int>", "<float>", "{"):
        assert python not in text, f"{name} --help shows {python}"
    if name in ("volumes", "history", "plan", "check", "run"):
        assert " DIR " in text and " FILE " in text and " NAME " in text
    if name in ("plan", "run"):
        usage = "[VOLUME...]" if name == "plan" else "[VOLUME]"  # plan: several, or --all / --from; run: none with a bulk --plan
        assert " WHEN " in text and f"Usage: coda-restore {name} [OPTIONS] {usage}" in text


def _complete(shell: str, words: str) -> list[str]:
    env = dict(os.environ, _CODA_RESTORE_COMPLETE=f"complete_{shell}")
    if shell == "bash":
        env.update(COMP_WORDS=words, COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)))
    else:
        env.update(_TYPER_COMPLETE_ARGS=words, _TYPER_COMPLETE_FISH_ACTION="get-args")
    done = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.skipif(not SCRIPT.exists(), reason="needs the installed coda-restore script")
def test_shells_complete_volume_names_from_the_records():
    src = f"--logdir {EXAMPLE / 'log'} --tapelist {EXAMPLE / 'tapelist'}"
    assert _complete("bash", f"coda-restore history {src} u.") == ["u.ann", "u.jan"]
    assert _complete("fish", f"coda-restore check {src} ") == VOLUMES
    assert _complete("zsh", f"coda-restore plan {src} p") == ["_arguments", "'*:", ':(("p.proj"))\'']
    assert _complete("bash", "coda-restore history u.") == []  # no records named: nothing to offer
    for shell in ("bash", "zsh", "fish"):
        done = subprocess.run([str(SCRIPT), "--show-completion", shell], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, SHELL=f"/bin/{shell}"))
        assert done.returncode == 0 and "_CODA_RESTORE_COMPLETE" in done.stdout, done.stderr


def test_every_alternative_plan_prints_can_be_pasted(cli):
    # without the holding disk, u.ann's 03-08 dump is a broken link: plan offers others
    src = SOURCES[:4]
    out = cli("plan", "u.ann", "--date", "2026-03-08", *CLOCK, *src, exit_status=3).stdout
    pasted = [shlex.split(line) for line in out.splitlines() if line.startswith("    coda-restore plan ")]
    assert len(pasted) == 2
    for argv in pasted:
        assert argv[0] == "coda-restore"
        assert "RESTORABLE" in cli(*argv[1:]).stdout.splitlines()


def test_no_command_module_imports_another():
    """What two commands share lives in app, render, dump_args or catalog_source."""
    import ast

    cli_dir = Path(commands.__file__).parent
    for module in sorted(cli_dir.glob(f"*{commands.SUFFIX}.py")):
        tree = ast.parse(module.read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
        assert not {m for m in imported if m.startswith("coda_restore.cli.") and m.endswith(commands.SUFFIX)}, module
