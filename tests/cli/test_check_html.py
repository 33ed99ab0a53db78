"""coda-restore check --html: the restorability calendar on the bundled
records; its cells are the days of `check --json`, it fetches nothing, and
it never overwrites a file without --force."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from html.parser import HTMLParser

from coda_restore.cli.calendar_page import render
from coda_restore.errors import NOT_RESTORABLE, OK, USAGE
from coda_restore.planning.coverage import coverage_report
from paths import EXAMPLE
from plan_records import catalog, ds, dump, tape

SOURCES = ["--logdir", EXAMPLE / "log", "--tapelist", EXAMPLE / "tapelist"]  # no holding: minimal days
CHECK = ["check", "--tapecycle", "6", "--now", "2026-03-09", "--tz", "UTC", *SOURCES]


class Page(HTMLParser):
    """The calendar's day headers and rows of cell classes, every src/href,
    and the embedded check JSON."""

    def __init__(self, text: str):
        super().__init__()
        self.days: list[str] = []
        self.rows: list[tuple[str, list[str]]] = []
        self.links: list[str] = []
        self.tags: list[str] = []
        self._json: list[str] = []
        self._in_json = self._in_vol = False
        self.feed(text)
        self.close()
        self.doc = json.loads("".join(self._json))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self.links += [v for k, v in attrs if k in ("src", "href", "action", "srcset") and v]
        if tag == "th" and "data-day" in a:
            self.days.append(a["data-day"])
        elif tag == "th" and "vol" in (a.get("class") or "").split() and self.days:
            self.rows.append(("", []))
            self._in_vol = True
        elif tag == "td" and self._in_vol is False and self.rows and a.get("class") in ("e", "m", "n", "o"):
            self.rows[-1][1].append(a["class"])
        elif tag == "script" and a.get("id") == "check-json":
            self._in_json = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_json = False
        if tag == "th":
            self._in_vol = False

    def handle_data(self, data):
        if self._in_json:
            self._json.append(data)
        elif self._in_vol:
            self.rows[-1] = (self.rows[-1][0] + data, self.rows[-1][1])


def expand(runs) -> dict[str, str]:
    out = {}
    for r in runs:
        first, last = datetime.fromisoformat(r["first"]), datetime.fromisoformat(r["last"])
        for i in range((last - first).days + 1):
            out[(first.date().toordinal() + i)] = r["verdict"][0]
    return {datetime.fromordinal(k).date().isoformat(): v for k, v in out.items()}


def test_the_cells_are_the_days_of_check_json(cli, tmp_path):
    page_file = tmp_path / "calendar.html"
    shown = cli(*CHECK, "--html", page_file, exit_status=NOT_RESTORABLE)
    assert shown.stdout.splitlines()[-1].startswith("check: FAIL: 4 volume(s)")  # the table as without --html
    doc = json.loads(cli(*CHECK, "--json", exit_status=NOT_RESTORABLE).stdout)
    page = Page(page_file.read_text(encoding="utf-8"))
    assert page.doc == doc
    assert page.days == ["2026-03-05", "2026-03-06", "2026-03-07", "2026-03-08", "2026-03-09"]
    assert [name for name, _ in page.rows] == [f"{v['host']} {v['disk']}" for v in doc["volumes"]]
    for (_, cells), v in zip(page.rows, doc["volumes"]):
        days = expand(v["days"])
        assert cells == [days.get(d, "o") for d in page.days]
        assert [d for d in page.days if days[d] != "e"] == v["unrestorable_days"]
    # known days: without the holding disk, coda:root's and u.ann's last two nights are broken links,
    # restorable only by Amanda's minimal chain; p.proj has no level 0 before March 7
    cells = dict(page.rows)
    assert cells["localhost coda:root"] == ["e", "e", "e", "m", "m"]
    assert cells["localhost u.ann"] == ["n", "e", "e", "m", "m"]
    assert cells["localhost p.proj"] == ["n", "n", "e", "e", "e"]
    text = page_file.read_text(encoding="utf-8")
    assert "codarestore-lab-06" in text and 'id="at-risk"' in text and 'id="stale"' in text


def test_the_page_fetches_nothing(cli, tmp_path):
    page_file = tmp_path / "calendar.html"
    cli(*CHECK, "--holding", EXAMPLE / "holding", "--html", page_file, exit_status=OK)
    text = page_file.read_text(encoding="utf-8")
    page = Page(text)
    assert page.links == []  # no src, href: nothing to load, not even a same-directory file
    assert not {"link", "img", "iframe", "object", "embed", "base"} & set(page.tags)
    assert not re.search(r"url\(|@import|https?://|fetch\(|XMLHttpRequest", text, re.I)


def test_an_existing_file_is_refused_without_force(cli, tmp_path):
    page_file = tmp_path / "calendar.html"
    page_file.write_text("keep me")
    result = cli(*CHECK, "--html", page_file, exit_status=USAGE)
    assert result.stdout == ""  # refused before any log is read
    assert result.stderr == f"coda-restore: error: {page_file} exists; use --force to overwrite it\n"
    assert page_file.read_text() == "keep me"
    cli(*CHECK, "--html", page_file, "--force", exit_status=NOT_RESTORABLE)
    assert Page(page_file.read_text(encoding="utf-8")).doc["schema"] == "coda-restore.check/1"
    assert [p.name for p in tmp_path.iterdir()] == ["calendar.html"]  # no temporary file left


def test_html_dash_is_the_page_alone_on_stdout(cli):
    result = cli(*CHECK, "--html", "-", exit_status=NOT_RESTORABLE)
    assert result.stdout.startswith("<!DOCTYPE html>") and result.stdout.rstrip().endswith("</html>")
    assert Page(result.stdout).doc["exit_status"] == NOT_RESTORABLE
    both = cli(*CHECK, "--html", "-", "--json", exit_status=USAGE)
    assert both.stdout == "" and "--html - and --json both write to standard output" in both.stderr


def test_names_cannot_break_out_of_the_page():
    disk = "u.</script><b>x</b>&amp;'\""
    cat = catalog(dump(ds(1), 0, tape("T1", 1), host="h<i>", disk=disk))
    report = coverage_report(cat, [("h<i>", disk)], datetime(2004, 2, 3, 12, tzinfo=timezone.utc), None)
    page = Page(render(report))
    assert "b" not in page.tags and "i" not in page.tags
    assert page.doc["volumes"][0]["disk"] == disk
    assert page.rows == [(f"h<i> {disk}", ["e", "e", "e"])]
