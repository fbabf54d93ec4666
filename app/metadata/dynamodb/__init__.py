"""Metadata in one DynamoDB table (on-demand capacity).

Items, all keyed by ``pk``:

- image ``image#<key>``: the record as JSON, a version number for optimistic writes, and the
  index attributes ``feed`` (its shard of the feed: "images", "images#1" ... "images#7" by a
  hash of the key, see ``layout.FEED_SHARDS``), ``order`` ("<updated_at>#<key>"), ``torder``
  ("<taken time>#<key>", see ``ImageRecord.taken_time``; "-<upload order>" for undated photos,
  so they come last), ``key`` and ``mon`` (the month taken it is counted under);
- label index ``label#<label>#<key>``: ``label`` + ``order`` + ``torder``, one per label of an
  image, so filtering by label is a Query on a GSI, never a scan;
- search index ``word#<start>#<key>``: one per distinct *start* (first two characters) of the
  image's search words (``search.record_words``), with ``wstart`` + ``order``, the image's words as
  one string ``words`` (" dog jpg katherine people ") and its ``labels`` (a string set);
- word-pair index ``pair#<pair>#<key>``: the same attributes, ``wstart`` a pair of the image's
  words ("birt+do": the first 4 characters of the alphabetically first word, 2 of the other; see
  ``layout.pair_start``), written after the image's transaction (``pairs``);
- retired version ``retired#<version>``: a replaced version (``state`` "history", indexed by
  its lineage in ``hist``) or a deleted image (``state`` "trash", in the ``tfeed`` "trash"),
  with ``rorder`` (when it retired) and ``xfeed``/``xorder`` (a shard and its expiry);
- counters ``count#images``/``count#history``/``count#trash`` (``n`` items, ``b`` bytes),
  ``count#label#<label>``, ``count#unlabelled`` and ``count#month#<month>#<shard>`` (``n``), kept
  exact by the same transactions that change the items;
- shared state ``state#<name>``: a ``value`` (the session epoch, claims on staged uploads);
- albums ``album#<id>`` (``feed`` "albums", ``key`` its name key), their name claims
  ``albumname#<name key>`` and members ``member#<id>#<key>`` (``feed`` ``album#<id>``, ``key``,
  place ``n``), all read through ``by_key`` (see ``albums``); a favourite's image item carries
  ``fav`` ("images").

GSIs (sparse: only items carrying their attributes appear). Those keyed by ``feed`` and
``nolabel`` hold every image in 8 shards, so no partition takes every upload; a listing queries
the shards and merges them in order, one position serving as cursor for all (``merge``):
``newest`` (feed, order) for newest-first listing, ``by_label`` (label, order) for label
filtering, ``taken`` (feed, torder) and ``by_label_taken`` (label, torder) for the same in the
order of the date taken (items written before that order existed gain ``torder`` when they are
next written, e.g. by ``gallery renditions``), ``by_key`` (feed, key) for key-order suggestions
and the label list, ``by_lineage`` (hist, rorder) for an image's history, ``trash`` (tfeed,
rorder) for the trash, ``expiring`` (xfeed, xorder) for purging what expired, ``by_word``
(wstart, order) for search, ``unlabelled`` (nolabel, key) for the images detection has not
labelled yet (``nolabel`` is set on those image items only), ``by_sha256`` (sha, key) for
finding an image by its content (``sha`` is the record's SHA-256; the index projects the record),
and ``favourites`` (fav, order) and ``favourites_taken`` (fav, torder) for the favourites filter.

Search finds an image whose words start with every query word: it queries the ``by_word``
partition of one query word's first two characters, newest first, with a filter that each query
word starts a word of ``words`` (``contains(words, " kath")``) and the prefix and label, fetching
pages until one is full. With words of several partitions, each is probed (16 items) and the one
that reached furthest back, the sparsest, is read; a request reads at most 1,000 items and answers
what it found with a cursor (``word_search``). Two words whose alphabetically first has ≥ 4
characters read their pair's partition instead ("birthday dog": ``birt+do``), which holds the
images carrying both and few others; three or more the sparsest of their pairs. One item per word *start* rather than one per word prefix ("k", "ka",
"kat"...) keeps an image to a handful of items (``people/katherine.jpg`` labelled dog: ``pe``,
``ka``, ``jp``, ``do``, ``pe``... about 5–10), so the search index fits in the same transaction as
the image item; the price is that a rare word reads the partition of its first two characters
until a page fills (at most 1,000 items a request). A batch word (``@<id>``) is its
own partition, so a batch is read exactly.

Every change is one ``TransactWriteItems`` conditioned on the version read just before, retried
on conflict, so the image item, its label items and the counters never disagree. The word pairs
(up to ~100 an image) do not fit in it: they follow by BatchWriteItem, as hints the search
re-checks, the image item marked pending (``ix``) until they are written (``pairs``).

Modules, one concern each, composed in ``store.DynamoMetadataStore``: ``layout`` (item keys,
attributes, indexes, order strings), ``table`` (client, errors, paged reads, cursors), ``records``
(the image item), ``merge`` (the feed's shards read as one listing), ``indexes`` (label and word items), ``counters`` (usage and label counts),
``months`` (photos per month taken), ``pairs`` (word-pair items), ``writes`` (transactions on current images),
``retired``/``history``/``trash`` (retired versions), ``labels``, ``listing`` and ``search``
(reads), ``digests`` (an image by its content), ``favourites``, ``albums``, ``state`` (shared
state), ``provisioning``.
"""

from .layout import _INDEXES, MAX_LABELS, MAX_WORD_STARTS, _gsi, _word_starts, word_start
from .store import DynamoMetadataStore

__all__ = [
    "MAX_LABELS",
    "MAX_WORD_STARTS",
    "DynamoMetadataStore",
    "_INDEXES",
    "_gsi",
    "_word_starts",
    "word_start",
]
