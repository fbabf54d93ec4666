"""Month and day headings for a page of images, in the order the listing gave them.

In the "taken" order an image counts on the day its camera's clock said (the date in
``taken_at``, without converting time zones), else on the day it was uploaded; in the
"uploaded" order on the day this version was uploaded. Upload days are UTC days, as pages show
times in UTC. A group whose ``key`` equals the last one of the previous page goes on from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from ..metadata.base import ImageRecord

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
        key, title = heading(day_of(record, sort), unit)
        if not out or out[-1].key != key:
            out.append(Group(key, title))
        out[-1].records.append(record)
    return out
