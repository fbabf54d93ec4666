"""The gallery service: write order, read-through cache, invalidation and the race guard."""

from __future__ import annotations

import hashlib
import os

import pytest
from conftest import is_stored, make_app, make_image

from app.errors import InvalidKey, NotAnImage, NotFound
from app.gallery import ORIGINAL, THUMB, VARIANTS, CachedBlob, blob_name, cache_key


def blob_files(gallery) -> list[str]:
    return sorted(name for _, _, names in os.walk(gallery.blobs.root) for name in names)


@pytest.fixture
def gallery0(tmp_path):
    """A gallery that keeps no history and no trash (GALLERY_RETENTION_DAYS=0)."""
    return make_app(tmp_path, GALLERY_RETENTION_DAYS=0).extensions["gallery"]


@pytest.fixture
def red():
    return make_image("PNG", size=(64, 48), color=(200, 30, 40))


@pytest.fixture
def blue():
    return make_image("PNG", size=(80, 40), color=(10, 30, 240))


def test_upload_stores_bytes_thumbnail_and_record(gallery, red):
    record, replaced = gallery.upload("a/red.png", red, provenance={"source_key": "x"})
    assert not replaced
    assert (record.key, record.content_type, record.bytes, record.width, record.height) == (
        "a/red.png",
        "image/png",
        len(red),
        64,
        48,
    )
    assert record.sha256 == hashlib.sha256(red).hexdigest()
    assert gallery.get_record("a/red.png") == record
    assert gallery.blobs.get(blob_name(ORIGINAL, record)) == red
    assert gallery.blobs.get(blob_name(THUMB, record))[:4] == b"RIFF"
    assert gallery.get_record("a/red.png").provenance == {"source_key": "x"}


def test_replacing_keeps_created_at_and_the_old_version_in_the_history(gallery, red, blue):
    first, _ = gallery.upload("k", red)
    second, replaced = gallery.upload("k", blue)
    assert replaced and second.created_at == first.created_at and second.lineage == first.lineage
    current, history = gallery.versions("k")
    assert current == second and [r.record.version for r in history] == [first.version]
    assert is_stored(gallery.blobs, blob_name(ORIGINAL, first)) and len(blob_files(gallery)) == 2 * len(VARIANTS)
    assert gallery.get_original("k").data == blue


def test_without_retention_replacing_removes_the_old_version(gallery0, red, blue):
    gallery = gallery0
    first, _ = gallery.upload("k", red)
    second, replaced = gallery.upload("k", blue)
    assert replaced
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at
    assert second.version != first.version
    assert not is_stored(gallery.blobs, blob_name(ORIGINAL, first))
    assert not is_stored(gallery.blobs, blob_name(THUMB, first))
    assert len(blob_files(gallery)) == len(VARIANTS)
    assert gallery.get_original("k").data == blue


def test_bytes_are_written_before_the_metadata_that_points_at_them(gallery, red, monkeypatch):
    seen = []
    put = gallery.blobs.put

    def spying_put(name, data, content_type):
        seen.append(gallery.metadata.get("k"))
        put(name, data, content_type)

    monkeypatch.setattr(gallery.blobs, "put", spying_put)
    gallery.upload("k", red)
    assert seen == [None] * len(VARIANTS)  # neither the original nor a rendition was visible early


def test_a_failed_metadata_write_leaves_nothing_behind(gallery, red, blue, monkeypatch):
    old, _ = gallery.upload("k", red)
    gallery.get_original("k")  # cached
    files = blob_files(gallery)

    def broken_put(record, **options):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(gallery.metadata, "put", broken_put)
    with pytest.raises(RuntimeError):
        gallery.upload("k", blue)
    assert blob_files(gallery) == files
    assert gallery.metadata.get("k") == old
    assert gallery.cache.get(cache_key(ORIGINAL, "k")) is not None


def test_delete_removes_metadata_before_bytes_and_cache(gallery0, red, monkeypatch):
    gallery = gallery0
    gallery.upload("k", red)
    gallery.get_original("k")
    gallery.read(THUMB, "k")
    order = []

    def spy(store, what):
        delete = store.delete

        def spying_delete(name):
            order.append((what, gallery.metadata.get("k")))
            delete(name)

        monkeypatch.setattr(store, "delete", spying_delete)

    spy(gallery.blobs, "blob")
    spy(gallery.cache, "cache")
    gallery.delete("k")
    assert order and all(record is None for _, record in order)
    assert order[0][0] == "cache"  # cache entries go before the bytes they copy
    monkeypatch.undo()
    assert blob_files(gallery) == []
    assert gallery.cache.stats()["items"] == 0
    with pytest.raises(NotFound):
        gallery.get_original("k")
    with pytest.raises(NotFound):
        gallery.delete("k")


