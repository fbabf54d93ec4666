"""The rows of many current records at once (a bulk write), and the counts their insert triggers
would have added, summed in Python so each counter is written once per batch (see ``bulk``)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ...core.search import batch_word, search_texts, words
from ..base import ImageRecord, ancestors, month_of
from .encoding import record_json, to_json

_BETWEEN_RUNS = re.compile(r"[\W_]+")  # what separates the letter/digit runs ``search.words`` splits on

# The insert triggers whose work ``BatchRows`` does (schema.COUNTERS, months.MONTHS_SCHEMA): a bulk
# write drops them for its transaction and adds up the same counts itself. The delete triggers stay.
INSERT_TRIGGERS = ("count_image_in", "count_month_in", "count_label_in", "count_unlabelled_in")


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
    triggers would have made. An image's words go as one JSON list, which SQLite unpacks
    (``json_each``): binding two parameters per word cost more than inserting the word. Labels,
    three an image or so, go as rows in the labels' order, cheaper than unpacking a list each."""

    images: list[tuple] = field(default_factory=list)
    labels: list[tuple[str, str]] = field(default_factory=list)  # (label, key)
    words: list[tuple[str, str]] = field(default_factory=list)  # (key, JSON list of its words)
    unlabelled: list[tuple[str]] = field(default_factory=list)
    favourites: list[tuple[str]] = field(default_factory=list)
    image_bytes: int = 0
    months: Counter = field(default_factory=Counter)
    label_counts: Counter = field(default_factory=Counter)

    @classmethod
    def of(cls, records: list[ImageRecord], word_cache: WordCache) -> BatchRows:
        rows = cls()
        for r in sorted(records, key=lambda r: r.key):
            rows.images.append((r.key, r.updated_at, r.taken_time(), r.bytes, record_json(r)))
            rows.image_bytes += r.bytes
            rows.months[month_of(r.taken_at)] += 1
            labels = set(r.labels)
            rows.label_counts.update(labels)
            if labels:
                rows.labels.append((r.key, to_json(sorted(labels))))
            rows.words.append((r.key, to_json(sorted(word_cache.of(r)))))
            if not r.labelled:
                rows.unlabelled.append((r.key,))
            if r.favourite:
                rows.favourites.append((r.key,))
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
    counted once per batch, its cover the last of them (as one ``folders.count_photo`` per key)."""
    added: Counter = Counter()
    cover: dict[str, str] = {}
    for key in new_keys:
        for path in ancestors(key):
            added[path] += 1
            cover[path] = key
    return [(path, n, cover[path]) for path, n in sorted(added.items())]
