"""What a DynamoDB search reads (issue 19 point 1), on moto_server: a two-word search reads its
word pair's partition (≤ 2× what it shows), one without a pair the sparser word's partition, and
every request reads at most SEARCH_READ_ITEMS items, answering what it found with a cursor, so
paging on finds exactly what SQLite finds, in either order. Pair items are written after the
image's transaction: what a replacement or delete drops goes, and an image a crash left between
the two is found by nothing wrong and mended by ``gallery init``."""

from __future__ import annotations

import pytest
from cloud import counting_store
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import search
from app.core.errors import InvalidParameter
from app.metadata.base import ImageRecord
from app.metadata.dynamodb.layout import INDEX_VERSION, PAIRS_PENDING, _pair_starts, query_pairs
from app.metadata.dynamodb.word_search import _matches
from app.metadata.sqlite import SqliteMetadataStore

pytest_plugins = ["cloud"]


def record(i: int) -> ImageRecord:
    # "birthday" in every fourth folder name; "bicycle" and "bird" fill the same partition ("bi");
    # a dog in every seventh photo.
    folder = "birthday" if i % 4 == 0 else ("bicycle", "bird", "beach")[i % 3]
    return ImageRecord(
        key=f"{folder}/{i:03}.jpg",
        content_type="image/jpeg",
        bytes=10,
        width=4,
        height=3,
        sha256=f"{i:064x}",
        created_at=100.0 + i,
        updated_at=100.0 + i,
        version=f"v{i}",
        labels=["dog"] if i % 7 == 0 else [],
        labelled=True,
        taken_at=f"20{10 + (i * 7) % 13:02}-05-{1 + i % 28:02}T10:00:00",
    )


LIBRARY = [record(i) for i in range(120)]


@pytest.fixture
def store(aws, monkeypatch):
    """Each Query read: (its partition, items read)."""
    return counting_store(
        aws,
        monkeypatch,
        LIBRARY,
        lambda request, response: (
            request["ExpressionAttributeValues"].get(":s", {}).get("S"),
            response["ScannedCount"],
        ),
    )


@pytest.fixture
def reference(tmp_path):
    same = SqliteMetadataStore(str(tmp_path / "m.sqlite3"))
    same.put_many(LIBRARY)
    return same


def every_page(store, limit: int, **query) -> tuple[list[str], list[int]]:
    found, reads, cursor = [], [], None
    while True:
        store.read = []
        page, cursor = store.list(limit=limit, after=cursor, **query)
        found += [r.key for r in page]
        reads.append(sum(n for _, n in getattr(store, "read", [])))
        if cursor is None:
            return found, reads


def test_two_words_read_their_pair(store, reference):
    expected, _ = every_page(reference, 48, words=["birthday", "dog"])
    found, reads = every_page(store, 48, words=["birthday", "dog"])
    assert found == expected and len(found) >= 4
    # The pair partition holds the birthday dogs and nothing else: it reads what it shows.
    assert {s for s, _ in store.read} == {"birt+do"} and reads == [len(found)]


def test_words_without_a_pair_read_the_sparser_partition(store, reference):
    # "bi" comes first and is shorter than a pair's first side: no pair holds every match.
    expected, _ = every_page(reference, 48, words=["dog", "bi"])
    found, reads = every_page(store, 48, words=["dog", "bi"])
    assert found == expected and len(found) >= 4
    # "bi" holds 90 items (birthday, bicycle, bird), "do" 18: the probes read 16 of each, then "do" to its end.
    assert {s for s, _ in store.read} == {"bi", "do"} and reads == [16 + 18]


def test_three_words_read_the_sparsest_pair(store, reference):
    words = ["birthday", "dog", "jpg"]  # pairs "birt+do" (the birthday dogs) and "birt+jp" (every birthday)
    expected, _ = every_page(reference, 48, words=words)
    found, reads = every_page(store, 48, words=words)
    assert found == expected and len(found) >= 4
    # The first probe, of "birt+do", reads that partition to its end: it holds every match, so
    # "birt+jp" (30 items) is not read at all.
    assert {s for s, _ in store.read} == {"birt+do"} and reads == [len(found)]


