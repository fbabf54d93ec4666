"""``flask --app wsgi gallery import DIR``: keys from relative paths, duplicates by content,
a run stopped with ``kill -9`` and started again, and the key mapping it uses."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import Api, make_app
from PIL import Image

from app.core.keys import is_valid_key, key_from_path
from app.services.importer import _renamed, scan

ROOT = Path(__file__).resolve().parents[1]


def photo(n: int, size=(320, 240)) -> bytes:
    """A distinct JPEG per ``n``: coarse noise blown up, smooth like a photo and quick to code."""
    pixels = np.random.default_rng(n).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).resize(size, Image.Resampling.BICUBIC).save(out, "JPEG", quality=80)
    return out.getvalue()


def tree(root: Path, layout: dict[str, int]) -> Path:
    """Files at relative paths, each the photo numbered by its value (equal numbers: equal bytes)."""
    for relative, n in layout.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(photo(n) if n >= 0 else b"not an image at all")
    return root


def sha(n: int) -> str:
    return hashlib.sha256(photo(n)).hexdigest()


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("cam1/IMG_0001.JPG", "cam1/IMG_0001.JPG"),
        ("Trip 2019/Café au lait.jpg", "Trip-2019/Cafe-au-lait.jpg"),
        ("a\\b\\c.png", "a/b/c.png"),
        ("my photo (1).jpeg", "my-photo-1.jpeg"),
        (".hidden/x.jpg", "hidden/x.jpg"),
    ],
)
def test_keys_keep_folders_and_map_other_characters_readably(path, key):
    assert key_from_path(path) == key


def test_a_name_with_nothing_readable_gets_a_stable_distinct_name():
    first, second = key_from_path("日本/写真.jpg"), key_from_path("日本/風景.jpg")
    assert first != second and first.endswith(".jpg") and first.count("/") == 1
    assert is_valid_key(first) and key_from_path("日本/写真.jpg") == first


def test_keep_both_names_count_as_the_same_key():
    assert _renamed("cam/IMG-2.jpg", "cam/IMG.jpg") and _renamed("cam/IMG-13.jpg", "cam/IMG.jpg")
    assert not _renamed("cam/IMG-x.jpg", "cam/IMG.jpg") and not _renamed("cam/IMG.jpg", "cam/IMG.jpg")


def test_scan_skips_hidden_and_other_files_and_applies_the_prefix(tmp_path):
    tree(tmp_path / "lib", {"b/2.jpg": 1, "a/1.jpg": 2, ".thumbs/x.jpg": 3, "a/.DS_Store.jpg": 4})
    (tmp_path / "lib" / "a" / "clip.mov").write_bytes(b"video")
    files, other = scan(tmp_path / "lib", "imports/2019/")
    assert [f.key for f in files] == ["imports/2019/a/1.jpg", "imports/2019/b/2.jpg"]
    assert [f.relative for f in files] == ["a/1.jpg", "b/2.jpg"] and other == 1


def run_import(app, *args):
    return app.test_cli_runner().invoke(args=["gallery", "import", *map(str, args)])


def test_import_keeps_paths_skips_duplicates_and_reports(tmp_path):
    app = make_app(tmp_path)
    gallery = app.extensions["services"]
    assert Api(app.test_client()).upload("earlier.jpg", photo(9), "earlier.jpg").status_code == 201
    assert Api(app.test_client()).upload("cam1/IMG_0003.jpg", photo(8), "x.jpg").status_code == 201  # other bytes
    library = tree(
        tmp_path / "lib",
        {
            "cam1/IMG_0001.jpg": 1,
            "cam1/IMG_0002.jpg": 2,
            "cam1/IMG_0003.jpg": 3,  # its key holds other bytes: kept beside them
            "cam2/IMG_0001.jpg": 1,  # the same photo as cam1's
            "cam2/old.jpg": 9,  # already in the gallery
            "cam2/broken.jpg": -1,
        },
    )
    result = run_import(app, library, "--no-labels", "--jobs", "2")
    assert result.exit_code == 1, result.output  # one failed
    out = result.output
    assert "stored 3, already imported 0, skipped as duplicate 2, failed 1" in out
    assert "duplicate: cam2/IMG_0001.jpg is already in the gallery as cam1/IMG_0001.jpg" in out
    assert "duplicate: cam2/old.jpg is already in the gallery as earlier.jpg" in out
    assert "failed: cam2/broken.jpg: " in out and "not a supported image" in out
    metadata = gallery.metadata
    assert metadata.get("cam1/IMG_0001.jpg").sha256 == sha(1)
    assert metadata.get("cam1/IMG_0003.jpg").sha256 == sha(8)  # nothing replaced
    assert metadata.get("cam1/IMG_0003-2.jpg").sha256 == sha(3)
    assert metadata.get("cam2/IMG_0001.jpg") is None and metadata.count() == 5
    assert not metadata.get("cam1/IMG_0002.jpg").labelled  # --no-labels: left to `gallery label --missing`

    again = run_import(app, library, "--no-labels")
    assert "stored 0, already imported 3, skipped as duplicate 2, failed 1" in again.output
    assert metadata.count() == 5


def test_import_under_a_prefix_refuses_a_bad_prefix(tmp_path):
    app = make_app(tmp_path)
    library = tree(tmp_path / "lib", {"x.jpg": 1})
    bad = run_import(app, library, "--prefix", "a b?")
    assert bad.exit_code == 2 and "--prefix" in bad.output and app.extensions["services"].metadata.count() == 0
    good = run_import(app, library, "--prefix", "imports/", "--no-labels")
    assert good.exit_code == 0, good.output
    assert app.extensions["services"].metadata.get("imports/x.jpg").sha256 == sha(1)


def test_import_follows_the_configured_labelling(tmp_path, monkeypatch):
    app = make_app(tmp_path, GALLERY_LABEL_ON_UPLOAD=True)
    gallery = app.extensions["services"]
    monkeypatch.setattr(gallery.library, "labeller", lambda data: ["dog"])  # the model is tested elsewhere
    assert run_import(app, tree(tmp_path / "lib", {"a.jpg": 1}), "--jobs", "1").exit_code == 0
    record = gallery.metadata.get("a.jpg")
    assert record.labelled and record.labels == ["dog"]


def stored_count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as connection:
            return connection.execute("SELECT COUNT(*) FROM images").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_an_import_killed_midway_and_run_again_stores_every_photo_once(tmp_path):
    distinct = 16
    layout = {f"cam1/IMG_{n:04d}.jpg": n for n in range(distinct)}
    layout |= {f"cam2/copy of {n}.jpg": n for n in range(0, distinct, 4)}  # 4 duplicates inside the tree
    library = tmp_path / "lib"
    for relative, n in layout.items():  # bigger photos, so the kill lands midway
        path = library / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(photo(n, (1600, 1200)))
    data = tmp_path / "data"
    env = {
        **os.environ,
        "GALLERY_DATA_DIR": str(data),
        "GALLERY_LABEL_ON_UPLOAD": "false",
        "SECRET_KEY": "test-secret",
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "gallery", "import", str(library), "--jobs", "1"]
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while stored_count(data / "gallery.sqlite3") < 3 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    first.stdout.close()
    interrupted = stored_count(data / "gallery.sqlite3")
    assert 3 <= interrupted < distinct, "the first run should have been stopped midway"

    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"stored {distinct - interrupted}, already imported {interrupted}, skipped as duplicate 4" in second.stdout
    for n in range(0, distinct, 4):
        assert f"duplicate: cam2/copy of {n}.jpg is already in the gallery as cam1/IMG_{n:04d}.jpg" in second.stdout
    with sqlite3.connect(data / "gallery.sqlite3") as connection:
        rows = connection.execute("SELECT key, json_extract(record, '$.sha256') FROM images").fetchall()
    assert dict(rows) == {f"cam1/IMG_{n:04d}.jpg": sha_of(library / f"cam1/IMG_{n:04d}.jpg") for n in range(distinct)}
    shutil.rmtree(library)


def sha_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_import_with_two_jobs_runs_two_photos_at_once(tmp_path):
    """The import is its pool's one client and may hold every worker (a pool's default admits one
    piece of work per client at a time, which ran --jobs 2 one photo at a time)."""
    from concurrent.futures import ThreadPoolExecutor

    from app.services.importer import make_importer

    app = make_app(tmp_path)
    importer = make_importer(app.extensions["services"], app.extensions["settings"], 2, labels=False)
    queue = importer.library.work.pool.queue
    try:
        # One photo in a worker: a second one gets the other worker at once.
        with queue.turn(None, 1.0), ThreadPoolExecutor(1) as other:
            started = time.monotonic()
            other.submit(lambda: queue.turn(None, 1.0).__enter__()).result(timeout=5)
            assert time.monotonic() - started < 1
    finally:
        importer.close()
