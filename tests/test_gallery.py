"""The gallery service: write order, the read-through cache named by version, and read races."""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import is_stored, make_app, make_image

from app.core import packing
from app.core.blobs import ORIGINAL, THUMB, VARIANTS, CachedBlob, blob_name, version_cache_key
from app.core.errors import InvalidKey, NotAnImage, NotFound


def blob_files(gallery) -> list[str]:
    return sorted(name for _, _, names in os.walk(gallery.blobs.root) for name in names)


@pytest.fixture
def gallery0(tmp_path):
    """A gallery that keeps no history and no trash (GALLERY_RETENTION_DAYS=0)."""
    return make_app(tmp_path, GALLERY_RETENTION_DAYS=0).extensions["services"]


@pytest.fixture
def red():
    return make_image("PNG", size=(64, 48), color=(200, 30, 40))


@pytest.fixture
def blue():
    return make_image("PNG", size=(80, 40), color=(10, 30, 240))


def test_upload_stores_bytes_thumbnail_and_record(gallery, red):
    record, replaced = gallery.library.upload("a/red.png", red, provenance={"source_key": "x"})
    assert not replaced
    assert (record.key, record.content_type, record.bytes, record.width, record.height) == (
        "a/red.png",
        "image/png",
        len(red),
        64,
        48,
    )
    assert record.sha256 == hashlib.sha256(red).hexdigest()
    assert gallery.catalog.get_record("a/red.png") == record
    assert gallery.blobs.get(blob_name(ORIGINAL, record)) == red
    assert gallery.blobs.get(blob_name(THUMB, record))[:4] == b"RIFF"
    assert gallery.catalog.get_record("a/red.png").provenance == {"source_key": "x"}


def test_replacing_keeps_created_at_and_the_old_version_in_the_history(gallery, red, blue):
    first, _ = gallery.library.upload("k", red)
    second, replaced = gallery.library.upload("k", blue)
    assert replaced and second.created_at == first.created_at and second.lineage == first.lineage
    current, history = gallery.history.versions("k")
    assert current == second and [r.record.version for r in history] == [first.version]
    assert is_stored(gallery.blobs, blob_name(ORIGINAL, first)) and len(blob_files(gallery)) == 2 * len(VARIANTS)
    assert gallery.images.get_original("k").data == blue


def test_without_retention_replacing_removes_the_old_version(gallery0, red, blue):
    gallery = gallery0
    first, _ = gallery.library.upload("k", red)
    second, replaced = gallery.library.upload("k", blue)
    assert replaced
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at
    assert second.version != first.version
    assert not is_stored(gallery.blobs, blob_name(ORIGINAL, first))
    assert not is_stored(gallery.blobs, blob_name(THUMB, first))
    assert len(blob_files(gallery)) == len(VARIANTS)
    assert gallery.images.get_original("k").data == blue


def test_bytes_are_written_before_the_metadata_that_points_at_them(gallery, red, monkeypatch):
    seen = []
    put = gallery.blobs.put

    def spying_put(name, data, content_type):
        seen.append(gallery.metadata.get("k"))
        put(name, data, content_type)

    monkeypatch.setattr(gallery.blobs, "put", spying_put)
    gallery.library.upload("k", red)
    assert seen == [None] * len(VARIANTS)  # neither the original nor a rendition was visible early


def test_a_failed_metadata_write_leaves_nothing_behind(gallery, red, blue, monkeypatch):
    old, _ = gallery.library.upload("k", red)
    gallery.images.get_original("k")  # cached
    files = blob_files(gallery)

    def broken_put(record, **options):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(gallery.metadata, "put", broken_put)
    with pytest.raises(RuntimeError):
        gallery.library.upload("k", blue)
    assert blob_files(gallery) == files
    assert gallery.metadata.get("k") == old
    assert gallery.cache.get(version_cache_key(ORIGINAL, old.version)) is not None


