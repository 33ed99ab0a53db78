"""The restorability calendar: `check --html` as one self-contained page.

Volumes down the side, the window's days across; each cell is the day's
verdict (exact, minimal, none) from the same report `check --json` prints,
and that JSON is embedded whole (``<script type="application/json"
id="check-json">``), so a reader or a test can compare the cells with it.
Below: the volumes that fail or warn and why, the stale ones, and the tapes
at risk.  Inline CSS and script only: the page fetches nothing.

Cells are bare ``<td class=X>`` (X = e, m, n; o: outside the volume's
window) in day order, the day named once by its column header
(``<th data-day=...>``): a 500-volume, one-year page stays a few MB.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from html import escape

from coda_restore.planning.coverage import CheckReport, DayVerdict, age_text, days_of

CELL = {DayVerdict.EXACT: "e", DayVerdict.MINIMAL: "m", DayVerdict.NONE: "n"}
OUTSIDE = "o"

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1em;color:#222}
h1{font-size:1.2em} h2{font-size:1.05em;margin-top:1.5em}
.OK{color:#1a7f37} .WARN{color:#9a6700} .FAIL{color:#cf222e}
.scroll{overflow:auto;max-height:80vh;border:1px solid #ccc}
table.cal{border-collapse:collapse;font-size:11px}
table.cal th,table.cal td{border:1px solid #fff;padding:0}
table.cal thead th{position:sticky;top:0;background:#f6f8fa;font-weight:normal;min-width:14px;text-align:center}
table.cal thead tr.months th{top:0} table.cal thead tr.mdays th{top:1.4em}
table.cal th.vol{position:sticky;left:0;background:#f6f8fa;text-align:left;padding:0 .5em;white-space:nowrap;
 z-index:1}
table.cal td{width:16px;height:16px}
td.e,.key.e{background:#2da44e} td.m,.key.m{background:#e3b341} td.n,.key.n{background:#cf222e} td.o{background:#eee}
span.key{display:inline-block;width:12px;height:12px;margin:0 .3em 0 1em;vertical-align:middle}
table.list{border-collapse:collapse} table.list td,table.list th{border:1px solid #ccc;padding:2px 6px;
 text-align:left;vertical-align:top}
"""

# The hovered cell says its volume, day and verdict (one listener, not 180k titles).
_SCRIPT = """
(function(){
  var words={e:"exactly restorable",m:"only minimally restorable (orphan vnodes)",n:"not restorable",
             o:"outside the volume's window"};
  var t=document.getElementById("calendar"); if(!t) return;
  var days=t.querySelectorAll("thead tr.mdays th[data-day]");
  t.addEventListener("mouseover",function(ev){
    var c=ev.target; if(c.tagName!=="TD"||c.title) return;
    var d=days[c.cellIndex-1]; if(!d) return;
    c.title=c.parentNode.cells[0].textContent+" "+d.getAttribute("data-day")+": "+(words[c.className]||"");
  });
})();
"""


