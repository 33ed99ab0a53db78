"""How results look to people: the stdout console, table cells, sizes,
datestamps, warnings on stderr, the plan (which plan and run both
print) and the event log on stderr (run and verify).  Command modules import these; none imports another command."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # rich is imported when a table or a console is made: --json output never needs it
    from rich.console import Console
    from rich.table import Table

from coda_restore.executor.events import Event, NullReporter, Stage
from coda_restore.planning.plan import Plan
from coda_restore.planning.planner import PROVEN

PIPE_WIDTH = 200  # a pipe or a file without COLUMNS: wide, so that little wraps


def stdout_console() -> Console:
    """Tables for people: the terminal's width (rich follows COLUMNS too);
    for a pipe or a file, COLUMNS or PIPE_WIDTH, unpadded.  Table columns
    wrap (and fold long words) rather than cut a label."""
    from rich.console import Console

    if sys.stdout.isatty():
        return Console()

    class PlainConsole(Console):
        """For a pipe or a file: no colour, and no padding at the ends of lines
        (rich pads every table row and title to the table's width)."""

        def print(self, *objects, **kwargs) -> None:
            with self.capture() as captured:
                super().print(*objects, **kwargs)
            self.file.write("\n".join(line.rstrip() for line in captured.get().split("\n")))

    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH
    return PlainConsole(width=width, no_color=True, force_terminal=False)


def say(out: Console, text: str, **style) -> None:
    """One line of plain text: no markup, no highlighting."""
    out.print(text, highlight=False, markup=False, **style)


def table(*columns: str, right: tuple[str, ...] = (), **options) -> Table:
    """A borderless table with bold headers whose cells fold, not cut;
    the columns named in ``right`` are right-aligned."""
    from rich.table import Table

    t = Table(box=None, header_style="bold", **options)
    for col in columns:
        t.add_column(col, justify="right" if col in right else "left", overflow="fold")
    return t


def row(t: Table, *cells: str) -> None:
    """Cells are plain text: a [bracket] in a path or a message is not markup."""
    from rich.markup import escape

    t.add_row(*(escape(c) for c in cells))


def size(kb: int | None) -> str:
    if kb is None:
        return "?"
    for unit, scale in (("GiB", 1 << 20), ("MiB", 1 << 10)):
        if kb >= scale:
            return f"{kb / scale:.1f} {unit}"
    return f"{kb} KiB"


def pretty_datestamp(stamp: str) -> str:
    """20260302005959 -> 2026-03-02 00:59:59 (as amadmin find prints it)."""
    return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[8:10]}:{stamp[10:12]}:{stamp[12:14]}"


def warn(lines: Sequence, limit: int | None = None) -> None:
    """Each line on stderr as a warning; past ``limit``, one line says how
    many more there are."""
    shown = lines if limit is None else lines[:limit]
    for line in shown:
        typer.echo(f"coda-restore: warning: {line}", err=True)
    if len(lines) > len(shown):
        typer.echo(f"coda-restore: warning: ... and {len(lines) - len(shown)} more", err=True)


def render_plan(plan: Plan, again: Sequence[str] = ()) -> None:
    """The plan for people; ``again`` are the options (records, clock) that
    make each alternative's command pasteable as it is."""
    out = stdout_console()
    _plan_head(out, plan)
    if plan.steps:
        out.print(_steps_table(plan))
    if plan.tapes:
        out.print(_tapes_table(plan))
    for w in plan.warnings:
        if w.message != plan.reason:  # else already printed as the reason
            say(out, f"{'proof' if w.code == PROVEN else 'warning'} [{w.code}]: {w.message}")
    _alternatives(out, plan, again)
    if plan.steps:
        say(out, "equivalent Amanda commands (one image each, on stdout):")
        for s in plan.steps:
            say(out, f"  {shlex.join(s.amfetchdump)} > {s.datestamp}.{s.level}", soft_wrap=True)


def _plan_head(out: Console, plan: Plan) -> None:
    t = plan.target
    say(out, f"volume   {plan.host} {plan.disk}")
    kind = "whole day" if t.whole_day else "instant"
    out.print(f"target   {t.input!r} -> {t.instant} ({kind}; dumps at or before {pretty_datestamp(t.bound)})",
              highlight=False)
    if plan.restorable:
        say(out, f"chain    {plan.chain}: {len(plan.steps)} dump(s), {plan.tape_loads} tape(s), "
                 f"{size(plan.total_kb)}; ends on {plan.chosen}")
        say(out, "RESTORABLE", style="bold green")
    else:
        say(out, f"chain    {plan.chain}")
        say(out, f"NOT RESTORABLE: {plan.reason}", style="bold red")


def _steps_table(plan: Plan) -> Table:
    t = table("#", "date", "lvl", "size", "copy", "why", title="steps, in apply order", title_justify="left")
    for i, s in enumerate(plan.steps, 1):
        row(t, str(i), pretty_datestamp(s.datestamp), str(s.level), size(s.kb), s.copy.describe(), s.why)
    return t


def _tapes_table(plan: Plan) -> Table:
    t = table("label", "files (file: dump/level part)", "size", title="tapes, in read order", title_justify="left")
    for tape in plan.tapes:
        files = ", ".join(f"{f.filenum}: {f.datestamp}/{f.level}" + (f" part {f.partnum}" if f.partnum > 1 else "")
                          for f in tape.files)
        row(t, tape.label, files, size(tape.kb))
    row(t, "total", f"{plan.tape_loads} tape load(s)", size(sum(x.kb for x in plan.tapes)))
    return t


def _alternatives(out: Console, plan: Plan, again: Sequence[str]) -> None:
    if not plan.restorable and not plan.alternatives:
        say(out, "no alternative: no instant of this volume is restorable from the records")
    if plan.alternatives:
        say(out, "alternatives (each with the command that plans it):")
    for a in plan.alternatives:
        tapes = ", ".join(a.tapes) + (f" +{a.holding} holding" if a.holding else "")
        say(out, f"  {a.kind}: the state of {pretty_datestamp(a.datestamp)} ({a.chain}: {len(a.steps)} "
                 f"dump(s), {size(a.kb)}; tapes {tapes or '-'}): {a.loses}")
        # whole, never wrapped: a line to paste (the same records and clock as this one)
        say(out, f"    {shlex.join([*a.command, *again])}", soft_wrap=True)


class StderrLog(NullReporter):
    """One line per event, for people and for cron mail."""

    def event(self, event: Event) -> None:
        if event.step is Stage.END and not event.ok:
            return  # the error itself is the last line, printed once by the CLI
        what = event.step.value + (f" {event.dump}" if event.dump else "")
        state = "done" if event.finished else ("FAILED" if not event.ok and event.step is not Stage.PREFLIGHT else "")
        detail = event.message or (f"{event.bytes} bytes" if event.bytes else "")
        if event.resumed:
            state = "resumed"
        typer.echo(f"coda-restore: {what}: {' '.join(x for x in (state, detail) if x)}", err=True)