def test_each_request_reads_a_bounded_number_of_items(store, reference, monkeypatch):
    monkeypatch.setattr("app.metadata.dynamodb.word_search.SEARCH_READ_ITEMS", 20)
    for sort in ("uploaded", "taken"):
        for words in (["birthday", "dog"], ["bi"], ["bird", "beach"]):
            expected, _ = every_page(reference, 5, words=words, sort=sort)
            found, reads = every_page(store, 5, words=words, sort=sort)
            assert found == expected, (words, sort)
            assert max(reads) <= 2 * 16, (words, sort, reads)  # the probes may pass the budget, never more


def test_a_cursor_of_another_search_is_refused(store):
    _, cursor = store.list(limit=2, words=["bicycle"])
    with pytest.raises(InvalidParameter, match="another listing"):
        store.list(limit=2, words=["dog"], after=cursor)


def pair_items(store, key: str) -> set[str]:
    """The pair partitions holding an item of ``key`` among those its library record had."""
    wanted = _pair_starts(next(r for r in LIBRARY if r.key == key)) | {"birt+do"}
    found = set()
    for pair in wanted:
        item = store.client.get_item(TableName=store.table, Key={"pk": {"S": f"pair#{pair}#{key}"}}).get("Item")
        if item:
            found.add(pair)
    return found


def index_version(store, key: str) -> str:
    return store._get_image(key)[2]


def without_dog(key: str) -> ImageRecord:
    record = ImageRecord.from_dict(next(r for r in LIBRARY if r.key == key).to_dict())
    record.labels, record.version, record.updated_at = [], f"{record.version}-2", record.updated_at + 1000
    return record


def test_a_replacement_dropping_a_word_drops_its_pairs(store, reference):
    key = "birthday/000.jpg"
    assert "birt+do" in pair_items(store, key) and index_version(store, key) == INDEX_VERSION
    store.put(without_dog(key))
    reference.put(without_dog(key))
    assert "birt+do" not in pair_items(store, key) and index_version(store, key) == INDEX_VERSION
    found, _ = every_page(store, 48, words=["birthday", "dog"])
    assert key not in found and found == every_page(reference, 48, words=["birthday", "dog"])[0]


def test_a_delete_removes_its_pair_items(store):
    key = "birthday/000.jpg"
    assert pair_items(store, key)
    store.delete(key)
    assert pair_items(store, key) == set()


def test_a_crash_between_transaction_and_pairs_is_mended_by_init(store, reference, monkeypatch):
    """A write stopped after its transaction: the new image is pending and missing from its pairs,
    the replaced one's dropped pair is stale; the search shows nothing wrong, init mends it."""
    monkeypatch.setattr(type(store), "_settle", lambda *args: None)  # the process dies here
    new = ImageRecord.from_dict({**LIBRARY[0].to_dict(), "key": "birthday/new.jpg", "version": "vnew"})
    new.updated_at = new.created_at = 1000.0
    for same in (store, reference):
        same.put(new)
        same.put(without_dog("birthday/028.jpg"))
    assert index_version(store, new.key) == PAIRS_PENDING
    assert "birt+do" in pair_items(store, "birthday/028.jpg")  # stale: the photo has no dog now
    expected, _ = every_page(reference, 48, words=["birthday", "dog"])
    found, _ = every_page(store, 48, words=["birthday", "dog"])
    assert "birthday/028.jpg" not in found  # the stale pair item shows nothing wrong
    assert set(found) == set(expected) - {new.key}  # the new photo waits for its pairs
    monkeypatch.undo()
    assert any("indexed 2 image(s)" in line for line in store.provision())  # both writes
    assert index_version(store, new.key) == INDEX_VERSION
    assert every_page(store, 48, words=["birthday", "dog"])[0] == expected


WORDS = st.sampled_from(["birthday", "bird", "bicycle", "dog", "dogs", "doggy", "katherine", "kat", "jpg", "2015"])


@settings(max_examples=300, deadline=None)
@given(
    key=st.lists(WORDS, min_size=1, max_size=4),
    labels=st.lists(WORDS, max_size=3),
    query=st.lists(WORDS, min_size=2, max_size=3),
)
def test_a_matching_image_has_every_pair_the_query_reads(key, labels, query):
    record = ImageRecord(
        key="/".join(key) + ".jpg",
        content_type="image/jpeg",
        bytes=1,
        width=1,
        height=1,
        sha256="",
        created_at=1.0,
        updated_at=1.0,
        labels=labels,
    )
    wanted = search.query_words(" ".join(w[: len(w) - i % 3] for i, w in enumerate(query)))  # some cut short
    if _matches(record, wanted, "", ""):
        assert set(query_pairs(wanted)) <= _pair_starts(record)