def _days(first: str, last: str) -> list[str]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return [(a + timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]


def _embedded_json(report: CheckReport) -> str:
    # "<" escaped: no "</script>" or "<!--" in a host or disk name ends the block early
    return json.dumps(report.to_dict(), indent=None).replace("<", "\\u003c")


def _calendar(report: CheckReport) -> list[str]:
    runs = [r for v in report.volumes for r in v.days]
    if not runs:
        return ["<p>No volume has a day in the window.</p>"]
    days = _days(min(r.first for r in runs), max(r.last for r in runs))
    out = ['<div class="scroll"><table class="cal" id="calendar"><thead><tr class="months"><th class="vol"></th>']
    months: list[tuple[str, int]] = []
    for d in days:
        if months and months[-1][0] == d[:7]:
            months[-1] = (d[:7], months[-1][1] + 1)
        else:
            months.append((d[:7], 1))
    out += [f'<th colspan="{n}">{m}</th>' for m, n in months]
    out.append('</tr><tr class="mdays"><th class="vol">volume</th>')
    out += [f'<th data-day="{d}">{int(d[8:])}</th>' for d in days]
    out.append("</tr></thead><tbody>")
    index = {d: i for i, d in enumerate(days)}
    for v in report.volumes:
        cells = [OUTSIDE] * len(days)
        for r in v.days:
            for d in days_of(r):
                cells[index[d]] = CELL[r.verdict]
        out.append(f'<tr><th class="vol {v.verdict}" title="{escape(v.verdict)}">'
                   f"{escape(v.host)} {escape(v.disk)}</th>")
        out.append("".join(f"<td class={c}>" for c in cells))
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return out


def _problems(report: CheckReport) -> list[str]:
    rows = [(v, why) for v in report.volumes for why in v.why]
    if not rows:
        return []
    out = ['<h2>Volumes that fail or warn</h2><table class="list" id="problems">'
           "<tr><th>verdict</th><th>host</th><th>volume</th><th>why</th></tr>"]
    out += [f'<tr><td class="{v.verdict}">{v.verdict}</td><td>{escape(v.host)}</td><td>{escape(v.disk)}</td>'
            f"<td>{escape(why)}</td></tr>" for v, why in rows]
    out.append("</table>")
    return out


def _stale(report: CheckReport) -> list[str]:
    stale = [v for v in report.volumes if v.stale]
    limit = f" ({escape(report.max_age.describe())})" if report.max_age else ""
    out = [f"<h2>Stale volumes{limit}</h2>"]
    if not stale:
        return out + ['<p id="stale">None.</p>']
    out.append('<table class="list" id="stale"><tr><th>host</th><th>volume</th><th>newest restore point</th>'
               "<th>age</th></tr>")
    out += [f"<tr><td>{escape(v.host)}</td><td>{escape(v.disk)}</td><td>{escape(v.newest_point or '')}</td>"
            f"<td>{age_text(v.newest_age) if v.newest_age is not None else ''}</td></tr>" for v in stale]
    out.append("</table>")
    return out


def _at_risk(report: CheckReport) -> list[str]:
    head = f"Tapes at risk (tapecycle {report.tapecycle}), in overwrite order" if report.tapecycle else \
        "Tapes at risk" + (", each config's own cycle (" + ", ".join(
            f"{c.config}: tapecycle {c.tapecycle}" for c in report.cycles) + "), in overwrite order"
            if report.cycles else "")
    out = [f"<h2>{escape(head)}</h2>"]
    if report.at_risk_note:
        out.append(f"<p>{escape(report.at_risk_note)}</p>")
    if not report.at_risk:
        return out
    several = bool(report.cycles)
    out.append('<table class="list" id="at-risk"><tr>' + ("<th>config</th>" if several else "")
               + "<th>#</th><th>label</th><th>written</th><th>overwritten</th><th>restore points lost</th></tr>")
    for r in report.at_risk:
        when = "in the next run" if r.next_run else f"after {r.writes_before} tape write(s)"
        lost = "<br>".join(f"{escape(h)} {escape(d)}: {escape(', '.join(p))}" for h, d, p in r.loses) \
            or "no restore point lost"
        cell = f"<td>{escape(r.config or '')}</td>" if several else ""
        out.append(f"<tr>{cell}<td>{r.order}</td><td>{escape(r.label)}</td><td>{escape(r.datestamp)}</td>"
                   f"<td>{when}</td><td>{lost}</td></tr>")
    out.append("</table>")
    return out


def render(report: CheckReport) -> str:
    """The whole page, from the report `check --json` prints."""
    summary = escape(report.summary())
    parts = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f"<title>coda-restore check: {escape(report.verdict)}</title><style>{_STYLE}</style></head><body>",
        f'<h1 class="{report.verdict}" id="summary">{summary}</h1>',
        f"<p>Each day judged at its end; now is {escape(report.now)}."
        '<span class="key e"></span>exact<span class="key m"></span>only minimal (deleted files come back as '
        'orphan vnodes)<span class="key n"></span>not restorable</p>',
        *_calendar(report),
        *_problems(report),
        *_stale(report),
        *_at_risk(report),
        f'<script type="application/json" id="check-json">{_embedded_json(report)}</script>',
        f"<script>{_SCRIPT}</script>",
        "</body></html>\n",
    ]
    return "\n".join(parts)
