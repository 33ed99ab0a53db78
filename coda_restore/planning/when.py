"""Turning what an operator types ("friday", "2004-02-27 18:00") into one
instant, compared with Amanda datestamps (DESIGN.md rule 5).

Amanda datestamps are the local time of the Amanda server, so every target
is resolved in that zone (``--tz``, default the local zone).  A date without
a time covers the whole day, as in amrecover's ``setdate``: its bound is the
last second of that day (or now, for today), so "friday" selects the last
dump whose datestamp falls on that Friday.  Parsing reads no log: a bad date
fails before any record is opened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from dateutil import tz as dateutil_tz

from coda_restore.errors import BadDate, UsageError

ACCEPTED = (
    "accepted forms: now, today, yesterday, a weekday (friday, fri, last friday), "
    "N days ago, N weeks ago, YYYY-MM-DD, 'YYYY-MM-DD HH:MM[:SS]', "
    "YYYY-MM-DDTHH:MM[:SS][+HH:MM|Z], or an Amanda datestamp (YYYYMMDD or YYYYMMDDhhmmss)"
)

_WEEKDAYS = {
    name: i
    for i, names in enumerate(
        (("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"),
         ("thursday", "thu", "thur", "thurs"), ("friday", "fri"), ("saturday", "sat"),
         ("sunday", "sun"))
    )
    for name in names
}
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*")
_AGO = re.compile(r"(\d+)\s+(day|days|week|weeks)\s+ago")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A space or a T between date and time; seconds and an offset are optional.
_ISO_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?"
)
_AMRECOVER = re.compile(r"(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})(?:-(\d{2}))?")
_DATESTAMP = re.compile(r"\d{8}|\d{14}")


@dataclass(frozen=True)
class Target:
    """A resolved target: what was typed, the instant it means, and the bound
    a dump's 14-digit datestamp is compared with (at or before = ``<=``)."""

    input: str
    instant: datetime  # aware, in the datestamp zone; the last moment covered
    whole_day: bool

    @property
    def bound(self) -> str:
        return to_datestamp(self.instant)

    def describe(self) -> str:
        text = self.instant.strftime("%Y-%m-%d %H:%M:%S %z").strip()
        if self.whole_day:
            return f"{self.instant:%Y-%m-%d} (whole day, up to {text})"
        return text


def zone(name: str | None) -> tzinfo:
    """The zone of Amanda's datestamps: an IANA name, or the local zone."""
    if not name:
        return dateutil_tz.tzlocal()
    found = None
    if _ZONE_NAME.fullmatch(name) and ".." not in name:  # a name, never a file path
        try:
            found = dateutil_tz.gettz(name)
        except (ValueError, OSError):  # a file under TZPATH that is no zone (zone.tab)
            found = None
    if found is None:
        raise UsageError(f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin or UTC)")
    return found


def to_datestamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def from_datestamp(stamp: str, tz: tzinfo) -> datetime:
    """A datestamp (8 or 14 digits) as an aware datetime in Amanda's zone."""
    stamp = stamp.ljust(14, "0")
    return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=tz)


def _end_of_day(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz)


def _day_target(text: str, day: date, now: datetime) -> Target:
    tz = now.tzinfo
    start = datetime.combine(day, time(0, 0), tzinfo=tz)
    if start > now:
        raise BadDate(text, f"{day:%Y-%m-%d} is in the future (now is {now:%Y-%m-%d %H:%M:%S}); {ACCEPTED}")
    # Today is covered only up to now: no dump exists after it.
    return Target(text, min(_end_of_day(day, tz), now), whole_day=True)


def _instant_target(text: str, moment: datetime, now: datetime) -> Target:
    moment = moment.astimezone(now.tzinfo)
    if moment > now:
        raise BadDate(text, f"{moment:%Y-%m-%d %H:%M:%S} is in the future (now is {now:%Y-%m-%d %H:%M:%S}); {ACCEPTED}")
    return Target(text, moment, whole_day=False)


