"""when.py: what an operator types becomes one instant (DESIGN rule 5)."""

from datetime import datetime

import pytest

from coda_restore.errors import BadDate, UsageError
from coda_restore.planning.when import from_datestamp, parse_now, parse_when, zone

UTC = zone("UTC")
# Thursday 2004-03-04, mid-afternoon.
NOW = datetime(2004, 3, 4, 15, 30, 0, tzinfo=UTC)


def bound(text, now=NOW):
    return parse_when(text, now=now).bound


@pytest.mark.parametrize(
    "text, expected",
    [
        ("friday", "20040227235959"),  # most recent Friday not after today
        ("Fri", "20040227235959"),
        ("last friday", "20040227235959"),
        ("thursday", "20040304153000"),  # today: covered up to now
        ("last thursday", "20040226235959"),  # the one before today
        ("today", "20040304153000"),
        ("yesterday", "20040303235959"),
        ("3 days ago", "20040301235959"),
        ("1 week ago", "20040226235959"),
        ("2 weeks ago", "20040219235959"),
        ("2004-02-27", "20040227235959"),
        ("2004-02-27 18:00", "20040227180000"),
        ("2004-02-27T18:00:30", "20040227180030"),
        ("2004-02-27T18:00+01:00", "20040227170000"),  # offset converted to Amanda's zone
        ("2004-02-27T18:00Z", "20040227180000"),
        ("20040227", "20040227235959"),
        ("20040227031500", "20040227031500"),
        ("2004-02-27-18-00-00", "20040227180000"),  # amrecover setdate form
        ("  Last   Friday ", "20040227235959"),
    ],
)
def test_forms_resolve_to_a_bound(text, expected):
    assert bound(text) == expected


def test_friday_on_a_friday_is_today_and_last_friday_a_week_ago():
    friday = datetime(2004, 2, 27, 12, 0, tzinfo=UTC)
    assert bound("friday", friday) == "20040227120000"
    assert bound("last friday", friday) == "20040220235959"


def test_whole_day_flag_and_instant_printed_back():
    t = parse_when("2004-02-27", now=NOW)
    assert t.whole_day and t.input == "2004-02-27"
    assert "2004-02-27 (whole day" in t.describe()
    t = parse_when("2004-02-27 18:00", now=NOW)
    assert not t.whole_day and t.describe().startswith("2004-02-27 18:00:00")


def test_zone_changes_the_bound_of_an_aware_input():
    berlin = zone("Europe/Berlin")
    now = datetime(2004, 3, 4, 15, 30, tzinfo=berlin)
    # 18:00 UTC is 19:00 in Berlin (winter): the datestamp bound is local.
    assert bound("2004-02-27T18:00Z", now) == "20040227190000"
    assert bound("2004-02-27 18:00", now) == "20040227180000"


@pytest.mark.parametrize(
    "text",
    ["", "   ", "soon", "2004-02-30", "2004-13-01", "20041301", "2004-02-27 25:00", "fridays",
     "0 days from now", "2004-02-27T18:00+25:00", "123456789"],
)
def test_nonsense_is_a_bad_date_listing_the_accepted_forms(text):
    with pytest.raises(BadDate) as info:
        parse_when(text, now=NOW)
    assert info.value.exit_status == 2
    assert "accepted forms" in str(info.value)


@pytest.mark.parametrize("text", ["2004-03-05", "2004-03-04 15:31", "20040305", "tomorrow"])
def test_future_is_a_bad_date(text):
    with pytest.raises(BadDate) as info:
        parse_when(text, now=NOW)
    message = str(info.value)
    assert "future" in message or "accepted forms" in message
    if text != "tomorrow":
        assert "future" in message


def test_now_option():
    assert parse_now("2004-03-04 15:30", UTC) == NOW
    assert parse_now("2004-03-04", UTC) == datetime(2004, 3, 4, 23, 59, 59, tzinfo=UTC)
    assert parse_now("20040304153000", UTC) == NOW
    with pytest.raises(BadDate):
        parse_now("friday", UTC)
    assert parse_now(None, UTC).tzinfo is UTC


def test_unknown_zone_is_a_usage_error():
    with pytest.raises(UsageError):
        zone("Mars/Olympus")


def test_datestamp_round_trip():
    assert from_datestamp("20040227", UTC) == datetime(2004, 2, 27, tzinfo=UTC)
    assert from_datestamp("20040227031500", UTC).hour == 3