def test_delete_removes_metadata_before_bytes_and_cache(gallery0, red, monkeypatch):
    gallery = gallery0
    gallery.library.upload("k", red)
    gallery.images.get_original("k")
    gallery.images.read(THUMB, "k")
    order = []

    def spy(store, what):
        delete = store.delete

        def spying_delete(name):
            order.append((what, gallery.metadata.get("k")))
            delete(name)

        monkeypatch.setattr(store, "delete", spying_delete)

    spy(gallery.blobs, "blob")
    spy(gallery.cache, "cache")
    gallery.library.delete("k")
    assert order and all(record is None for _, record in order)
    assert order[0][0] == "cache"  # cache entries go before the bytes they copy
    monkeypatch.undo()
    assert blob_files(gallery) == []
    assert gallery.cache.stats()["items"] == 0
    with pytest.raises(NotFound):
        gallery.images.get_original("k")
    with pytest.raises(NotFound):
        gallery.library.delete("k")


def test_read_through_second_read_is_a_hit(gallery, red):
    gallery.library.upload("k", red)
    before = gallery.cache.stats()
    first = gallery.images.get_original("k")
    middle = gallery.cache.stats()
    second = gallery.images.get_original("k")
    after = gallery.cache.stats()
    assert first == second and first.data == red
    assert (middle["misses"] - before["misses"], middle["hits"] - before["hits"]) == (1, 0)
    assert (after["misses"] - middle["misses"], after["hits"] - middle["hits"]) == (0, 1)
    thumb = gallery.images.read(THUMB, "k")
    assert thumb.content_type == "image/webp" and thumb.etag == f"thumb-{hashlib.sha256(red).hexdigest()}"
    assert gallery.images.read(THUMB, "k") == thumb
    assert gallery.cache.stats()["items"] == 2


def test_a_versioned_hit_touches_no_store_and_an_unversioned_one_only_reads_metadata(gallery, red, monkeypatch):
    record, _ = gallery.library.upload("k", red)
    gallery.images.get_original("k")

    def forbidden(*args):
        raise AssertionError("a cache hit must not read this store")

    monkeypatch.setattr(gallery.blobs, "get", forbidden)
    assert gallery.images.get_original("k").data == red  # which version is current: one metadata read
    monkeypatch.setattr(gallery.metadata, "get", forbidden)
    monkeypatch.setattr(gallery.metadata, "get_version", forbidden)
    assert gallery.images.read(ORIGINAL, "k", record.version).data == red


@pytest.mark.parametrize("variant", [ORIGINAL, THUMB])
def test_an_overwrite_is_seen_whatever_invalidations_were_lost(gallery, red, blue, variant, monkeypatch):
    first, _ = gallery.library.upload("k", red)
    old = gallery.images.read(variant, "k")
    monkeypatch.setattr(gallery.cache, "delete", lambda key: None)  # every invalidation is lost
    second, _ = gallery.library.upload("k", blue)
    new = gallery.images.read(variant, "k")
    assert (old.version, new.version) == (first.version, second.version) and new.data != old.data
    assert new.etag.endswith(hashlib.sha256(blue).hexdigest())
    assert gallery.images.read(variant, "k", second.version) == new
    # An old versioned URL still means that version (kept in the history): it never changes meaning.
    assert gallery.images.read(variant, "k", first.version).data == old.data
    # A version that is not this image's is not served under its name: the current one is.
    gallery.library.upload("other", red)
    assert gallery.images.read(variant, "other", second.version).version == gallery.catalog.get_record("other").version
    assert gallery.images.read(variant, "k", "no-such-version") == new


@pytest.mark.parametrize("variant", [ORIGINAL, THUMB])
def test_delete_drops_the_entries_and_the_image_is_gone(gallery, red, variant):
    record, _ = gallery.library.upload("k", red)
    gallery.images.read(variant, "k")
    gallery.library.delete("k")
    assert gallery.cache.get(version_cache_key(variant, record.version)) is None
    with pytest.raises(NotFound):
        gallery.images.read(variant, "k")


def test_a_read_racing_an_overwrite_caches_nothing_stale(gallery, red, blue, monkeypatch):
    """Reader: metadata(v1), bytes(v1) … writer uploads v2 … reader caches v1 under v1's name,
    where nobody asking for the current version looks."""
    gallery.library.upload("k", red)
    get = gallery.blobs.get
    calls = []

    def get_then_replace(name):
        data = get(name)
        if not calls:
            calls.append(name)
            gallery.library.upload("k", blue)  # a concurrent writer finishes here
        return data

    monkeypatch.setattr(gallery.blobs, "get", get_then_replace)
    served = gallery.images.get_original("k")
    assert served.data == red  # this request started before the replacement
    assert gallery.images.get_original("k").data == blue
    assert gallery.images.get_original("k").version == gallery.catalog.get_record("k").version


