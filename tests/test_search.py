"""Search words, the search index of both metadata stores (SQLite, and DynamoDB on moto_server)
and the index of images not labelled yet, kept in step through replace, restore, trash and purge."""

from __future__ import annotations

import sqlite3

import pytest

from app.core.errors import InvalidParameter
from app.core.search import query_words, record_words, words
from app.metadata.base import ImageRecord
from app.metadata.dynamodb import MAX_LABELS, MAX_WORD_STARTS, DynamoMetadataStore, _word_starts
from app.metadata.sqlite import SqliteMetadataStore

pytest_plugins = ["cloud"]


def record(key: str, t: float, labels=(), **extra) -> ImageRecord:
    return ImageRecord(
        key=key,
        content_type="image/png",
        bytes=10,
        width=4,
        height=3,
        sha256="0" * 64,
        created_at=t,
        updated_at=t,
        version=f"v{t}",
        labels=list(labels),
        **extra,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("people/katherine.jpg", {"people", "katherine", "jpg"}),
        ("holidays/IMG_0001.JPG", {"holidays", "img", "0001", "jpg"}),
        ("DSCN1234", {"dscn1234", "dscn", "1234"}),
        ("myPhotoOfHTMLParser", {"myphotoofhtmlparser", "my", "photo", "of", "html", "parser"}),
        ("a/b-c_d.e", set()),  # one-character words are left out
    ],
)
def test_words_split_on_separators_camel_case_and_digits(text, expected):
    assert words(text) == expected


def test_query_words():
    assert query_words("") == []
    assert query_words("  PEOPLE/  ") == ["people"]
    assert query_words("kat katherine img_0001") == ["katherine", "0001", "img"]  # 'kat' adds nothing
    for bad in ("a", "/-.", "x" * 201):
        with pytest.raises(InvalidParameter):
            query_words(bad)


def test_record_words_include_labels_and_batch():
    assert record_words(record("x/IMG_7.png", 1.0, ["teddy bear"], batch="0123456789abcdef")) == {
        "img",
        "png",
        "teddy",
        "bear",
        "@0123456789abcdef",
    }


@pytest.fixture(params=["sqlite", "dynamodb"])
def meta(request, tmp_path):
    if request.param == "sqlite":
        return SqliteMetadataStore(str(tmp_path / "gallery.sqlite3"))
    aws = request.getfixturevalue("aws")
    store = DynamoMetadataStore(aws["table"], "us-east-1")
    store.provision()
    return store


def keys(meta, q="", **filters):
    found, after = [], None
    while True:
        page, after = meta.list(words=query_words(q), limit=2, after=after, **filters)
        found += [r.key for r in page]
        if after is None:
            return found


def test_search_by_word_prefix_with_filters_and_cursors(meta):
    meta.put(record("people/katherine.jpg", 1.0, ["person"]))
    meta.put(record("holidays/IMG_0001.jpg", 2.0, ["dog", "pet"]))
    meta.put(record("holidays/IMG_0002.jpg", 3.0, ["dog"]))
    meta.put(record("holidays/DSCN0003.png", 4.0, ["cat"]))
    meta.put(record("kathmandu/street.jpg", 5.0))
    assert keys(meta, "katherine") == ["people/katherine.jpg"]
    assert keys(meta, "PEOPLE/") == ["people/katherine.jpg"]
    assert keys(meta, "kath") == ["kathmandu/street.jpg", "people/katherine.jpg"]
    assert keys(meta, "img") == ["holidays/IMG_0002.jpg", "holidays/IMG_0001.jpg"]
    assert keys(meta, "0001") == ["holidays/IMG_0001.jpg"]
    assert keys(meta, "dog") == ["holidays/IMG_0002.jpg", "holidays/IMG_0001.jpg"]
    assert keys(meta, "holidays jpg") == ["holidays/IMG_0002.jpg", "holidays/IMG_0001.jpg"]
    assert keys(meta, "dscn") == ["holidays/DSCN0003.png"]
    assert keys(meta, "dscn0003") == ["holidays/DSCN0003.png"]
    assert keys(meta, "jpg", prefix="holidays/") == ["holidays/IMG_0002.jpg", "holidays/IMG_0001.jpg"]
    assert keys(meta, "holidays", label="pet") == ["holidays/IMG_0001.jpg"]
    assert keys(meta, "giraffe") == [] and keys(meta, "img cat") == []
    assert len(keys(meta, "jpg")) == 4  # pages of two, newest first, each once


def test_search_follows_replace_labels_delete_and_restore(meta):
    meta.put(record("a/dog.jpg", 1.0, ["dog"]))
    meta.put(record("a/dog.jpg", 2.0, ["cat"]), keep_until=100.0)  # replaced: its history keeps the dog
    assert keys(meta, "dog") == ["a/dog.jpg"]  # by key
    assert keys(meta, "cat") == ["a/dog.jpg"]
    meta.set_labels("a/dog.jpg", ["horse"])
    assert keys(meta, "cat") == [] and keys(meta, "horse") == ["a/dog.jpg"]
    meta.restore_version("a/dog.jpg", "v1.0", keep_until=100.0)
    assert keys(meta, "horse") == [] and keys(meta, "dog", label="dog") == ["a/dog.jpg"]
    meta.delete("a/dog.jpg", trash_until=100.0)
    assert keys(meta, "dog") == []
    meta.restore_trashed("a/dog.jpg", "v1.0", target="b/pup.jpg")
    assert keys(meta, "dog") == keys(meta, "pup", label="dog") == ["b/pup.jpg"]  # its label, its new key


