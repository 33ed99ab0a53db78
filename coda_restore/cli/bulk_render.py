"""The bulk plan for people: one line per volume, the tape schedule, the
totals and the spool against its budget."""

from __future__ import annotations

from coda_restore.cli.render import pretty_datestamp, row, say, size, stdout_console, table
from coda_restore.planning.bulk import BulkPlan, Verdict
from coda_restore.planning.schedule import Schedule


def duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def speed(kb_s: int) -> str:
    return f"{size(kb_s)}/s"


def render_bulk_plan(bulk: BulkPlan) -> None:
    out = stdout_console()
    t = bulk.target
    kind = "whole day" if t.whole_day else "instant"
    out.print(f"target   {t.input!r} -> {t.instant} ({kind}; dumps at or before {pretty_datestamp(t.bound)})",
              highlight=False)
    counts = ", ".join(f"{len(bulk.of(v))} {v.value}" for v in Verdict if bulk.of(v))
    say(out, f"chain    {bulk.chain}; {len(bulk.volumes)} volume(s): {counts}")
    out.print(_volumes_table(bulk))
    s = bulk.schedule
    if s.tapes:
        out.print(_schedule_table(s))
    if s.holding:
        say(out, f"holding disk: {len(s.holding)} image(s), {size(sum(h.kb for h in s.holding))}, "
                 "no tape and no spool")
    say(out, f"total    {len(s.tapes)} tape(s), each mounted once, {size(s.total_kb)} on {s.drives} drive(s) "
             f"at {speed(s.drive_kb_s)} each (--drive-speed): est. {duration(s.seconds)}")
    say(out, _spool_line(bulk))
    for w in bulk.warnings:
        say(out, f"warning [{w.code}]: {w.message}")
    n = len(bulk.of(Verdict.RESTORABLE))
    style = "bold green" if bulk.outcome == "all" else "bold red" if bulk.outcome == "none" else "bold yellow"
    verdict = {"all": "ALL RESTORABLE", "none": "NONE RESTORABLE"}.get(
        bulk.outcome, f"SOME RESTORABLE ({n} of {len(bulk.volumes)})")
    if not s.fits:
        verdict += "; OVER THE STAGING BUDGET"
    say(out, verdict, style=style if s.fits else "bold red")


def _volumes_table(bulk: BulkPlan):
    t = table("host", "volume", "ends on", "dumps", "tapes", "size", "verdict", right=("dumps", "size"),
              title="volumes", title_justify="left")
    for v in bulk.volumes:
        p = v.plan
        if v.verdict is Verdict.RESTORABLE:
            where = list(dict.fromkeys(tr.label for tr in p.tapes))
            holding = sum(st.copy.kind == "holding" for st in p.steps)
            where += [f"{holding} holding"] if holding else []
            row(t, v.host, v.disk, p.chosen, str(len(p.steps)), ", ".join(where) or "-",
                size(p.total_kb),
                "restorable")
        else:
            row(t, v.host or "?", v.disk or v.name, "-", "-", "-", "-", f"{v.verdict.value}: {v.reason}")
    return t


def _schedule_table(s: Schedule):
    t = table("#", "tape", "drive", "files (file: volume dump/level, * spooled)", "size", "start", "est. time",
              right=("#", "size"), title="tape schedule, in mount order per drive", title_justify="left")
    for n, m in enumerate(s.tapes, 1):
        files = ", ".join(_run(run) for run in _runs(m.files))
        row(t, str(n), m.label, str(m.drive), files, size(m.kb), duration(m.start_seconds), duration(m.seconds))
    return t


def _runs(files) -> list[list]:
    """Consecutive files of one image (a split dump's parts) together."""
    runs: list[list] = []
    for f in files:
        if runs and (runs[-1][-1].disk, runs[-1][-1].datestamp, runs[-1][-1].level) == (f.disk, f.datestamp, f.level):
            runs[-1].append(f)
        else:
            runs.append([f])
    return runs


def _run(files) -> str:
    first, last = files[0], files[-1]
    where = f"{first.filenum}" if len(files) == 1 else f"{first.filenum}-{last.filenum}"
    parts = "" if len(files) == 1 and first.partnum == 1 else \
        f" part {first.partnum}" if len(files) == 1 else f" parts {first.partnum}-{last.partnum}"
    spooled = "*" if any(f.spooled for f in files) else ""
    return f"{where}: {first.disk} {first.datestamp}/{first.level}{parts}{spooled}"


def _spool_line(bulk: BulkPlan) -> str:
    s = bulk.schedule
    budget = f"of {size(s.staging_max_kb)} allowed (--staging-max)" if s.staging_max_kb is not None \
        else "(no --staging-max)"
    where = f" in {bulk.staging}" if bulk.staging else ""
    peak = f"{size(s.peak_spool_kb)}" + (f" after {s.peak_at}" if s.peak_at else "")
    state = "" if s.fits else ": OVER BUDGET"
    return f"spool    peak {peak} {budget}{where}{state}"
