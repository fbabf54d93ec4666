"""Favourites: a field of the current record, indexed by the ``favourites`` table (see ``rows``)."""

from __future__ import annotations

from ..base import ImageRecord
from .writes import CurrentImages


class Favourites(CurrentImages):
    def set_favourite(self, key: str, favourite: bool) -> ImageRecord | None:
        with self._write() as db:
            record = self._current(db, key)
            if record is not None and record.favourite != favourite:
                record.favourite = favourite
                self._set_current(db, record)
        return record
