"""The restorability calendar in a real browser, on the real Amanda lab's records.

`check --html` on the lab's logdir and tapelist (without its holding disk,
so some of the week's last days are restorable only by Amanda's minimal
chain), opened from a file:// URL in Debian's headless chromium driven by
selenium through Debian's chromedriver.  Every cell the browser shows (its
class and the colour it paints) is the day's verdict of `check --json` on
the same records; hovering a cell names its volume, day and verdict.  The
page is kept as a screenshot, calendar-lab.png, in $CODARESTORE_ARTIFACTS
(default: artifacts/ under tests/setup-and-run's venvs directory).

No browser, no driver: the test FAILS; a calendar test that skips in CI
would prove nothing.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from coda_restore.errors import NOT_RESTORABLE

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,800")
# what the page paints each verdict (calendar_page._STYLE), as the browser reports it
PAINT = {"exact": "rgba(45, 164, 78, 1)", "minimal": "rgba(227, 179, 65, 1)", "none": "rgba(207, 34, 46, 1)"}
WORDS = {"exact": "exactly restorable", "minimal": "only minimally restorable", "none": "not restorable"}


def artifacts() -> Path:
    venvs = os.environ.get("CODARESTORE_VENVS", "/var/tmp/coda-restore-test")
    out = Path(os.environ.get("CODARESTORE_ARTIFACTS") or Path(venvs) / "artifacts")
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def browser(tmp_path):
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not os.access(tool, os.X_OK):
            pytest.fail(f"{tool} is missing: install Debian's chromium and chromium-driver "
                        "(tests/setup-and-run does)", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def verdicts(volume: dict) -> dict[str, str]:
    out = {}
    for run in volume["days"]:
        day = date.fromisoformat(run["first"])
        while day <= date.fromisoformat(run["last"]):
            out[day.isoformat()] = run["verdict"]
            day += timedelta(days=1)
    return out


@pytest.mark.lab
def test_the_browser_shows_the_verdicts_of_check_json(amanda_lab, cli, tmp_path, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    check = ["check", "--tapecycle", "6", "--now", "2026-03-09", "--max-age", "48h",
             "--logdir", amanda_lab.logdir, "--tapelist", amanda_lab.tapelist]
    page = tmp_path / "calendar.html"
    cli(*check, "--html", page, exit_status=NOT_RESTORABLE)
    doc = json.loads(cli(*check, "--json", exit_status=NOT_RESTORABLE).stdout)

    browser.get(page.as_uri())
    assert browser.title == f"coda-restore check: {doc['verdict']}"
    days = [th.get_attribute("data-day") for th in browser.find_elements(By.CSS_SELECTOR, "#calendar th[data-day]")]
    assert days[0] == doc["window_start"] and days[-1] == "2026-03-09"
    rows = browser.find_elements(By.CSS_SELECTOR, "#calendar tbody tr")
    assert [r.find_element(By.TAG_NAME, "th").text for r in rows] == [f"{v['host']} {v['disk']}"
                                                                       for v in doc["volumes"]]
    seen = {}
    for row, volume in zip(rows, doc["volumes"]):
        expected = verdicts(volume)
        for day, cell in zip(days, row.find_elements(By.TAG_NAME, "td")):
            verdict = expected[day]
            assert cell.get_attribute("class") == verdict[0], (volume["disk"], day)
            assert cell.value_of_css_property("background-color") == PAINT[verdict], (volume["disk"], day)
            seen[(volume["disk"], day)] = (verdict, cell)
    # Known days of the lab's week (testbed/lab/scenario.py): u.jan's level 0 of Thursday and its
    # incrementals are all on tape; Sunday's coda:root and u.ann went to the holding disk only
    # (--no-taper), so without it their exact chains break and only Amanda's minimal chain is left;
    # p.proj has no level 0 on a tape still in the tapelist before Saturday's.
    assert {seen[("u.jan", d)][0] for d in days} == {"exact"}
    assert seen[("coda:root", "2026-03-07")][0] == "exact"
    assert seen[("coda:root", "2026-03-08")][0] == "minimal"
    assert seen[("u.ann", "2026-03-09")][0] == "minimal"
    assert seen[("p.proj", days[0])][0] == "none" and seen[("p.proj", "2026-03-07")][0] == "exact"

    # the inline script names a hovered cell's volume, day and verdict
    cell = seen[("coda:root", "2026-03-08")][1]
    ActionChains(browser).move_to_element(cell).perform()
    assert cell.get_attribute("title").startswith("localhost coda:root 2026-03-08: " + WORDS["minimal"])

    # stale volumes and tapes at risk are on the page, as --json has them
    risk = browser.find_elements(By.CSS_SELECTOR, "#at-risk tr")[1:]
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in risk] == [t["label"] for t in doc["at_risk"]]
    stale = [r.find_elements(By.TAG_NAME, "td")[1].text
             for r in browser.find_elements(By.CSS_SELECTOR, "#stale tr")[1:]]
    assert stale == [v["disk"] for v in doc["volumes"] if v["stale"]]
    assert "u.jan" in stale  # its newest restore point is Saturday's, over 48 hours old

    shot = artifacts() / "calendar-lab.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000
