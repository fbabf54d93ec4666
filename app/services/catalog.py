"""Finding images: listings in either order, search, labels, key suggestions and counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ..core import search, timeline
from ..core.cursors import CursorCodec
from ..core.errors import InvalidParameter
from ..core.keys import validate_prefix
from ..metadata.base import EARLIEST_TAKEN, SORTS, UNDATED, ImageRecord
from .images import Images

MONTH_JUMP_READS = 4  # pages a month jump may read past the next month's first photos before answering
# The filters a listing takes beside its order and page, which a smart album saves as its query.
QUERY_FIELDS = ("q", "label", "prefix", "camera", "taken_from", "taken_to", "favourite")
MAX_CAMERA = 64
MAX_LABEL = 64


def check_sort(value: str | None) -> str:
    value = value or "uploaded"
    if value not in SORTS:
        raise InvalidParameter(f"sort must be one of {', '.join(SORTS)}; got {value!r}.")
    return value


def taken_bound(value: str | None, name: str, end: bool = False) -> float | None:
    """A date-taken bound as the "taken" order's sort time (a time without offset read as UTC, as
    ``ImageRecord.taken_time`` does). A bare date as ``taken_to`` includes that whole day."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidParameter(f"{name} must be a date like 2024-05-31 (or a date and time); got {value!r}.") from None
    if end and len(value) == 10:  # YYYY-MM-DD: up to the end of that day
        moment += timedelta(days=1)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def taken_range(taken_from: str | None, taken_to: str | None) -> tuple[float | None, float | None]:
    """``[taken_from, taken_to)`` as sort times; with either bound given, a photo without a date
    taken is in no range (its sort time lies below every date)."""
    low, high = taken_bound(taken_from, "taken_from"), taken_bound(taken_to, "taken_to", end=True)
    if high is not None and low is None:
        low = EARLIEST_TAKEN
    return low, high


def check_query(query: object) -> dict:
    """A smart album's query: the listing filters, checked as a listing checks them, without the
    empty ones. Unknown names are refused, so a typo does not save an album that shows everything."""
    if not isinstance(query, dict):
        raise InvalidParameter(f"query must be an object with any of: {', '.join(QUERY_FIELDS)}.")
    unknown = sorted(set(query) - set(QUERY_FIELDS))
    if unknown:
        raise InvalidParameter(f"query has unknown filters {unknown}; use any of: {', '.join(QUERY_FIELDS)}.")
    out: dict = {}
    for name in QUERY_FIELDS:
        value = query.get(name)
        if value in (None, "", False):
            continue
        if name == "favourite":
            if value not in (True, 1, "1", "true"):
                raise InvalidParameter("query.favourite must be true or false.")
            out[name] = True
            continue
        if not isinstance(value, str):
            raise InvalidParameter(f"query.{name} must be text.")
        out[name] = " ".join(value.split()) if name == "camera" else value.strip()
    search.query_words(out.get("q", ""))
    out["prefix"] = validate_prefix(out.get("prefix", ""))
    for name, most in (("label", MAX_LABEL), ("camera", MAX_CAMERA)):
        if len(out.get(name, "")) > most:
            raise InvalidParameter(f"query.{name} may have at most {most} characters.")
    if "label" in out:
        out["label"] = out["label"].lower()
    low = taken_bound(out.get("taken_from"), "taken_from")
    high = taken_bound(out.get("taken_to"), "taken_to", end=True)
    if low is not None and high is not None and low >= high:
        raise InvalidParameter("taken_from must be before taken_to.")
    return {name: value for name, value in out.items() if value not in ("", None)}


def record_matches(record: ImageRecord, query: dict) -> bool:
    """Whether a listing with ``query`` (as ``check_query`` gives it) would show ``record``."""
    have = search.record_words(record)
    model = str((record.exif or {}).get("model") or "")
    low, high = taken_range(query.get("taken_from"), query.get("taken_to"))
    return (
        record.key.startswith(query.get("prefix", ""))
        and (not query.get("label") or query["label"] in record.labels)
        and all(any(w.startswith(x) for w in have) for x in search.query_words(query.get("q", "")))
        and (not query.get("camera") or " ".join(model.split()).casefold() == query["camera"].casefold())
        and (not query.get("favourite") or record.favourite)
        and (low is None or record.taken_time() >= low)
        and (high is None or record.taken_time() < high)
    )


