"""The README and the man page's EXAMPLES are executed (issue 12), so the
docs cannot drift from the program again:

* a ``$ coda-restore ...`` block (with ``\\`` continuations) is run on the
  bundled records (``example-logs/``) and its output must be what is shown;
* a JSON schema block (``"schema": "coda-restore.NAME/1"``, annotated with
  ``//`` comments and ``...``) must name the same keys, at any depth, as the
  real documents of that kind on the bundled records, and every value it
  shows in full must be one the program writes for that key;
* a shown fragment of output (the ``--chain minimal`` warning) must be in
  what the command prints;
* every other line that runs ``coda-restore`` (examples for a site's own
  config, dump files, a crontab) must be accepted by the command-line
  parser as it stands, and a ``run`` line by run's own option check, which
  it makes before reading any record.

The stderr log of a real run needs the Coda lab's server:
test_docs_run_lab.py runs it there.  Not run: ``--install-completion`` (it
would edit the shell's startup file)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import typer

from coda_restore.cli import app
from coda_restore.executor.runner import RunOptions, check_options
from paths import REPO

ROOT = REPO
README = (ROOT / "README.md").read_text()
MAN = (ROOT / "man" / "coda-restore.1").read_text()
SOURCES = "--logdir example-logs/log --tapelist example-logs/tapelist --holding example-logs/holding"
CLOCK = "--now 2026-03-09 --tz UTC"
# the document of each schema, on the bundled records (plan: a restorable and an unrestorable one)
DOCUMENTS = {
    "history": [f"history u.jan {SOURCES} --json", f"history u.ann {SOURCES} --json"],  # u.ann: a holding copy
    "volumes": [f"volumes {SOURCES} --json"],
    "plan": [f"plan u.ann --date 'last saturday' {CLOCK} {SOURCES} --json",
             f"plan u.ann --date 'last saturday' {CLOCK} {SOURCES} --chain minimal --json",
             f"plan u.ann --date 2026-03-08 {CLOCK} --logdir example-logs/log --tapelist example-logs/tapelist --json"],
    "check": [f"check --tapecycle 6 {CLOCK} {SOURCES} --json",  # without the holding disk: gaps
              f"check --max-age 1d {CLOCK} --logdir example-logs/log --tapelist example-logs/tapelist --json"],
}


def md_blocks(text: str) -> list[list[str]]:
    """Indented (4-space) code blocks, each a list of lines."""
    out, cur, blank = [], None, True
    for line in text.splitlines():
        if cur is not None:
            if line.startswith("    ") or not line:
                cur.append(line[4:])
                continue
            out.append(cur)
            cur = None
        if line.startswith("    ") and blank:
            cur = [line[4:]]
        blank = not line.strip()
    if cur is not None:
        out.append(cur)
    for b in out:
        while b and not b[-1]:
            b.pop()
    return out


def man_blocks(text: str) -> list[list[str]]:
    """The .EX/.EE blocks of the EXAMPLES section, roff escapes undone."""
    section = text.split(".SH EXAMPLES", 1)[-1].split("\n.SH ", 1)[0] if ".SH EXAMPLES" in text else ""
    plain = section.replace("\\-", "-").replace("\\e", "\\")
    return [b.strip("\n").splitlines() for b in re.findall(r"\.EX\n(.*?)\.EE", plain, re.S)]


def shown_runs(blocks):
    """(argv, shown output lines) of every ``$ coda-restore`` block."""
    for b in blocks:
        if not b[0].startswith("$ coda-restore ") or _schema_block(b):
            continue
        n = 1
        command = b[0][2:]
        while command.endswith("\\"):
            command = command[:-1] + b[n].strip()
            n += 1
        yield shlex.split(command)[1:], b[n:]


def _schema_block(block: list[str]) -> str | None:
    """The kind of an annotated JSON block (its first lines: an optional
    ``$`` command, then ``{"schema": "coda-restore.KIND/1"``)."""
    for line in block[:3]:
        m = re.match(r'\{"schema": "coda-restore\.(\w+)/1"', line)
        if m:
            return m.group(1)
    return None


def command_lines(blocks):
    """Every other line that runs coda-restore, as argv (pipes and && cut)."""
    for b in blocks:
        if b[0].startswith(("$ ", "{")):
            continue  # run and compared, or a JSON document
        for line in b:
            for part in re.split(r"&&|\|", line.split("#", 1)[0] if not line.startswith("#") else line):
                part = part[part.find("coda-restore "):] if "coda-restore " in part else ""
                if part and not part.startswith("coda-restore:"):
                    yield shlex.split(part)[1:]


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # the examples name example-logs/ relative to the source tree
    monkeypatch.setenv("COLUMNS", "200")  # the width the examples were taken at


def _ids(runs):
    return [" ".join(argv[:2]) for argv, _ in runs]


README_RUNS = list(shown_runs(md_blocks(README)))
MAN_RUNS = list(shown_runs(man_blocks(MAN)))


@pytest.mark.parametrize("argv,shown", README_RUNS + MAN_RUNS, ids=_ids(README_RUNS + MAN_RUNS))
def test_a_shown_run_prints_what_is_shown(cli, at_root, argv, shown):
    result = cli(*argv, exit_status=None)
    assert [line.rstrip() for line in result.stdout.splitlines()] == [line.rstrip() for line in shown]


def _pairs(value) -> set[tuple[str, str]]:
    """(key, JSON of a scalar value) of every object, at any depth."""
    if isinstance(value, dict):
        own = {(k, json.dumps(v)) for k, v in value.items() if not isinstance(v, (dict, list))}
        return own.union(*(_pairs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_pairs(v) for v in value)) if value else set()
    return set()


_SHOWN_SCALAR = re.compile(r'"(\w+)": (-?\d+|true|false|null|"[^".…]*(?:\.[^".…]+)*")[,}\]\s]')


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | set().union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value)) if value else set()
    return set()


@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
def test_a_json_schema_block_names_the_keys_the_program_writes(cli, at_root, kind):
    (block,) = [b for b in md_blocks(README) if _schema_block(b) == kind]
    text = "\n".join(line for line in block if not line.startswith("$ "))
    documented = set(re.findall(r'"(\w+)":', text))
    real, values = set(), set()
    for command in DOCUMENTS[kind]:
        doc = json.loads(cli(*shlex.split(command), exit_status=None).stdout)
        real |= _keys(doc)
        values |= _pairs(doc)
    assert documented == real, f"README only: {sorted(documented - real)}; program only: {sorted(real - documented)}"
    # a value shown in full (not "...") is one the program writes for that key
    shown = {(k, v) for k, v in _SHOWN_SCALAR.findall(text)}
    assert shown <= values, f"shown but never written: {sorted(shown - values)}"


def test_the_minimal_chain_warning_shown_is_printed(cli, at_root):
    (block,) = [b for b in md_blocks(README) if b[0].startswith("warning [skipped-dumps]")]
    out = cli("plan", "u.ann", "--date", "last saturday", *CLOCK.split(), *SOURCES.split(), "--chain", "minimal").stdout
    assert " ".join(" ".join(block).split()) in " ".join(out.split())


def _parse(argv: list[str]) -> None:
    group = typer.main.get_command(app)
    if not argv or argv[0].startswith("-"):
        known = {o for p in group.params for o in p.opts}
        assert set(a for a in argv if a.startswith("-")) <= known, argv
        return
    command = group.commands[argv[0]]
    ctx = command.make_context(argv[0], argv[1:])
    if argv[0] == "run":
        p = ctx.params
        check_options(RunOptions(server=p["server"], partition=p["partition"], name=p["name"], output=p["output"]))


LINES = list(command_lines(md_blocks(README))) + list(command_lines(man_blocks(MAN)))


@pytest.mark.parametrize("argv", LINES, ids=[" ".join(a[:3]) for a in LINES])
def test_every_other_example_line_is_a_command_coda_restore_accepts(argv):
    _parse(argv)


def test_the_examples_are_found():
    # a guard on the extraction itself: the docs' examples are really there
    assert len(README_RUNS) >= 2 and len(MAN_RUNS) >= 2 and len(LINES) >= 10
