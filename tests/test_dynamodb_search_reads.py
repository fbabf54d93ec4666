"""What a DynamoDB search reads (issue 19 point 1), on moto_server: a two-word search reads the
sparser word's partition, and every request reads at most SEARCH_READ_ITEMS items, answering what
it found with a cursor, so paging on finds exactly what SQLite finds, in either order."""

from __future__ import annotations

import pytest
from cloud import counting_store

from app.core.errors import InvalidParameter
from app.metadata.base import ImageRecord
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


def test_two_words_read_the_sparser_partition(store, reference):
    expected, _ = every_page(reference, 48, words=["birthday", "dog"])
    found, reads = every_page(store, 48, words=["birthday", "dog"])
    assert found == expected and len(found) >= 4
    # "bi" holds 90 items (birthday, bicycle, bird), "do" 18: the probes read 16 of each, then "do" to its end.
    assert {s for s, _ in store.read} == {"bi", "do"} and reads == [16 + 18]


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