class Catalog:
    def __init__(self, images: Images, cursors: CursorCodec, page_size: int):
        self.images = images
        self.metadata = images.metadata
        self.cursors = cursors
        self.page_size = page_size

    def get_record(self, key: str) -> ImageRecord:
        return self.images.get_record(key)

    def get_record_or_none(self, key: str) -> ImageRecord | None:
        return self.images.get_record_or_none(key)

    def list(
        self,
        prefix: str = "",
        label: str = "",
        limit: int | None = None,
        cursor: str | None = None,
        sort: str | None = None,
        q: str = "",
        batch: str = "",
        favourite: bool = False,
        camera: str = "",
        taken_from: str | None = None,
        taken_to: str | None = None,
        month: str = "",
    ):
        """Current images, newest first by upload (``sort`` "uploaded", the default) or by date taken
        ("taken", undated ones last): those under ``prefix``, carrying ``label``, matching the search
        ``q`` (see app.core.search), uploaded in ``batch``, favourites, shot with ``camera`` (the
        EXIF model, any case) and taken in ``[taken_from, taken_to]`` (ISO dates; a photo without a
        date taken is in no such range), all given ones at once. ``month`` ("2023-07" or "undated")
        starts the whole gallery's "taken" order at that month, where no ``cursor`` says where to go on."""
        limit = limit or self.page_size
        sort = check_sort(sort)
        listing = "images" if sort == "uploaded" else f"images-{sort}"  # a cursor fits its own order only
        words = search.query_words(q)
        batch = search.check_batch(batch)
        low, high = taken_range(taken_from, taken_to)
        camera = " ".join((camera or "").split())
        if len(camera) > MAX_CAMERA:
            raise InvalidParameter(f"camera may have at most {MAX_CAMERA} characters.")
        if batch:
            words.insert(0, search.batch_word(batch))
        query = {
            "prefix": validate_prefix(prefix),
            "label": label.strip().lower(),
            "sort": sort,
            "words": words,
            "favourite": favourite in (True, 1, "1", "true", "on"),
            "camera": camera,
            "taken_from": low,
            "taken_to": high,
        }
        after = self.cursors.decode(listing, cursor)
        if month and after is None:
            return self._from_month(timeline.check_month(month), limit, listing, query)
        items, after = self.metadata.list(limit=limit, after=after, **query)
        return items, self.cursors.encode(listing, after)

    def _from_month(self, month: str, limit: int, listing: str, query: dict):
        """The "taken" order from ``month`` on: a position the store makes from the month's end, then
        the pages read from there, less the next month's photos they start with (time zones)."""
        if query["sort"] != "taken" or any(
            value not in ("", None, False, []) for name, value in query.items() if name != "sort"
        ):
            raise InvalidParameter("A jump to a month needs the whole gallery sorted by date taken: clear the filters.")
        after = self.metadata.taken_position(timeline.jump_below(month))
        for _ in range(MONTH_JUMP_READS):
            items, after = self.metadata.list(limit=limit, after=after, **query)
            while items and items[0].taken_month() not in (UNDATED, month) and items[0].taken_month() > month:
                items.pop(0)
            if items or after is None:
                break
        return items, self.cursors.encode(listing, after)

    def months(self) -> list[tuple[str, int]]:
        """Photos per month taken ("2023-07" or "undated"), newest first: the scrubber's figures."""
        return self.metadata.months()

    def match_count(self, filters: dict, items: list, *, whole: bool, label_counts: dict[str, int]) -> int | None:
        """How many images the gallery's ``filters`` match, when that is known without counting them:
        the page itself when it is the ``whole`` listing, or a label's own counter; else None."""
        if whole:
            return len(items)
        others = any(value for name, value in filters.items() if name not in ("sort", "label"))
        label = (filters.get("label") or "").strip().lower()
        return label_counts.get(label, 0) if label and not others else None

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        return self.metadata.suggest(validate_prefix(prefix), limit)

    def labels(self) -> list[tuple[str, int]]:
        """Every label with its number of images, in label order (the gallery's filter list)."""
        return self.metadata.all_labels()

    def unlabelled_count(self) -> int:
        """How many images detection has not labelled yet (a label filter may miss them)."""
        return self.metadata.unlabelled_count()

    def usage(self) -> dict[str, int]:
        return self.metadata.usage()
