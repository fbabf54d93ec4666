"""Local blob store: names never become paths, writes are atomic, distinct names stay distinct."""

from __future__ import annotations

import os
import threading

import pytest

from app.config import load_settings
from app.core.errors import NotFound
from app.storage import create_blob_store
from app.storage.local import LocalBlobStore


def all_files(root) -> list[str]:
    return sorted(os.path.join(folder, name) for folder, _, names in os.walk(root) for name in names)


@pytest.fixture
def store(tmp_path):
    return LocalBlobStore(str(tmp_path / "data"))


def test_put_get_size_delete(store):
    with pytest.raises(NotFound):
        store.size("originals/a/v1")
    store.put("originals/a/v1", b"hello", "image/png")
    assert store.size("originals/a/v1") == 5
    assert store.get("originals/a/v1") == b"hello"
    store.put("originals/a/v1", b"replaced", "image/png")
    assert store.get("originals/a/v1") == b"replaced"
    store.delete("originals/a/v1")
    with pytest.raises(NotFound):
        store.size("originals/a/v1")
    with pytest.raises(NotFound):
        store.get("originals/a/v1")
    store.delete("originals/a/v1")  # deleting an absent name is not an error


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "originals/../../../../etc/passwd",
        "/etc/passwd",
        "..",
        "originals/..\\..\\windows",
        "a/./b/../../../c",
        "x" * 4000,  # longer than any file name the disk allows
        "nul\x00byte",
    ],
)
def test_traversal_looking_names_stay_inside_the_data_folder(tmp_path, store, name):
    outside_before = all_files(tmp_path)
    store.put(name, b"payload", "image/png")
    path = os.path.realpath(store.path(name))
    assert os.path.commonpath([path, os.path.realpath(store.root)]) == os.path.realpath(store.root)
    assert store.get(name) == b"payload"
    new_files = set(all_files(tmp_path)) - set(outside_before)
    assert len(new_files) == 1
    assert all(f.startswith(store.root + os.sep) for f in new_files)


def test_similar_names_do_not_collide(store):
    names = ["a", "A", "a/b", "a_b", "a-b", "a.b", "ab", "a/b/c", "a/B"]
    for i, name in enumerate(names):
        store.put(name, f"value {i}".encode(), "image/png")
    assert [store.get(name) for name in names] == [f"value {i}".encode() for i in range(len(names))]
    assert len({store.path(name).lower() for name in names}) == len(names)  # even on a case-insensitive disk


def test_put_leaves_no_temporary_files(store):
    for i in range(20):
        store.put(f"originals/k{i % 3}/v", os.urandom(1000), "image/png")
    files = all_files(store.root)
    assert len(files) == 3
    assert not [f for f in files if os.path.basename(f).startswith(".tmp-")]


def test_a_failed_write_keeps_the_old_bytes_and_removes_its_temporary_file(store, monkeypatch):
    store.put("originals/a/v", b"old", "image/png")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.put("originals/a/v", b"new", "image/png")
    monkeypatch.undo()
    assert store.get("originals/a/v") == b"old"
    assert len(all_files(store.root)) == 1


def test_readers_never_see_a_partial_write(store):
    """Concurrent readers see either the old or the new bytes, never a mixture or nothing."""
    old, new = b"o" * 2_000_000, b"n" * 2_000_000
    store.put("big", old, "image/png")
    seen: set[bytes] = set()
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            data = store.get("big")
            seen.add(data[:1] + data[-1:] + str(len(data)).encode())

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(10):
        store.put("big", new if i % 2 == 0 else old, "image/png")
    stop.set()
    thread.join()
    assert seen <= {b"oo2000000", b"nn2000000"}


def test_factory_puts_blobs_under_the_data_dir(tmp_path):
    settings = load_settings({"GALLERY_STORAGE": "local", "GALLERY_DATA_DIR": str(tmp_path / "d")}, environ={})
    store = create_blob_store(settings, str(tmp_path))
    store.put("x", b"1", "image/png")
    assert all_files(tmp_path / "d")
    default = create_blob_store(load_settings({"GALLERY_STORAGE": "local"}, environ={}), str(tmp_path / "inst"))
    default.put("x", b"1", "image/png")
    assert all_files(tmp_path / "inst" / "data")


def test_upload_with_a_traversal_key_creates_nothing(api, gallery, tmp_path):
    before = all_files(tmp_path)
    response = api.upload("../../etc/passwd", b"not even an image")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_key"
    assert all_files(tmp_path) == before
    assert gallery.metadata.count() == 0


def test_keys_that_differ_only_in_case_or_nesting_are_separate_images(api, client):
    from conftest import make_image

    bodies = {key: make_image("PNG", size=(8 + i, 8)) for i, key in enumerate(["a", "A", "a/b", "..a/b.."])}
    for key, data in bodies.items():
        assert api.upload(key, data).status_code == 201
    for key, data in bodies.items():
        assert client.get(f"/images/{key}").data == data
