"""Smart album benchmark: an album's page costs what the same search costs (issue 20).

Run: .venv/bin/python bench/albums.py [--records 1000000] [--repeat 50] [--members 1000]

SQLite holds ``--records`` records like bench/search.py's (folders, camera names, people, labels),
1 in 100 a favourite. Each smart album saves one of the gallery's filters; the bench times
``GET /api/images?<filters>`` against ``GET /api/images?album=<id>`` and the gallery page against
the album's page, as server time (the WSGI app called with a prepared environ, its body consumed),
median of ``--repeat``. Target: every smart album ≤ 1.2× its search, API and page. A plain album of
``--members`` photos is timed too (no target: it reads its members, not a search).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import statistics  # noqa: E402

from search import Server, median_ms, records  # noqa: E402

from app import create_app  # noqa: E402

TARGET = 1.2
FILTERS = [
    ("label", {"label": "cat"}),
    ("name", {"q": "katherine"}),
    ("word + prefix + label", {"q": "img", "prefix": "holidays/", "label": "pet"}),
    ("favourites", {"favourite": "1"}),
    ("favourites taken in 2 days", {"favourite": "1", "taken_from": "{from}", "taken_to": "{to}"}),
]


def seed(app, n: int) -> list[str]:
    """``n`` records in one transaction (as ``put`` writes them, with their index rows)."""
    store = app.extensions["services"].metadata
    started = time.perf_counter()
    keys = []
    with store._write() as db:
        for i, record in enumerate(records(n)):
            record.favourite = i % 100 == 7
            record.lineage = record.version
            store._set_current(db, record)
            keys.append(record.key)
    print(f"SQLite: {store.count():,} records written in {time.perf_counter() - started:.1f} s")
    return keys


def paired(first, second, repeat: int) -> tuple[float, float]:
    """Medians of two calls timed in turns, so a busy moment of the machine hits both alike."""
    first(), second()  # warm: the pages' templates compiled, the database's pages cached
    times: tuple[list, list] = ([], [])
    for _ in range(repeat):
        for fn, into in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            fn()
            into.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def run(n: int, repeat: int, members: int) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"GALLERY_DATA_DIR": tmp, "SECRET_KEY": "bench", "GALLERY_LABEL_ON_UPLOAD": False})
        keys = seed(app, n)
        services, server = app.extensions["services"], Server(app)
        days = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 2 * 86400)), time.strftime("%Y-%m-%d")
        print(f"\n{n:,} images, median of {repeat} (ms):")
        print(
            f"  {'filter':30}{'search API':>11}{'album API':>11}{'ratio':>7}{'gallery':>9}{'album page':>12}{'ratio':>7}"
        )
        ok = True
        for name, filters in FILTERS:
            filters = {k: v.format(**{"from": days[0], "to": days[1]}) for k, v in filters.items()}
            album = services.albums.create(f"Smart {name}", query=filters)
            search_api, album_api = paired(
                lambda f=filters: server.get("/api/images", {**f, "limit": 48}),
                lambda a=album: server.get("/api/images", {"album": a.id, "limit": 48}),
                repeat,
            )
            gallery, page = paired(
                lambda f=filters: server.get("/gallery", f), lambda a=album: server.get(f"/albums/{a.id}", {}), repeat
            )
            api_ratio, page_ratio = album_api / search_api, page / gallery
            ok &= api_ratio <= TARGET and page_ratio <= TARGET
            print(
                f"  {name:30}{search_api:>11.2f}{album_api:>11.2f}{api_ratio:>7.2f}"
                f"{gallery:>9.2f}{page:>12.2f}{page_ratio:>7.2f}"
            )
        plain = services.albums.create("Plain")
        services.albums.add(plain.id, random.Random(20).sample(keys, members)[:1000])
        for sort in ("taken", "manual"):
            services.albums.update(plain.id, sort=sort)
            ms = median_ms(lambda: server.get("/api/images", {"album": plain.id, "limit": 48}), repeat)
            print(f"  plain album of {min(members, 1000):,}, {sort} order: API {ms:.2f} ms")
        print(f"every smart album <= {TARGET}x its search: {'yes' if ok else 'NO'}")
        return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--members", type=int, default=1000)
    args = parser.parse_args()
    sys.exit(0 if run(args.records, args.repeat, args.members) else 1)


if __name__ == "__main__":
    main()
