"""Favourites: a field of the current record; the image item carries ``fav`` while it is one, which
puts it in the sparse ``favourites``/``favourites_taken`` indexes (see ``layout``)."""

from __future__ import annotations

from ..base import ImageRecord
from .writes import CurrentImages


class Favourites(CurrentImages):
    def set_favourite(self, key: str, favourite: bool) -> ImageRecord | None:
        changed = {}

        def build(old, ver):  # called again after a conflict: the last call says what happened
            changed["record"] = old
            if old is None or old.favourite == favourite:
                return None
            new = changed["record"] = ImageRecord.from_dict({**old.to_dict(), "favourite": favourite})
            return [self._image_put(new, ver)]

        self._transact(key, build)
        return changed["record"]
