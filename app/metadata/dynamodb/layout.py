"""The table's layout: item kinds, limits, the order strings and the indexes (see the package doc)."""

from __future__ import annotations

import zlib

from ...core import search
from ..base import ImageRecord

IMAGES = "images"  # feed value of image items (its shard 0, see feed_shard)
# Image items are spread over this many partitions of the indexes keyed by ``feed`` (``newest``,
# ``taken``, ``by_key``) and ``nolabel`` (``unlabelled``), so 1,000 uploads/s put ~125 writes/s on
# each; a listing queries them all and merges (see ``merge``). It may grow, never shrink: reads
# query shards 0..N-1, and an item stays in the shard it was written to until it is rewritten.
FEED_SHARDS = 8
LABELS = "labels"  # feed value of label counters
MONTHS = "months"  # feed value of month counters (see months)
MONTH_COUNTER_SHARDS = 4  # items per month counter, summed on read: this month takes most uploads
ALBUMS = "albums"  # feed value of album items (in the by_key index, by name)
HISTORY, TRASH = "history", "trash"  # states of retired versions (and names of their usage counters)
EXPIRY_SHARDS = 8  # retired versions spread over this many index partitions, so no one key is hot
# Items per counter, summed on read (see counters): every upload adds to the usage counters; a
# label's counter takes only the uploads showing it, and the label list reads all its shards.
COUNTER_SHARDS = 8
LABEL_COUNTER_SHARDS = 4
# One transaction holds ≤ 100 actions. The worst (a restore that keeps the replaced version) is
# 5, plus 4 per label (put, delete, two counters), 2 per word start (put, delete), 1 for the
# unlabelled counter and 2 for the month counters: 5 + 4 * 16 + 2 * 14 + 1 + 2 = 100. Folder
# counters change only when a key appears or goes (upload, delete, restore from the trash), which
# has its labels and words once and one month counter: ≤ 6 + 2 * 16 + 14 + 1 + 1, plus one counter
# per folder above it (base.MAX_FOLDER_DEPTH = 24): 78.
MAX_LABELS = 16
MAX_WORD_STARTS = 14
# Image items carry ix = the index version they were written with: 1 added the search and unlabelled
# indexes, 2 the date-taken order of search (word items' torder), 3 the word-pair items (see
# ``pair_start``); ``gallery init`` brings older ones up. Pair items are written after the image's
# transaction (they do not fit in it), so a transaction writes PAIRS_PENDING and the pair write
# raises it to INDEX_VERSION: an image a crash left between the two is found by ``gallery init``.
INDEX_VERSION = "3"
PAIRS_PENDING = "2"


def _s(value: str) -> dict:
    return {"S": value}


def _order(updated_at: float, key: str) -> str:
    # Fixed-width, so string order equals time order; the key breaks ties like SQLite's (updated_at, key) DESC.
    return f"{max(updated_at, 0.0):018.6f}#{key}"


# Seconds from 0001-01-01 to 1970-01-01: added to a taken time so any date sorts as a positive number.
TAKEN_SHIFT = 62135596800.0


# Undated photos' torder is "-" and their upload order: below every date ("0..."), newest upload
# first among themselves; this lies between the two ("-~" is above "-0...", below "0").
UNDATED_TORDER_CEILING = "-~"


def _torder(record: ImageRecord) -> str:
    """Fixed-width like ``_order``, for the "taken" order (undated photos last)."""
    if record.taken() is None:
        return "-" + _order(record.updated_at, record.key)
    return f"{record.taken_time() + TAKEN_SHIFT:020.6f}#{record.key}"


# The GSI and its range attribute for each listing order, without and with a label.
_ORDERS = {"uploaded": ("newest", "by_label", "order"), "taken": ("taken", "by_label_taken", "torder")}
WORD_ORDERS = {"uploaded": ("by_word", "order"), "taken": ("by_word_taken", "torder")}  # search, likewise
_FAVOURITE_ORDERS = {"uploaded": "favourites", "taken": "favourites_taken"}  # (fav, order / torder)


def _taken_bound(moment: float) -> str:
    """A ``torder`` bound: before every item of that sort time ("<time>#" < "<time>#<key>")."""
    return f"{moment + TAKEN_SHIFT:020.6f}#"


def feed_shard(key: str) -> str:
    """The ``feed`` (and ``nolabel``) value of an image item: shard 0 is the plain "images" every
    item had before the feed was sharded, so an older table is a sharded one with one full shard."""
    shard = zlib.crc32(key.encode()) % FEED_SHARDS
    return IMAGES if shard == 0 else f"{IMAGES}#{shard}"


def feed_shards() -> list[str]:
    """Every shard of the image feed, each a partition to query."""
    return [IMAGES, *(f"{IMAGES}#{shard}" for shard in range(1, FEED_SHARDS))]


def member_feed(album_id: str) -> str:
    """The by_key partition of an album's member items ``member#<album>#<key>``."""
    return f"album#{album_id}"


