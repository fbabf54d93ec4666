"""Month and day headings for a page of images, in the order the listing gave them, and the
months of the scrubber that jumps through the "taken" order.

In the "taken" order an image counts on the day its camera's clock said (the date in
``taken_at``, without converting time zones); one without a date sits under "Date unknown", after
every dated one (as the stores sort it). In the "uploaded" order it counts on the day this
version was uploaded. Upload days are UTC days, as pages show times in UTC. A group whose ``key``
equals the last one of the previous page goes on from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from ..metadata.base import UNDATED, UNDATED_CEILING, ImageRecord
from .errors import InvalidParameter

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
UNITS = ("month", "day")
UNKNOWN_DATE = "Date unknown"  # the heading of undated photos in the "taken" order
MONTH = re.compile(r"(\d{4})-(\d{2})")
# A camera's clock is at most 12 hours behind UTC (UTC-12), so a photo dated on the last evening
# of a month sorts (by its instant) up to this much after the month's end in UTC.
MOST_BEHIND_UTC = 12 * 3600


@dataclass
class Group:
    key: str  # "2024-05" (month) or "2024-05-01" (day)
    heading: str  # "May 2024" or "Wednesday 1 May 2024"
    records: list[ImageRecord] = field(default_factory=list)


def day_of(record: ImageRecord, sort: str = "uploaded") -> date:
    """The day an image is shown under."""
    if sort == "taken":
        taken = record.taken()
        if taken is not None:
            return taken.date()
    return datetime.fromtimestamp(record.updated_at, tz=UTC).date()


def heading(day: date, unit: str = "month") -> tuple[str, str]:
    """``(key, heading)`` of the month or day that ``day`` falls in."""
    if unit == "day":
        return day.isoformat(), f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"
    return f"{day.year:04d}-{day.month:02d}", f"{MONTHS[day.month - 1]} {day.year}"


def groups(records: list[ImageRecord], sort: str = "uploaded", unit: str = "month") -> list[Group]:
    """``records`` cut into runs that share a month (or day), each with its heading."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}")
    out: list[Group] = []
    for record in records:
        if sort == "taken" and record.taken() is None:
            key, title = UNDATED, UNKNOWN_DATE
        else:
            key, title = heading(day_of(record, sort), unit)
        if not out or out[-1].key != key:
            out.append(Group(key, title))
        out[-1].records.append(record)
    return out


# -- the scrubber ------------------------------------------------------------------------------
def check_month(value: str) -> str:
    """A month to jump to: "2023-07" or "undated"."""
    found = MONTH.fullmatch(value)
    if value != UNDATED and not (found and int(found[1]) >= 1 and 1 <= int(found[2]) <= 12):
        raise InvalidParameter(f"month must be a month like 2023-07, or {UNDATED}; got {value[:20]!r}.")
    return value


def month_heading(month: str) -> str:
    if month == UNDATED:
        return UNKNOWN_DATE
    year, number = MONTH.fullmatch(month).groups()
    return f"{MONTHS[int(number) - 1]} {year}"


def jump_below(month: str) -> float:
    """The "taken" sort value a jump to ``month`` starts below: every photo dated in that month
    or earlier sorts below it, whatever its time zone (a few of the next month's, dated on its
    first morning east of UTC, may too: ``Catalog.list`` leaves out those it starts with)."""
    if month == UNDATED:
        return UNDATED_CEILING
    year, number = (int(part) for part in MONTH.fullmatch(month).groups())
    if year == 9999 and number == 12:
        return datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp() + 1 + MOST_BEHIND_UTC
    following = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return following.timestamp() + MOST_BEHIND_UTC


@dataclass
class ScrubberYear:
    year: str  # "2023", or "" for the photos without a date
    months: list[tuple[str, str, str, int]]  # (month, heading, short name, photos), newest first


def scrubber(months: list[tuple[str, int]]) -> list[ScrubberYear]:
    """The store's month counts (newest first, undated last) grouped by year for the scrubber."""
    years: list[ScrubberYear] = []
    for month, count in months:
        year = "" if month == UNDATED else month[:4]
        if not years or years[-1].year != year:
            years.append(ScrubberYear(year, []))
        title = month_heading(month)
        years[-1].months.append((month, title, title[:3] if year else title, count))
    return years
