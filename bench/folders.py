"""Folder benchmark: the folder view at 1,000,000 photos on SQLite.

Run: .venv/bin/python bench/folders.py [--photos 1000000]

The library is an imported one: 100 top folders of 100 sub-folders of 100 photos each (at the
default size). Rows are written in bulk with the store's own folder counting (``count_photo``),
as uploads would leave them. Each figure is the median of 5 calls: the sub-folders of the top
and of one folder with their counts, one folder's count, a page of the photos directly in a
folder, and the whole ``Folders.view`` a page renders (covers included). For comparison, counting
one top folder's photos from the images table (what the kept counts avoid).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.cursors import CursorCodec  # noqa: E402
from app.metadata.base import ImageRecord  # noqa: E402
from app.metadata.sqlite import SqliteMetadataStore  # noqa: E402
from app.metadata.sqlite.folders import count_photo  # noqa: E402
from app.services.folders import Folders  # noqa: E402


class JustMetadata:
    def __init__(self, metadata):
        self.metadata = metadata


def fill(store: SqliteMetadataStore, photos: int) -> None:
    per = max(1, round(photos ** (1 / 3)))
    with store._write() as db:
        rows = []
        for n in range(photos):
            key = f"f{n // (per * per):03d}/s{n // per % per:03d}/IMG_{n:07d}.jpg"
            record = ImageRecord(key, "image/jpeg", 1000, 40, 30, "0" * 64, n, n, version=f"v{n}", lineage=f"l{n}")
            rows.append((key, float(n), float(n), json.dumps(record.to_dict())))
            count_photo(db, key, 1)
            if len(rows) == 50_000:
                db.executemany("INSERT INTO images (key, updated_at, taken, record) VALUES (?, ?, ?, ?)", rows)
                rows = []
        db.executemany("INSERT INTO images (key, updated_at, taken, record) VALUES (?, ?, ?, ?)", rows)


def count_each(store: SqliteMetadataStore, parent: str, limit: int) -> list[int]:
    """What the top's counts would cost without the kept counts: a range count per sub-folder."""
    db = store._connect()
    sql = "SELECT COUNT(*) FROM images WHERE key >= ? AND key < ?"
    return [db.execute(sql, (f.path, f.path + "\U0010ffff")).fetchone()[0] for f in store.folders(parent, limit)[0]]


def median_ms(call, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteMetadataStore(str(Path(folder) / "bench.db"))
        start = time.perf_counter()
        fill(store, args.photos)
        print(f"{args.photos:,} photos written with their folder counts in {time.perf_counter() - start:.0f} s")
        folders = Folders(JustMetadata(store), CursorCodec("bench"), 48)
        figures = {
            "sub-folders of the top, with counts": lambda: store.folders("", 120),
            "sub-folders of f050/, with counts": lambda: store.folders("f050/", 120),
            "count of f050/": lambda: store.get_folder("f050/"),
            "48 photos directly in f050/s050/": lambda: store.folder_images("f050/s050/", 48),
            "Folders.view('f050/') (covers included)": lambda: folders.view("f050/"),
            "for comparison: every top folder counted from images": lambda: count_each(store, "", 120),
        }
        for name, call in figures.items():
            print(f"{median_ms(call):8.2f} ms  {name}")


if __name__ == "__main__":
    main()
