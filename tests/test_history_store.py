"""History, trash, restore and purge: the same contract on SQLite and on DynamoDB (moto server)."""

from __future__ import annotations

import threading

import pytest

from app.core.errors import NotFound
from app.metadata.base import Conflict, ImageRecord
from app.metadata.dynamodb import DynamoMetadataStore
from app.metadata.sqlite import SqliteMetadataStore

pytest_plugins = ["cloud"]

LATER = 4_000_000_000.0  # an expiry far in the future


def rec(key: str, version: str, t: float = 100.0, size: int = 10, labels=()) -> ImageRecord:
    return ImageRecord(
        key=key,
        content_type="image/png",
        bytes=size,
        width=2,
        height=3,
        sha256=version * 4,
        created_at=t,
        updated_at=t,
        version=version,
        labels=list(labels),
    )


@pytest.fixture(params=["sqlite", "dynamodb"])
def meta(request, tmp_path):
    if request.param == "sqlite":
        return SqliteMetadataStore(str(tmp_path / "gallery.sqlite3"))
    aws = request.getfixturevalue("aws")
    store = DynamoMetadataStore(aws["table"], "us-east-1")
    store.provision()
    return store


def history(meta, key):
    return [r.record.version for r in meta.versions(key)]


def test_a_replace_keeps_the_old_version_in_the_history(meta):
    meta.put(rec("k", "v1", 1.0, labels=["dog"]), keep_until=LATER)
    replaced = meta.put(rec("k", "v2", 2.0), keep_until=LATER)
    assert replaced.version == "v1"
    meta.put(rec("k", "v3", 3.0), keep_until=LATER)
    assert meta.get("k").version == "v3" and meta.get("k").created_at == 1.0
    assert history(meta, "k") == ["v2", "v1"]
    assert all(r.expires_at == LATER for r in meta.versions("k"))
    assert meta.get_version("k", "v1").labels == ["dog"]
    assert meta.get_version("other", "v1") is None and meta.get_version("k", "nope") is None
    usage = meta.usage()
    assert (usage["images"], usage["current_bytes"], usage["history"], usage["history_bytes"]) == (1, 10, 2, 20)


def test_restoring_a_version_swaps_it_with_the_current_one(meta):
    meta.put(rec("k", "v1", 1.0, labels=["dog"]), keep_until=LATER)
    meta.put(rec("k", "v2", 2.0, labels=["cat"]), keep_until=LATER)
    restored, replaced = meta.restore_version("k", "v1", keep_until=LATER)
    assert (restored.version, replaced.version) == ("v1", "v2")
    assert meta.get("k").version == "v1" and history(meta, "k") == ["v2"]
    assert [r.key for r in meta.list(label="dog")[0]] == ["k"] and meta.list(label="cat")[0] == []
    with pytest.raises(NotFound):
        meta.restore_version("k", "v1", keep_until=LATER)  # current, not in the history
    with pytest.raises(NotFound):
        meta.restore_version("missing", "v2", keep_until=LATER)
    assert meta.usage()["history"] == 1


def test_if_absent_refuses_a_taken_key_and_changes_nothing(meta):
    meta.put(rec("k", "v1"), keep_until=LATER)
    with pytest.raises(Conflict):
        meta.put(rec("k", "v2"), if_absent=True, keep_until=LATER)
    assert meta.get("k").version == "v1" and history(meta, "k") == []


def test_delete_moves_the_image_and_its_history_to_the_trash(meta):
    meta.put(rec("k", "v1", 1.0), keep_until=LATER)
    meta.put(rec("k", "v2", 2.0, labels=["dog"]), keep_until=LATER)
    deleted, dropped = meta.delete("k", trash_until=LATER)
    assert deleted.version == "v2" and dropped == []
    assert meta.get("k") is None and meta.list(label="dog")[0] == []
    items, after = meta.trash()
    assert [(i.record.key, i.record.version, i.expires_at) for i in items] == [("k", "v2", LATER)] and after is None
    assert meta.get_version("k", "v2").version == "v2"  # trashed versions can still be shown
    # Back again: the history comes with it.
    restored, displaced = meta.restore_trashed("k", "v2", target="k")
    assert restored.version == "v2" and displaced is None and history(meta, "k") == ["v1"]
    assert meta.trash()[0] == [] and [r.key for r in meta.list(label="dog")[0]] == ["k"]


