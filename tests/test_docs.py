"""The man page and README describe what --help and the code say."""

from pathlib import Path

import typer

from coda_restore.cli import app, commands

commands.load_all()  # in-process runs see every command, as --help does
from coda_restore.errors import EXIT_STATUSES
from paths import REPO

ROOT = REPO
MAN = (ROOT / "man" / "coda-restore.1").read_text()
README = (ROOT / "README.md").read_text()
# roff escapes '-' as '\-'; compare on the plain text.
MAN_PLAIN = MAN.replace("\\-", "-").replace("\\fR", "").replace("\\fI", "").replace("\\fB", "")


def _commands():
    if not app.registered_commands:
        return []
    return typer.main.get_command(app).commands.items()


def test_every_command_and_option_in_help_is_in_the_man_page():
    missing = []
    for name, command in _commands():
        if f".SS {name}" not in MAN_PLAIN and f'.SS "{name}' not in MAN_PLAIN:
            missing.append(f"command {name}")
        for param in command.params:
            for opt in param.opts + param.secondary_opts:
                if opt.startswith("-") and opt not in MAN_PLAIN:
                    missing.append(f"{name} {opt}")
    assert not missing, f"not in man/coda-restore.1: {missing}"


def test_every_command_is_in_the_readme():
    missing = [name for name, _ in _commands() if f"coda-restore {name}" not in README]
    assert not missing, f"not in README.md: {missing}"


def test_exit_statuses_are_documented_as_the_code_defines_them():
    exit_section = MAN_PLAIN.split(".SH EXIT STATUS", 1)[1].split(".SH ", 1)[0]
    for status, meaning in EXIT_STATUSES.items():
        assert f".B {status}\n{meaning}" in exit_section
        assert f"| {status} | {meaning.replace('--strict', '`--strict`').replace('plan and check', '`plan` and `check`')} |" in README


def test_the_readme_plan_example_is_what_plan_prints_on_example_logs(monkeypatch):
    from cli_runner import run_cli

    monkeypatch.setenv("COLUMNS", "200")  # the width the example was taken at
    prompt = "    $ coda-restore plan u.ann --date 'last saturday' --now 2026-03-09 --tz UTC \\\n"
    block = README.split(prompt, 1)[1].split("\n\n", 1)[0].splitlines()
    assert block[0].strip().startswith("--logdir example-logs/log")
    shown = [line[4:].rstrip() for line in block[1:]]
    result = run_cli("plan", "u.ann", "--date", "last saturday", "--now", "2026-03-09", "--tz", "UTC",
                     "--logdir", ROOT / "example-logs/log", "--tapelist", ROOT / "example-logs/tapelist",
                     "--holding", ROOT / "example-logs/holding")
    assert shown == [line.rstrip() for line in result.stdout.splitlines()]


def test_how_it_is_built_names_every_room_of_the_package():
    """README's "How it is built" mirrors DESIGN's layout: every subpackage
    and top-level module of the installed package is named there."""
    import coda_restore

    section = README.split("## How it is built", 1)[1].split("\n## ", 1)[0]
    package = Path(coda_restore.__file__).parent
    rooms = {p.name + "/" for p in package.iterdir() if (p / "__init__.py").exists()}
    rooms |= {p.name for p in package.glob("*.py") if p.stem not in ("__init__", "__main__")}
    missing = sorted(r for r in rooms if f"`{r}`" not in section and f"`coda_restore/{r}`" not in section)
    assert not missing, f"not in README's How it is built: {missing}"