def word_start(word: str) -> str:
    """The search partition of a word: its first two characters; a batch word is its own."""
    return word if word.startswith("@") else word[:2]


def _word_starts(record: ImageRecord) -> dict[str, list[str]]:
    """The record's words grouped by start; at most MAX_WORD_STARTS starts (key words first)."""
    key_words = search.words(record.key)
    ordered = sorted(search.record_words(record), key=lambda w: (w not in key_words, w))
    groups: dict[str, list[str]] = {}
    for word in ordered:
        start = word_start(word)
        if start in groups or len(groups) < MAX_WORD_STARTS:
            groups.setdefault(start, []).append(word)
    return groups


# Word pairs: a search of two words reads the partition of the pair, which holds the images carrying
# both (and few others), so what it reads is about what it shows; one word start per word cannot do
# that (two words that seldom meet). The pair of words a < b (alphabetically) is keyed
# "<a's first PAIR_FIRST characters>+<b's first two>": "birthday dog" reads "birt+do". Why 4 then 2:
# the key must be made from the query words alone and hold every image matching them, so each side
# can be no longer than its query word; a side of 2 letters (the single starts') mixes words too
# often ("bi+do" holds the dogs with a bird or a bicycle as well: 34 items for 7 birthday dogs in the
# bench's library, "bir+dog" 22), 4 letters tell most words apart (7 for 7). The first side only
# needs the length: alphabetical order survives extending both query words to the image's words (a
# query never holds a word that starts another, see ``search.query_words``), so the image's pair of
# the same two words has the same first word. The price: a search is bounded by a pair only when its
# alphabetically first word has ≥ 4 characters ("birthday dog", "beach katherine"; not "cat dog",
# which reads single starts as before), and an image has pairs only for its words of ≥ 4 characters
# as first word (~50 items on average in the bench's library, at most 84; pairs of 2-letter starts
# would be 76 and 91).
PAIR_FIRST = 4


def pair_start(first: str, second: str) -> str:
    """The pair partition of two words, ``first`` < ``second`` (a search's words, or an image's)."""
    return f"{first[:PAIR_FIRST]}+{second[:2]}"


def _pair_starts(record: ImageRecord) -> set[str]:
    """The pair partitions of the record's indexed words (those of ``_word_starts``, batch words
    aside: a batch is its own exact partition); a word that starts another pairs with nothing
    (no query holds both)."""
    indexed = sorted(w for group in _word_starts(record).values() for w in group if not w.startswith("@"))
    return {
        pair_start(first, second)
        for i, first in enumerate(indexed)
        if len(first) >= PAIR_FIRST
        for second in indexed[i + 1 :]
        if not second.startswith(first)
    }


def query_pairs(wanted: list[str]) -> list[str]:
    """The pair partitions that hold every image matching all of ``wanted`` (one per two words
    whose alphabetically first has ≥ PAIR_FIRST characters and starts not the other); [] when none
    does. Two such words match two different words of an image, in the same order."""
    ordered = sorted(set(w for w in wanted if not w.startswith("@")))
    pairs = [
        pair_start(first, second)
        for i, first in enumerate(ordered)
        if len(first) >= PAIR_FIRST
        for second in ordered[i + 1 :]
        if not second.startswith(first)  # one word of the image may match both: no pair holds it
    ]
    return list(dict.fromkeys(pairs))


_ATTRIBUTES = (
    "pk",
    "feed",
    "order",
    "torder",
    "label",
    "key",
    "hist",
    "rorder",
    "tfeed",
    "xfeed",
    "xorder",
    "wstart",
    "nolabel",
    "fav",
    "sha",
)
_KEYS_ONLY = {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["key"]}
_INDEXES = (  # name, hash, range, projection
    ("newest", "feed", "order", {"ProjectionType": "ALL"}),
    ("by_label", "label", "order", _KEYS_ONLY),
    ("by_key", "feed", "key", {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["n"]}),
    ("by_lineage", "hist", "rorder", {"ProjectionType": "ALL"}),
    ("trash", "tfeed", "rorder", {"ProjectionType": "ALL"}),
    ("expiring", "xfeed", "xorder", {"ProjectionType": "ALL"}),
    ("taken", "feed", "torder", {"ProjectionType": "ALL"}),
    ("by_label_taken", "label", "torder", _KEYS_ONLY),
    ("by_word", "wstart", "order", {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["key", "words", "labels"]}),
    ("unlabelled", "nolabel", "key", {"ProjectionType": "KEYS_ONLY"}),
    ("favourites", "fav", "order", {"ProjectionType": "ALL"}),
    ("favourites_taken", "fav", "torder", {"ProjectionType": "ALL"}),
    ("by_sha256", "sha", "key", {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["record"]}),
    (
        "by_word_taken",
        "wstart",
        "torder",
        {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["key", "words", "labels"]},
    ),
)


def _gsi(name: str, hash_name: str, range_name: str, projection: dict) -> dict:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": hash_name, "KeyType": "HASH"},
            {"AttributeName": range_name, "KeyType": "RANGE"},
        ],
        "Projection": projection,
    }
