"""The rows of many current records at once (a bulk write), and the counts their insert triggers
would have added, summed in Python so each counter is written once per batch (see ``bulk``)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from operator import attrgetter

from ...core.search import batch_word, search_texts, words
from ..base import ImageRecord, ancestors, folder_of, month_of
from .encoding import record_json, to_json

_BETWEEN_RUNS = re.compile(r"[\W_]+")  # what separates the letter/digit runs ``search.words`` splits on

# The insert triggers whose work ``BatchRows`` (and ``bulk`` for the versions it retires) does
# (schema.COUNTERS, months.MONTHS_SCHEMA): a bulk write drops them for its transaction and adds up
# the same counts itself. The delete triggers stay.
INSERT_TRIGGERS = ("count_image_in", "count_month_in", "count_label_in", "count_unlabelled_in", "count_retired_in")


class WordCache:
    """``record_words`` for many records that share folders, file name parts, camera models and
    labels: a key's words are its folder's with its file name's (a word never spans a "/"), and a
    file name's the union of its letter/digit runs' words; each folder, label, camera text and run
    is split once per bulk write (runs up to ``MAX_RUNS``: most are a file's number, met once)."""

    MAX_RUNS = 100_000

    def __init__(self):
        self._texts: dict[str, frozenset[str]] = {}
        self._runs: dict[str, frozenset[str]] = {}

    def of(self, record: ImageRecord) -> set[str]:
        key, *others = search_texts(record)
        folder, _, name = key.rpartition("/")
        found = set(self._text(folder))
        for run in _BETWEEN_RUNS.split(name):
            known = self._runs.get(run)
            if known is None:
                if len(self._runs) >= self.MAX_RUNS:
                    self._runs.clear()
                known = self._runs[run] = frozenset(words(run))
            found |= known
        for text in others:
            found |= self._text(text)
        if record.batch:
            found.add(batch_word(record.batch))
        return found

    def _text(self, text: str) -> frozenset[str]:
        known = self._texts.get(text)
        if known is None:
            known = self._texts[text] = frozenset(words(text))
        return known


@dataclass
class BatchRows:
    """Each table's rows for ``records`` (one per key) in key order, with the counts their insert
    triggers would have made. An image's words and its labels go as one JSON list each, which
    SQLite unpacks (``json_each``): binding two parameters per row cost more than inserting it.
    They go in with ``INSERT OR IGNORE`` (an image's words and labels are sets, so nothing is
    ever ignored): a plain multi-row ``INSERT`` may fail half-way, so SQLite keeps a statement
    journal for it, which made it two to three times the cost."""

    images: list[tuple] = field(default_factory=list)
    labels: list[tuple[str, str]] = field(default_factory=list)  # (key, JSON list of its labels)
    words: list[tuple[str, str]] = field(default_factory=list)  # (key, JSON list of its words)
    unlabelled: list[tuple[str]] = field(default_factory=list)
    favourites: list[tuple[str]] = field(default_factory=list)
    image_bytes: int = 0
    months: Counter = field(default_factory=Counter)
    label_counts: Counter = field(default_factory=Counter)

    @classmethod
    def of(cls, records: list[ImageRecord], word_cache: WordCache) -> BatchRows:
        rows = cls()
        label_lists: dict[tuple[str, ...], str] = {}  # an image's labels -> their JSON list, once per batch
        labelled_as: Counter = Counter()  # the same -> images that have exactly them
        for r in sorted(records, key=attrgetter("key")):
            key = r.key
            rows.images.append((key, r.updated_at, r.taken_time(), r.bytes, record_json(r)))
            rows.months[month_of(r.taken_at)] += 1
            if r.labels:
                labels = tuple(r.labels)
                if labels not in label_lists:
                    label_lists[labels] = to_json(sorted(set(labels)))
                labelled_as[labels] += 1
                rows.labels.append((key, label_lists[labels]))
            rows.words.append((key, to_json(list(word_cache.of(r)))))
            if not r.labelled:
                rows.unlabelled.append((key,))
            if r.favourite:
                rows.favourites.append((key,))
        rows.image_bytes = sum(row[3] for row in rows.images)
        for labels, n in labelled_as.items():
            for label in set(labels):
                rows.label_counts[label] += n
        return rows

    def insert(self, db) -> None:
        """Insert the rows and add their counts, in the caller's transaction, with ``INSERT_TRIGGERS``
        dropped (else they would count each row a second time) and the replaced records' rows gone."""
        db.executemany("INSERT INTO images (key, updated_at, taken, bytes, record) VALUES (?, ?, ?, ?, ?)", self.images)
        db.executemany("INSERT OR IGNORE INTO labels (label, key) SELECT value, ?1 FROM json_each(?2)", self.labels)
        db.executemany("INSERT OR IGNORE INTO words (word, key) SELECT value, ?1 FROM json_each(?2)", self.words)
        db.executemany("INSERT INTO unlabelled (key) VALUES (?)", self.unlabelled)
        db.executemany("INSERT OR IGNORE INTO favourites (key) VALUES (?)", self.favourites)
        db.execute(
            "UPDATE counters SET n = n + ?, b = b + ? WHERE name = 'images'", (len(self.images), self.image_bytes)
        )
        db.execute("UPDATE counters SET n = n + ? WHERE name = 'unlabelled'", (len(self.unlabelled),))
        db.executemany(
            "INSERT INTO counters (name, n) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET n = n + excluded.n",
            [(f"label#{label}", n) for label, n in sorted(self.label_counts.items())],
        )
        db.executemany(
            "INSERT INTO months (month, n) VALUES (?, ?) ON CONFLICT (month) DO UPDATE SET n = n + excluded.n",
            sorted(self.months.items()),
        )


def folder_counts(new_keys) -> list[tuple[str, int, str]]:
    """(folder, photos added, cover) for keys new to the library, in the order they came: each folder
    counted once per batch, its cover the last of them (as one ``folders.count_photo`` per key).
    Keys are gathered by the folder they sit in first: a batch holds a few folders of many photos."""
    direct: dict[str, list] = {}  # a key's folder -> [keys in it, the last one's place, the last one]
    for place, key in enumerate(new_keys):
        seen = direct.get(folder := folder_of(key))
        if seen is None:
            direct[folder] = [1, place, key]
        else:
            seen[0] += 1
            seen[1:] = place, key
    added: Counter = Counter()
    last: dict[str, tuple[int, str]] = {}
    for n, place, key in direct.values():
        for path in ancestors(key):
            added[path] += n
            if path not in last or last[path][0] < place:
                last[path] = (place, key)
    return [(path, n, last[path][1]) for path, n in sorted(added.items())]