def _date(text: str, y: str, m: str, d: str) -> date:
    try:
        return date(int(y), int(m), int(d))
    except ValueError as err:
        raise BadDate(text, f"{err}; {ACCEPTED}") from None


def _moment(text: str, day: date, hh: str, mm: str, ss: str | None, tz: tzinfo) -> datetime:
    try:
        return datetime.combine(day, time(int(hh), int(mm), int(ss or 0)), tzinfo=tz)
    except ValueError as err:
        raise BadDate(text, f"{err}; {ACCEPTED}") from None


def _offset(text: str, spec: str) -> tzinfo:
    if spec == "Z":
        return dateutil_tz.UTC
    sign = -1 if spec[0] == "-" else 1
    digits = spec[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise BadDate(text, f"bad UTC offset {spec!r}; {ACCEPTED}")
    return dateutil_tz.tzoffset(None, sign * (hours * 3600 + minutes * 60))


def parse_when(text: str, *, now: datetime) -> Target:
    """Resolve ``text`` against ``now`` (aware, in Amanda's zone)."""
    tz = now.tzinfo
    raw = text
    text = " ".join(text.strip().lower().split())
    if not text:
        raise BadDate(raw, f"empty date; {ACCEPTED}")
    today = now.date()
    if text in ("today", "now"):
        if text == "now":
            return Target(raw, now, whole_day=False)
        return _day_target(raw, today, now)
    if text == "yesterday":
        return _day_target(raw, today - timedelta(days=1), now)
    last = text.startswith("last ")
    name = text[5:] if last else text
    if name in _WEEKDAYS:
        back = (today.weekday() - _WEEKDAYS[name]) % 7
        if last and back == 0:
            back = 7  # "last friday" on a Friday is a week ago
        return _day_target(raw, today - timedelta(days=back), now)
    if m := _AGO.fullmatch(text):
        days = int(m.group(1)) * (7 if m.group(2).startswith("week") else 1)
        try:
            day = today - timedelta(days=days)
        except OverflowError:  # before year 1
            raise BadDate(raw, f"{days} days before {today} is before the year 1") from None
        return _day_target(raw, day, now)
    if _DATESTAMP.fullmatch(text):
        if len(text) == 8:
            return _day_target(raw, _date(raw, text[:4], text[4:6], text[6:]), now)
        day = _date(raw, text[:4], text[4:6], text[6:8])
        return _instant_target(raw, _moment(raw, day, text[8:10], text[10:12], text[12:], tz), now)
    if _ISO_DATE.fullmatch(text):
        return _day_target(raw, _date(raw, *text.split("-")), now)
    if m := _ISO_DATETIME.fullmatch(text.upper()):
        day = _date(raw, *m.group(1).split("-"))
        zone_of = _offset(raw, m.group(5)) if m.group(5) else tz
        return _instant_target(raw, _moment(raw, day, m.group(2), m.group(3), m.group(4), zone_of), now)
    if m := _AMRECOVER.fullmatch(text):  # amrecover's setdate form
        day = _date(raw, m.group(1), m.group(2), m.group(3))
        return _instant_target(raw, _moment(raw, day, m.group(4), m.group(5), m.group(6), tz), now)
    raise BadDate(raw, ACCEPTED)


def parse_now(text: str | None, tz: tzinfo) -> datetime:
    """``--now``: an ISO date or date-time, or a datestamp; default the clock.
    A date alone means the end of that day."""
    if text is None:
        return datetime.now(tz).replace(microsecond=0)
    plain = " ".join(text.strip().upper().split())
    if not any(rx.fullmatch(plain) for rx in (_DATESTAMP, _ISO_DATE, _ISO_DATETIME, _AMRECOVER)):
        raise BadDate(text, "--now needs an absolute date: YYYY-MM-DD, 'YYYY-MM-DD HH:MM[:SS]' or a datestamp")
    far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=tz)
    target = parse_when(text, now=far)
    if target.whole_day:
        return _end_of_day(target.instant.date(), tz)
    return target.instant