def test_read_through_second_read_is_a_hit(gallery, red):
    gallery.upload("k", red)
    before = gallery.cache.stats()
    first = gallery.get_original("k")
    middle = gallery.cache.stats()
    second = gallery.get_original("k")
    after = gallery.cache.stats()
    assert first == second and first.data == red
    assert (middle["misses"] - before["misses"], middle["hits"] - before["hits"]) == (1, 0)
    assert (after["misses"] - middle["misses"], after["hits"] - middle["hits"]) == (0, 1)
    thumb = gallery.read(THUMB, "k")
    assert thumb.content_type == "image/webp" and thumb.etag == f"thumb-{hashlib.sha256(red).hexdigest()}"
    assert gallery.read(THUMB, "k") == thumb
    assert gallery.cache.stats()["items"] == 2


def test_a_cache_hit_does_not_touch_storage_or_metadata(gallery, red, monkeypatch):
    gallery.upload("k", red)
    gallery.get_original("k")

    def forbidden(*args):
        raise AssertionError("a cache hit must not read the stores")

    monkeypatch.setattr(gallery.blobs, "get", forbidden)
    monkeypatch.setattr(gallery.metadata, "get", forbidden)
    assert gallery.get_original("k").data == red


@pytest.mark.parametrize("variant", [ORIGINAL, THUMB])
def test_overwrite_and_delete_invalidate_the_cache(gallery, red, blue, variant):
    gallery.upload("k", red)
    old = gallery.read(variant, "k")
    gallery.upload("k", blue)
    assert gallery.cache.get(cache_key(variant, "k")) is None
    new = gallery.read(variant, "k")
    assert new.version != old.version and new.data != old.data
    assert new.etag.endswith(hashlib.sha256(blue).hexdigest())
    gallery.delete("k")
    assert gallery.cache.get(cache_key(variant, "k")) is None
    with pytest.raises(NotFound):
        gallery.read(variant, "k")


def test_race_guard_when_the_image_is_replaced_after_its_bytes_were_read(gallery, red, blue, monkeypatch):
    """Reader: metadata(v1), bytes(v1) … writer uploads v2 and invalidates … reader caches v1.
    The guard must notice the new version and drop what it just cached."""
    gallery.upload("k", red)
    get = gallery.blobs.get
    calls = []

    def get_then_replace(name):
        data = get(name)
        if not calls:
            calls.append(name)
            gallery.upload("k", blue)  # a concurrent writer finishes here
        return data

    monkeypatch.setattr(gallery.blobs, "get", get_then_replace)
    served = gallery.get_original("k")
    assert served.data == red  # this request started before the replacement
    raw = gallery.cache.get(cache_key(ORIGINAL, "k"))
    assert raw is None or CachedBlob.unpack(raw).data == blue
    assert gallery.get_original("k").data == blue
    assert gallery.get_original("k").version == gallery.get_record("k").version


def test_race_guard_when_the_image_is_replaced_before_its_bytes_are_read(gallery0, red, blue, monkeypatch):
    """Reader: metadata(v1) … writer uploads v2, removing v1's blobs … reader reads bytes."""
    gallery = gallery0
    gallery.upload("k", red)
    get = gallery.blobs.get
    calls = []

    def replace_then_get(name):
        if not calls:
            calls.append(name)
            gallery.upload("k", blue)
        return get(name)

    monkeypatch.setattr(gallery.blobs, "get", replace_then_get)
    assert gallery.get_original("k").data == blue  # the old bytes are gone; the new are complete
    monkeypatch.undo()
    assert gallery.get_original("k").data == blue
    assert gallery.cache.stats()["items"] == 1


def test_race_guard_when_the_image_is_deleted_during_the_read(gallery, red, monkeypatch):
    gallery.upload("k", red)
    get = gallery.blobs.get

    def get_then_delete(name):
        data = get(name)
        gallery.delete("k")
        return data

    monkeypatch.setattr(gallery.blobs, "get", get_then_delete)
    gallery.get_original("k")
    assert gallery.cache.get(cache_key(ORIGINAL, "k")) is None
    monkeypatch.undo()
    with pytest.raises(NotFound):
        gallery.get_original("k")


def test_cached_blob_packs_and_unpacks():
    blob = CachedBlob("image/png", "abc", "v1", b"\x00\x01binary\xff")
    assert CachedBlob.unpack(blob.pack()) == blob


def test_invalid_input_changes_nothing(gallery, red):
    gallery.upload("k", red)
    files, record = blob_files(gallery), gallery.get_record("k")
    with pytest.raises(InvalidKey):
        gallery.upload("../k", red)
    with pytest.raises(NotAnImage):
        gallery.upload("k", b"plain text")
    with pytest.raises(InvalidKey):
        gallery.delete("a//b")
    assert blob_files(gallery) == files
    assert gallery.get_record("k") == record


def test_list_and_suggest_validate_their_arguments(gallery, red):
    for key in ["x/1", "x/2", "y/1"]:
        gallery.upload(key, red)
    items, cursor = gallery.list(prefix="x/")
    assert [r.key for r in items] == ["x/2", "x/1"] and cursor is None
    assert gallery.suggest("x") == ["x/1", "x/2"]
    with pytest.raises(InvalidKey):
        gallery.list(prefix="x%")
    with pytest.raises(InvalidKey):
        gallery.suggest("<")
    assert len(gallery.list(limit=2)[0]) == 2