def test_race_guard_when_the_image_is_replaced_before_its_bytes_are_read(gallery0, red, blue, monkeypatch):
    """Reader: metadata(v1) … writer uploads v2, removing v1's blobs … reader reads bytes."""
    gallery = gallery0
    gallery.library.upload("k", red)
    get = gallery.blobs.get
    calls = []

    def replace_then_get(name):
        if not calls:
            calls.append(name)
            gallery.library.upload("k", blue)
        return get(name)

    monkeypatch.setattr(gallery.blobs, "get", replace_then_get)
    assert gallery.images.get_original("k").data == blue  # the old bytes are gone; the new are complete
    monkeypatch.undo()
    assert gallery.images.get_original("k").data == blue
    assert gallery.cache.stats()["items"] == 1


def test_a_version_removed_for_good_during_the_read_is_not_left_in_the_cache(gallery0, red, monkeypatch):
    gallery = gallery0
    record, _ = gallery.library.upload("k", red)
    get = gallery.blobs.get

    def get_then_delete(name):
        data = get(name)
        gallery.library.delete("k")  # nothing is kept: the version is gone for good
        return data

    monkeypatch.setattr(gallery.blobs, "get", get_then_delete)
    gallery.images.get_original("k")
    assert gallery.cache.get(version_cache_key(ORIGINAL, record.version)) is None
    monkeypatch.undo()
    with pytest.raises(NotFound):
        gallery.images.get_original("k")
    with pytest.raises(NotFound):
        gallery.images.read_version(ORIGINAL, "k", record.version)


def test_cached_blob_packs_and_unpacks():
    blob = CachedBlob("image/png", "abc", "v1", b"\x00\x01binary\xff", "photos/a.png")
    assert CachedBlob.unpack(blob.pack()) == blob


def test_an_entry_written_before_entries_named_their_key_is_read_again(gallery, red):
    record, _ = gallery.library.upload("k", red)
    old_format = packing.pack(["image/png", record.sha256, record.version], b"not what is stored")
    gallery.cache.set(version_cache_key(ORIGINAL, record.version), old_format)
    assert gallery.images.read(ORIGINAL, "k", record.version).data == red


def test_invalid_input_changes_nothing(gallery, red):
    gallery.library.upload("k", red)
    files, record = blob_files(gallery), gallery.catalog.get_record("k")
    with pytest.raises(InvalidKey):
        gallery.library.upload("../k", red)
    with pytest.raises(NotAnImage):
        gallery.library.upload("k", b"plain text")
    with pytest.raises(InvalidKey):
        gallery.library.delete("a//b")
    assert blob_files(gallery) == files
    assert gallery.catalog.get_record("k") == record


def test_list_and_suggest_validate_their_arguments(gallery, red):
    for key in ["x/1", "x/2", "y/1"]:
        gallery.library.upload(key, red)
    items, cursor = gallery.catalog.list(prefix="x/")
    assert [r.key for r in items] == ["x/2", "x/1"] and cursor is None
    assert gallery.catalog.suggest("x") == ["x/1", "x/2"]
    with pytest.raises(InvalidKey):
        gallery.catalog.list(prefix="x%")
    with pytest.raises(InvalidKey):
        gallery.catalog.suggest("<")
    assert len(gallery.catalog.list(limit=2)[0]) == 2


def test_two_answers_to_one_held_upload_store_it_once(gallery, red, monkeypatch):
    gallery.library.upload("held.png", red)
    name = gallery.library.stage(red)
    read = gallery.blobs.get
    monkeypatch.setattr(gallery.blobs, "get", lambda n: (time.sleep(0.3), read(n))[1])  # a slow answer
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: _try(lambda: gallery.library.unstage(name, "held.png", "rename")), range(2)))
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "tuple"]
    assert sorted(r.key for r in gallery.catalog.list()[0]) == ["held-2.png", "held.png"]


def _try(call):
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - the outcome is what is compared
        return exc
