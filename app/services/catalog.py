"""Finding images: listings in either order, search, labels, key suggestions and counts."""

from __future__ import annotations

from ..core import search, timeline
from ..core.cursors import CursorCodec
from ..core.errors import InvalidParameter
from ..core.keys import validate_prefix
from ..metadata.base import SORTS, UNDATED, ImageRecord
from .images import Images

MONTH_JUMP_READS = 4  # pages a month jump may read past the next month's first photos before answering


def check_sort(value: str | None) -> str:
    value = value or "uploaded"
    if value not in SORTS:
        raise InvalidParameter(f"sort must be one of {', '.join(SORTS)}; got {value!r}.")
    return value


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
        month: str = "",
    ):
        """Current images, newest first by upload (``sort`` "uploaded", the default) or by date taken
        ("taken", undated ones last): those under ``prefix``, carrying ``label``, matching the search
        ``q`` (see app.core.search) and uploaded in ``batch``, all given ones at once. ``month``
        ("2023-07" or "undated") starts the whole gallery's "taken" order at that month, where no
        ``cursor`` says where to go on."""
        limit = limit or self.page_size
        sort = check_sort(sort)
        listing = "images" if sort == "uploaded" else f"images-{sort}"  # a cursor fits its own order only
        words = search.query_words(q)
        batch = search.check_batch(batch)
        if batch:
            words.insert(0, search.batch_word(batch))
        query = {"prefix": validate_prefix(prefix), "label": label.strip().lower(), "sort": sort, "words": words}
        after = self.cursors.decode(listing, cursor)
        if month and after is None:
            return self._from_month(timeline.check_month(month), limit, listing, query)
        items, after = self.metadata.list(limit=limit, after=after, **query)
        return items, self.cursors.encode(listing, after)

    def _from_month(self, month: str, limit: int, listing: str, query: dict):
        """The "taken" order from ``month`` on: a position the store makes from the month's end, then
        the pages read from there, less the next month's photos they start with (time zones)."""
        if query["sort"] != "taken" or any(query[name] for name in ("prefix", "label", "words")):
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
        others = any(filters.get(name) for name in ("q", "prefix", "batch"))
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
