"""The items that index an image beside its own: ``label#<label>#<key>`` per label and
``word#<start>#<key>`` per search word start, with their counters (see the package doc)."""

from __future__ import annotations

from ...core import search
from ..base import ImageRecord
from .folders import FolderItems
from .layout import _order, _s, _torder, _word_starts
from .months import Months


def search_item(pk: str, partition: str, record: ImageRecord) -> dict:
    """An item of the search indexes (``by_word``, ``by_word_taken``): a word start's or a word
    pair's (see ``pairs``), with what the search filters on: every word and label of the image."""
    item = {
        "pk": _s(pk),
        "wstart": _s(partition),
        "order": _s(_order(record.updated_at, record.key)),
        "torder": _s(_torder(record)),
        "key": _s(record.key),
        "words": _s(" " + " ".join(sorted(search.record_words(record))) + " "),
    }
    if record.labels:
        item["labels"] = {"SS": sorted(set(record.labels))}
    return item


class IndexItems(FolderItems, Months):
    def _index_actions(self, old: ImageRecord | None, new: ImageRecord | None) -> list[dict]:
        """What keeps the indexes and their counters in step when the current image of a key
        changes from ``old`` to ``new`` (either may be None)."""
        actions = self._label_actions(old, new) + self._word_actions(old, new) + self._folder_actions(old, new)
        actions += self._month_actions(old, new)
        delta = (new is not None and not new.labelled) - (old is not None and not old.labelled)
        if delta:
            actions.append(self._counter("count#unlabelled", delta))
        return actions

    def _word_actions(self, old: ImageRecord | None, new: ImageRecord | None) -> list[dict]:
        old_starts = _word_starts(old) if old else {}
        new_starts = _word_starts(new) if new else {}
        key = (new or old).key
        actions = []
        if new is not None:
            for start in sorted(new_starts):
                actions.append(
                    {"Put": {"TableName": self.table, "Item": search_item(f"word#{start}#{key}", start, new)}}
                )
        for start in sorted(set(old_starts) - set(new_starts)):
            actions.append({"Delete": {"TableName": self.table, "Key": {"pk": _s(f"word#{start}#{key}")}}})
        return actions

    def _label_actions(self, old: ImageRecord | None, new: ImageRecord | None) -> list[dict]:
        old_labels = set(old.labels) if old else set()
        new_labels = set(new.labels) if new else set()
        key = (new or old).key
        actions = []
        for label in sorted(new_labels):
            item = {
                "pk": _s(f"label#{label}#{key}"),
                "label": _s(label),
                "order": _s(_order(new.updated_at, key)),
                "torder": _s(_torder(new)),
                "key": _s(key),
            }
            actions.append({"Put": {"TableName": self.table, "Item": item}})
        for label in sorted(old_labels - new_labels):
            actions.append({"Delete": {"TableName": self.table, "Key": {"pk": _s(f"label#{label}#{key}")}}})
            actions.append(self._counter(f"count#label#{label}", -1, label))
        for label in sorted(new_labels - old_labels):
            actions.append(self._counter(f"count#label#{label}", 1, label))
        return actions
