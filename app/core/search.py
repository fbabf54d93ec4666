"""Search words: what an image is found by, and what a query asks for.

An image is found by the words of its key, its labels and its camera's make and model (EXIF:
``sony``, ``apple``, ``fujifilm`` find those photos). A key is split on
anything that is not a letter or digit (``/ . _ -``) and again at camel-case and letter/digit
boundaries, and both the whole run and its parts are words: ``people/IMG_0001.jpg`` gives
``people``, ``img``, ``0001``, ``jpg``; ``DSCN1234`` gives ``dscn1234``, ``dscn``, ``1234``.

A query is split on anything that is not a letter or digit; an image matches when every query
word starts one of its words, case-insensitively (``kath`` finds ``katherine``). Words of one
character are left out on both sides: they would match nearly everything, and the DynamoDB
index is partitioned by a word's first two characters (see ``metadata.dynamodb``).

Uploads of one batch share a batch id, kept as the word ``@<id>``: a query word never holds
``@``, so only the batch filter finds it.
"""

from __future__ import annotations

import re
import uuid

from .errors import InvalidParameter

MIN_WORD = 2  # characters; shorter words are neither indexed nor searched for
MAX_WORD = 32  # longer words are cut here, on both sides, so they still match by prefix
MAX_QUERY_WORDS = 8
MAX_QUERY_LENGTH = 200
BATCH = re.compile(r"[0-9a-z]{16}")  # one length, so a batch word never starts another

_RUNS = re.compile(r"[^\W_]+")  # letters and digits (any script)
# Parts of a run: "IMGFile" → IMG, File; "myPhoto2" → my, Photo, 2; other scripts as they come.
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_A-Za-z]+")


def search_texts(record) -> list[str]:
    """The texts an image is found by: its key, label names and camera make and model (EXIF).
    No backfill: a record indexed before the make was one of these texts is found by its make once
    it is written again (a new label, a restore, a replacement); until then by its model."""
    camera = [str(value) for name in ("make", "model") if (value := (record.exif or {}).get(name))]
    return [record.key, *record.labels, *camera]


def words(text: str) -> set[str]:
    """The lower-case words of one text: each letter/digit run and its camel-case/digit parts."""
    found = set()
    for run in _RUNS.findall(text):
        found.add(run.lower())
        found.update(part.lower() for part in _PARTS.findall(run))
    return {word[:MAX_WORD] for word in found if len(word) >= MIN_WORD}


def record_words(record) -> set[str]:
    """Every word the search index keeps for ``record`` (with its batch as ``@<id>``)."""
    found = set()
    for text in search_texts(record):
        if text:
            found |= words(text)
    if record.batch:
        found.add(batch_word(record.batch))
    return found


def batch_word(batch: str) -> str:
    return "@" + batch


def new_batch() -> str:
    return uuid.uuid4().hex[:16]


def check_batch(batch: object) -> str:
    """A batch id as uploads send it ('' for none): 16 lower-case letters and digits."""
    if batch in (None, ""):
        return ""
    if not isinstance(batch, str) or not BATCH.fullmatch(batch):
        raise InvalidParameter("batch must be 16 lower-case letters and digits.")
    return batch


def query_words(query: str) -> list[str]:
    """The words a query asks for, lower-case, longest first (the most selective), at most
    ``MAX_QUERY_WORDS``; [] for an empty query. A query with text but no usable word is refused."""
    query = (query or "").strip()
    if not query:
        return []
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidParameter(f"The search is {len(query)} characters long; at most {MAX_QUERY_LENGTH} are allowed.")
    found = {run.lower()[:MAX_WORD] for run in _RUNS.findall(query) if len(run) >= MIN_WORD}
    if not found:
        raise InvalidParameter("Search for a word of at least two letters or digits.")
    # A word that starts another one adds nothing ("kat katherine" is "katherine").
    found = {w for w in found if not any(o != w and o.startswith(w) for o in found)}
    return sorted(found, key=lambda w: (-len(w), w))[:MAX_QUERY_WORDS]
