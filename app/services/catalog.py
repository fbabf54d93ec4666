"""Finding images: listings in either order, search, labels, key suggestions and counts."""

from __future__ import annotations

from ..core import search
from ..core.cursors import CursorCodec
from ..core.errors import InvalidParameter
from ..core.keys import validate_prefix
from ..metadata.base import SORTS, ImageRecord
from .images import Images


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
    ):
        """Current images, newest first by upload (``sort`` "uploaded", the default) or by date taken
        ("taken", falling back to the upload time): those under ``prefix``, carrying ``label``,
        matching the search ``q`` (see app.core.search) and uploaded in ``batch``, all given ones at once."""
        limit = limit or self.page_size
        sort = check_sort(sort)
        listing = "images" if sort == "uploaded" else f"images-{sort}"  # a cursor fits its own order only
        words = search.query_words(q)
        batch = search.check_batch(batch)
        if batch:
            words.insert(0, search.batch_word(batch))
        items, after = self.metadata.list(
            prefix=validate_prefix(prefix),
            label=label.strip().lower(),
            limit=limit,
            after=self.cursors.decode(listing, cursor),
            sort=sort,
            words=words,
        )
        return items, self.cursors.encode(listing, after)

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