def test_restoring_onto_a_taken_key(meta):
    meta.put(rec("k", "v1", 1.0), keep_until=LATER)
    meta.delete("k", trash_until=LATER)
    meta.put(rec("k", "v2", 2.0), keep_until=LATER)
    with pytest.raises(Conflict):
        meta.restore_trashed("k", "v1", target="k")
    assert meta.get("k").version == "v2" and len(meta.trash()[0]) == 1
    # Under another name: its blobs stay where they were written.
    restored, _ = meta.restore_trashed("k", "v1", target="k-2")
    assert (restored.key, restored.blob_key) == ("k-2", "k") and meta.get("k-2").blob_key == "k"
    # In place of the current one, which goes to the trash instead: nothing is lost.
    meta.delete("k-2", trash_until=LATER)
    restored, displaced = meta.restore_trashed("k-2", "v1", target="k", replace_until=LATER)
    assert meta.get("k").version == "v1" and displaced.version == "v2"
    assert [i.record.version for i in meta.trash()[0]] == ["v2"]
    with pytest.raises(NotFound):
        meta.restore_trashed("k", "nope", target="k")


def test_trash_pages_newest_deleted_first(meta):
    for i in range(5):
        meta.put(rec(f"k{i}", f"v{i}"), keep_until=LATER)
        meta.delete(f"k{i}", trash_until=LATER)
    seen, after = [], None
    while True:
        items, after = meta.trash(limit=2, after=after)
        seen += [i.record.key for i in items]
        if after is None:
            break
    assert seen == ["k4", "k3", "k2", "k1", "k0"]


def test_purge_removes_what_expired_and_returns_it(meta):
    meta.put(rec("k", "v1", 1.0))
    meta.put(rec("k", "v2", 2.0), keep_until=50.0)  # v1 is kept until 50
    meta.put(rec("k", "v3", 3.0), keep_until=LATER)  # v2 far longer
    meta.put(rec("gone", "g1"), keep_until=LATER)
    meta.delete("gone", trash_until=60.0)
    assert meta.purge(40.0) == []
    purged = meta.purge(100.0)
    assert sorted(r.version for r in purged) == ["g1", "v1"]
    assert history(meta, "k") == ["v2"] and meta.trash()[0] == []
    assert meta.purge(100.0) == []
    usage = meta.usage()
    assert (usage["history"], usage["trashed"], usage["trash_bytes"]) == (1, 0, 0)


def test_emptying_the_trash_removes_trashed_images_with_their_history(meta):
    meta.put(rec("a", "a1"), keep_until=LATER)
    meta.put(rec("a", "a2"), keep_until=LATER)
    meta.delete("a", trash_until=LATER)
    meta.put(rec("b", "b1"), keep_until=LATER)
    meta.put(rec("b", "b2"), keep_until=LATER)  # b stays: its history must too
    purged = meta.purge(0.0, trash=True)
    assert sorted(r.version for r in purged) == ["a1", "a2"]
    assert meta.trash()[0] == [] and history(meta, "b") == ["b1"]


def test_nothing_kept_without_retention(meta):
    meta.put(rec("k", "v1"))
    assert meta.put(rec("k", "v2")).version == "v1"
    assert history(meta, "k") == [] and meta.usage()["history"] == 0


def test_a_restore_racing_uploads_leaves_one_consistent_current_version(meta):
    meta.put(rec("k", "v0", 0.0), keep_until=LATER)
    meta.put(rec("k", "v1", 1.0), keep_until=LATER)
    errors = []

    def upload(n):
        try:
            meta.put(rec("k", f"u{n}", 10.0 + n), keep_until=LATER)
        except Exception as exc:  # reported below
            errors.append(exc)

    def restore():
        try:
            meta.restore_version("k", "v0", keep_until=LATER)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(4)] + [threading.Thread(target=restore)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    current = meta.get("k")
    versions = history(meta, "k")
    # Every version is exactly once either current or in the history.
    assert sorted([current.version, *versions]) == sorted(["v0", "v1", "u0", "u1", "u2", "u3"])
    assert meta.usage()["history"] == 5