def test_batch_is_found_exactly(meta):
    meta.put(record("one.jpg", 1.0, batch="aaaaaaaaaaaaaaaa"))
    meta.put(record("two.jpg", 2.0, batch="aaaaaaaaaaaaaaab"))
    assert [r.key for r in meta.list(words=["@aaaaaaaaaaaaaaaa"])[0]] == ["one.jpg"]
    assert keys(meta, "aaaaaaaaaaaaaaaa") == []  # a query word never finds a batch


def test_unlabelled_index_and_count(meta):
    for i in range(5):
        meta.put(record(f"k{i}.png", float(i)))
    meta.put(record("done.png", 9.0, ["dog"], labelled=True))
    assert meta.unlabelled_count() == 5
    meta.set_labels("k1.png", [])  # detection ran and found nothing: labelled all the same
    meta.delete("k2.png")
    meta.put(record("k3.png", 10.0, labelled=True))
    meta.put(record("done.png", 11.0))  # a new upload is not labelled yet
    found, after = [], None
    while True:
        page, after = meta.unlabelled(limit=2, after=after)
        found += page
        if after is None:
            break
    assert sorted(found) == ["done.png", "k0.png", "k4.png"] and meta.unlabelled_count() == 3


def test_sqlite_indexes_a_database_written_before_search(tmp_path):
    path = str(tmp_path / "old.sqlite3")
    old = SqliteMetadataStore(path)
    old.put(record("people/katherine.jpg", 1.0))
    db = sqlite3.connect(path)
    db.executescript("DELETE FROM words; DELETE FROM unlabelled; PRAGMA user_version = 0;")
    db.close()
    store = SqliteMetadataStore(path)
    assert [r.key for r in store.list(words=["kath"])[0]] == ["people/katherine.jpg"]
    assert store.unlabelled_count() == 1


def test_dynamodb_indexes_items_written_before_search(aws):
    store = DynamoMetadataStore(aws["table"], "us-east-1")
    store.provision()
    store.put(record("people/katherine.jpg", 1.0, ["person"]))
    client = store.client
    for item in client.scan(TableName=aws["table"])["Items"]:  # as an earlier version left them
        if item["pk"]["S"].startswith("word#") or item["pk"]["S"].startswith("count#unlabelled"):
            client.delete_item(TableName=aws["table"], Key={"pk": item["pk"]})
        elif item["pk"]["S"].startswith("image#"):
            for name in ("ix", "nolabel"):
                item.pop(name)
            client.put_item(TableName=aws["table"], Item=item)
    assert store.list(words=["kath"])[0] == [] and store.unlabelled_count() == 0
    assert any("indexed 1 image" in line for line in store.provision())
    assert [r.key for r in store.list(words=["kath"])[0]] == ["people/katherine.jpg"]
    assert store.unlabelled(limit=5) == (["people/katherine.jpg"], None) and store.unlabelled_count() == 1
    assert not any("indexed" in line for line in store.provision())


def test_dynamodb_worst_transaction_fits(aws, monkeypatch):
    """Most labels and word starts, replaced by as many others, restored keeping the replaced one."""
    # moto_server takes seconds over a 100-action transaction on a busy machine (it copies the table
    # for each): this test is about the transaction's size, so the client may wait for it.
    monkeypatch.setattr("app.runtime.aws.DEFAULT_TIMEOUT", (10.0, 1))
    store = DynamoMetadataStore(aws["table"], "us-east-1")
    store.provision()
    sizes = []
    write = store.client.transact_write_items
    store.client.transact_write_items = lambda **kw: sizes.append(len(kw["TransactItems"])) or write(**kw)
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    long_key = "/".join(letters[i] * 2 + "x" for i in range(MAX_WORD_STARTS + 3))
    store.put(record(long_key, 1.0))
    assert len(_word_starts(store.get(long_key))) == MAX_WORD_STARTS  # its first words: the key's
    # Labels with no word start in common, so every label and word item changes.
    first = [f"{letters[i]}{letters[-1 - i]}l" for i in range(MAX_LABELS + 4)]
    second = [f"{letters[-1 - i]}{letters[i]}m" for i in range(MAX_LABELS + 4)]
    store.put(record("k.zz", 1.0, first))
    store.put(record("k.zz", 2.0, second), keep_until=100.0)
    restored, _ = store.restore_version("k.zz", "v1.0", keep_until=100.0)
    assert len(restored.labels) == MAX_LABELS
    current = store.get("k.zz")
    counted = {
        item["pk"]["S"]
        for item in store.client.scan(TableName=aws["table"])["Items"]
        if item["pk"]["S"].startswith("word#") and item["pk"]["S"].endswith("#k.zz")
    }
    assert counted == {f"word#{start}#k.zz" for start in _word_starts(current)}
    assert current.labels == restored.labels
    assert max(sizes) >= 90  # close to the limit of 100 actions, and accepted
