"""Scale benchmark: every page at N photos against the same page at 10,000 (issue 19 points 1-2).

Run: .venv/bin/python bench/scale.py --records 1000000 [--repeat 7] [--keep DIR]

Builds a library of N realistic records with the metadata store's bulk write (``put_many``):
camera dumps and events in dated folders, camera names (EXIF model), 0-3 label groups, dates
taken with a share of undated photos, some keys replaced a few times (version history) and
some deleted (trash). Records only: pages link thumbnails but never read them, so no blob is
written. Each route is timed as server time (the WSGI app called with a prepared environ and
its whole body consumed, as in bench/gallery.py), median of ``--repeat``, on the big library
and on a 10,000-record one built the same way, with the ratio. Targets: every route <= 50 ms
at N and <= 2x its time at 10,000; the library builds in <= 5 minutes at 1,000,000.

``--keep DIR`` builds the big library in DIR and leaves it there, so the app can be started on
it (``GALLERY_DATA_DIR=DIR make run``); without it everything goes in a temporary folder.

``--only write --records 200000`` measures the bulk write alone: ``put_many`` of that many records
into an empty store (a first load) and of a tenth more into the filled one, against one ``put``
per record for ``--baseline`` records (2,000), with the ratio; records are made before the clock
starts. Target: ``put_many`` >= 20,000 records/s on SQLite. Each figure is given per CPU second
too, with the machine's load: the machine is shared, and the wall clock moves with its load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from werkzeug.test import EnvironBuilder

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "tests")]

from app import create_app  # noqa: E402
from app.metadata.base import ImageRecord  # noqa: E402
from app.metadata.sqlite import SqliteMetadataStore  # noqa: E402

SMALL = 10_000
NAMES = ["katherine", "oliver", "amelia", "noah", "isla", "leo", "grandma", "max", "sophie", "jack"]
EVENTS = ["holidays", "birthday", "wedding", "garden", "pets", "trips", "school", "work", "misc", "christmas"]
CAMERAS = [  # (make, model, file name pattern)
    ("Canon", "Canon EOS 5D Mark IV", "IMG_{:04d}.JPG"),
    ("Apple", "iPhone 13 Pro", "IMG_{:04d}.HEIC"),
    ("NIKON CORPORATION", "NIKON D750", "DSC_{:04d}.JPG"),
    ("SONY", "ILCE-7M3", "DSC{:05d}.ARW.jpg"),
    ("FUJIFILM", "X-T4", "DSCF{:04d}.JPG"),
    ("samsung", "Galaxy S21", "{:08d}_120000.jpg"),
    ("Panasonic", "DMC-GH4", "P10{:05d}.JPG"),
]
LABELS = [
    ["dog", "pet", "mammal", "animal"],
    ["cat", "pet", "mammal", "animal"],
    ["person"],
    ["car", "motor vehicle", "vehicle", "transportation"],
    ["horse", "mammal", "animal"],
    ["bicycle", "vehicle", "transportation"],
    ["potted plant", "plant"],
    ["teddy bear", "toy"],
    ["bird", "animal"],
    ["boat", "vehicle"],
]
UNDATED = 0.12  # share of photos without a date taken (scans, screenshots, stripped EXIF)
REPLACED = 0.02  # share of keys replaced 1-3 times (their earlier versions are the history)
TRASHED = 0.005  # share of keys deleted into the trash
YEAR = 365.25 * 86400


def library(n: int, seed: int = 19) -> Iterator[ImageRecord]:
    """``n`` current records (and the earlier versions of replaced ones, just before them)."""
    rng = random.Random(seed)
    now = time.time()
    first_taken = 1_104_537_600.0  # 2005-01-01
    i = 0
    while i < n:
        # A folder of one event or dump: same camera, same day, a run of numbered files.
        make, model, pattern = rng.choice(CAMERAS)
        taken_day = first_taken + rng.random() * (now - first_taken - 86400)
        year = time.gmtime(taken_day).tm_year
        folder = f"{year}/{rng.choice(EVENTS)}-{rng.choice(NAMES)}-{rng.randrange(1000):03d}"
        start = rng.randrange(10_000)
        uploaded = now - rng.random() * 3 * YEAR
        for j in range(min(rng.randint(20, max(20, min(400, n // 50))), n - i)):  # a small library: small folders
            labels = sorted({label for group in rng.sample(LABELS, rng.choice((0, 1, 1, 1, 2, 3))) for label in group})
            undated = rng.random() < UNDATED
            taken = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(taken_day + j * 37))
            record = ImageRecord(
                key=f"{folder}/{pattern.format(start + j)}",
                content_type="image/jpeg",
                bytes=rng.randint(1_500_000, 9_000_000),
                width=4000,
                height=3000,
                sha256=f"{i:064x}",
                created_at=uploaded + j,
                updated_at=uploaded + j,
                version=f"{seed:04x}{i:028x}",
                thumb_width=360,
                thumb_height=270,
                labels=labels,
                labelled=rng.random() > 0.01,
                taken_at=None if undated else taken,
                exif={} if undated else {"make": make, "model": model, "width": 4000, "height": 3000},
            )
            if rng.random() < REPLACED:
                for k in range(rng.randint(1, 3)):  # earlier versions, replaced by the next
                    older = ImageRecord.from_dict(record.to_dict())
                    older.version = f"{seed:04x}{i:026x}{k:02x}"
                    older.updated_at = record.updated_at - (3 - k) * 3600
                    older.bytes = rng.randint(1_500_000, 9_000_000)
                    yield older
            yield record
            i += 1


class Timed:
    """The items of an iterable, counted, with the time spent making them (so a consumer's time
    can be told apart from its source's)."""

    def __init__(self, items):
        self._items = iter(items)
        self.count = 0
        self.seconds = 0.0

    def __iter__(self):
        return self

    def __next__(self):
        started = time.perf_counter()
        try:
            item = next(self._items)
        finally:
            self.seconds += time.perf_counter() - started
        self.count += 1
        return item


def build(data_dir: str, n: int) -> tuple[object, dict]:
    """An app on ``data_dir`` holding a library of ``n`` records; returns it with build figures."""
    app = create_app({"GALLERY_DATA_DIR": data_dir, "SECRET_KEY": "bench", "GALLERY_LABEL_ON_UPLOAD": False})
    services = app.extensions["services"]
    store = services.metadata
    if store.count():  # a kept library (--keep): measured as it is
        return app, {"records": store.count(), "seconds": 0.0, "reused": True}
    started = time.perf_counter()
    keep = services.retention.keep_until()
    source = Timed(library(n))
    store.put_many(source, keep_until=keep)
    wrote = time.perf_counter() - started - source.seconds
    deleting = time.perf_counter()
    rng = random.Random(7)
    doomed = []
    after = None
    while len(doomed) < n * TRASHED:  # delete a spread of keys (the newest ones, a page at a time)
        items, after = store.list(limit=500, after=after)
        doomed += [r.key for r in items if rng.random() < 0.2]
        if after is None:
            break
    for key in doomed[: int(n * TRASHED)]:
        store.delete(key, trash_until=keep)
    seconds = time.perf_counter() - started
    return app, {
        "records": store.count(),
        "seconds": seconds,
        "written": source.count,
        "put_many_seconds": wrote,
        "put_many_per_s": source.count / wrote,
        "generating": source.seconds,
        "trashed": min(len(doomed), int(n * TRASHED)),
        "deleting": time.perf_counter() - deleting,
        "reused": False,
    }


def load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def write_only(n: int, baseline: int) -> None:
    """``put_many`` of ``n`` records (made before the clock starts) into an empty store, then of a
    tenth more into the filled one, against one ``put`` per record for ``baseline`` records."""
    keep = time.time() + 30 * 86400
    first, more, single = list(library(n)), list(library(n // 10, seed=23)), list(library(baseline, seed=29))
    print(f"put_many against put, SQLite ({load()} on {os.cpu_count()} cores):")
    with tempfile.TemporaryDirectory() as tmp:
        rates = {}
        bulk = SqliteMetadataStore(os.path.join(tmp, "bulk.sqlite3"))
        for name, records in ((f"put_many, first load of {n:,}", first), (f"put_many, {n // 10:,} more", more)):
            started, cpu = time.perf_counter(), time.process_time()
            bulk.put_many(records, keep_until=keep)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            rates[name] = len(records) / seconds
            print(
                f"  {name:34}{len(records):>10,} records {seconds:7.1f} s {rates[name]:>9,.0f} records/s"
                f" (CPU {cpu:.1f} s: {len(records) / cpu:,.0f} per CPU second)"
            )
        one = SqliteMetadataStore(os.path.join(tmp, "one.sqlite3"))
        started, cpu = time.perf_counter(), time.process_time()
        for record in single:
            one.put(record, keep_until=keep)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        base = len(single) / seconds
        print(
            f"  {'put, one at a time':34}{len(single):>10,} records {seconds:7.1f} s {base:>9,.0f} records/s"
            f" (CPU {cpu:.1f} s: {len(single) / cpu:,.0f} per CPU second)"
        )
    for name, rate in rates.items():
        print(f"  {name}: {rate / base:.1f}x put")
    print(f"  ({load()} at the end)")


class Server:
    def __init__(self, app):
        self.app = app

    def get(self, path: str, query: dict | None = None) -> tuple[int, bytes]:
        environ = EnvironBuilder(path=path, query_string=query or {}).get_environ()
        status = []
        body = b"".join(self.app.wsgi_app(environ, lambda s, h, exc_info=None: status.append(s)))
        return int(status[0].split()[0]), body


def routes(app) -> list[tuple[str, str, dict]]:
    """(name, path, query) of every page the targets name, found in this library."""
    services = app.extensions["services"]
    _, cursor = services.catalog.list(limit=services.catalog.page_size)
    newest = services.metadata.list(limit=1)[0]
    partial = newest[0].key.rsplit("/", 1)[0] + "/" if newest else "2020/"  # a folder typed: 20+ matches
    history_key, after = "", None
    while not history_key:  # a key with a version history: one of the first pages holds one
        items, after = services.metadata.list(limit=500, after=after)
        history_key = next((r.key for r in items if services.metadata.versions(r.key)), "")
        if after is None:
            break
    return [
        ("gallery, first page", "/gallery", {}),
        ("gallery, next page", "/gallery", {"cursor": cursor}),
        ("API list, first page", "/api/images", {}),
        ("search: common word (img)", "/gallery", {"q": "img"}),
        ("search: prefix (kath)", "/gallery", {"q": "kath"}),
        ("search: two words (birthday dog)", "/gallery", {"q": "birthday dog"}),
        ("search: no match (zebra)", "/gallery", {"q": "zebra"}),
        ("label filter (horse)", "/gallery", {"label": "horse"}),
        ("sorted by date taken", "/gallery", {"sort": "taken"}),
        ("search sorted by date taken (img)", "/gallery", {"q": "img", "sort": "taken"}),
        ("Browse, partial key", "/browse", {"key": partial}),
        ("trash", "/trash", {}),
        ("version history (Browse)", "/browse", {"key": history_key}),
        ("version history (API)", f"/api/images/{history_key}/versions", {}),
        ("status page", "/cache", {}),
    ]


def median_ms(server: Server, path: str, query: dict, repeat: int) -> float:
    status, _ = server.get(path, query)
    assert status == 200, (path, query, status)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        server.get(path, query)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(app, repeat: int) -> dict[str, float]:
    server = Server(app)
    return {name: median_ms(server, path, query, repeat) for name, path, query in routes(app)}


class ItemMeter:
    """Items each DynamoDB call reads and writes, counted with botocore's event hooks: a Query's
    ``ScannedCount`` (what it reads, and what DynamoDB bills) and its read bytes, items got by
    GetItem/BatchGetItem, items written by each kind of write."""

    def __init__(self, client):
        self.reset()
        client.meta.events.register("before-parameter-build.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def reset(self) -> None:
        self.read = self.returned_by_queries = self.written = self.pairs = self.calls = self.scans = 0
        self.read_units = self.write_units = 0.0

    def _before(self, model, params, **_):
        self.calls += 1
        name = model.name
        if name == "TransactWriteItems":
            self.written += len(params["TransactItems"])
            self.write_units += 2 * sum(_units(a, 1024) for a in params["TransactItems"])  # 2x: transactional
        elif name == "BatchWriteItem":
            requests = [r for reqs in params["RequestItems"].values() for r in reqs]
            self.written += len(requests)
            self.pairs += sum(  # word-pair items (put or deleted), written after the transaction
                (r.get("PutRequest", {}).get("Item") or r.get("DeleteRequest", {}).get("Key"))["pk"]["S"].startswith(
                    "pair#"
                )
                for r in requests
            )
            self.write_units += sum(_units(r, 1024) for r in requests)
        elif name in ("PutItem", "UpdateItem", "DeleteItem"):
            self.written += 1
            self.write_units += _units(params, 1024)
        elif name == "Scan":
            self.scans += 1

    def _after(self, model, parsed, **_):
        name = model.name
        if name in ("Query", "Scan"):
            self.read += parsed.get("ScannedCount", 0)
            self.returned_by_queries += parsed.get("Count", 0)
            self.read_units += _units(parsed.get("Items", []), 4096) / 2  # eventually consistent
        elif name == "GetItem":
            self.read += 1
            self.read_units += max(1.0, _units(parsed.get("Item", {}), 4096))  # strongly consistent
        elif name == "BatchGetItem":
            items = [i for found in parsed.get("Responses", {}).values() for i in found]
            self.read += len(items)
            self.read_units += sum(max(1.0, _units(i, 4096)) / 2 for i in items)


def _units(value, unit: int) -> float:
    """Capacity units of ``value`` (its JSON size stands for DynamoDB's item size), rounded up per item."""
    size = len(json.dumps(value, default=str))
    return float(-(-size // unit))


# The key of the bench's single upload: like the library's, so its word pairs are a typical photo's.
UPLOADED = "2024/birthday-katherine-001/IMG_0001.JPG"


def dynamodb_run(n: int) -> None:
    """The same routes on DynamoDB (moto, in process): items read per request against items shown,
    and the items and capacity units of an upload; moto's times say nothing about AWS."""
    from moto import mock_aws  # noqa: PLC0415 - the SQLite run does without it

    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    # moto deep-copies the whole table once per action of every transaction, to roll back: with the
    # word pairs the 1,000-record table holds ~70,000 items, and the bench's transactions took
    # gigabytes. The test server's fix (checks first, copies nothing) serves here too.
    from moto_speedups import back_up_only_transactions_that_fail  # noqa: PLC0415 - tests/, as bench/cache.py uses

    back_up_only_transactions_that_fail(setattr)
    with mock_aws(), tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "GALLERY_DATA_DIR": tmp,
                "SECRET_KEY": "bench",
                "GALLERY_METADATA": "dynamodb",
                "GALLERY_DYNAMODB_TABLE": "bench",
                "GALLERY_LABEL_ON_UPLOAD": False,
                "GALLERY_WORK_PROCESSES": 0,
            }
        )
        services = app.extensions["services"]
        store = services.metadata
        store.provision(wait=False)
        meter = ItemMeter(store.client)
        started = time.perf_counter()
        store.put_many(library(n), keep_until=services.retention.keep_until())
        print(
            f"\nDynamoDB (moto): {store.count():,} records, bulk write: {meter.written / n:.1f} items "
            f"and {meter.write_units / n:.1f} write units per record, of which {meter.pairs / n:.1f} word-pair items "
            f"({time.perf_counter() - started:.0f} s on moto)"
        )
        for key in [r.key for r in store.list(limit=40)[0][::8]]:
            store.delete(key, trash_until=services.retention.keep_until())
        server = Server(app)
        print("  Items read per request (a Query's ScannedCount, items got); listing: the records query alone")
        print(f"  {'route':36}{'shown':>7}{'listing':>9}{'page':>7}{'calls':>7}{'page RCU':>10}")
        for name, path, query in routes(app):
            shown, listing = "", ""
            if path == "/gallery":  # the same listing through the API: what it shows and reads
                meter.reset()
                status, body = server.get("/api/images", {**query, "limit": 48})
                assert status == 200, (name, status)
                shown, listing = len(json.loads(body)["items"]), meter.read
            meter.reset()
            status, body = server.get(path, query)
            assert status == 200, (name, status)
            if path.startswith("/api/"):
                shown, listing = len(json.loads(body)["items"]), meter.read
            print(
                f"  {name:36}{shown:>7}{listing:>9}{meter.read:>7}{meter.calls:>7}{meter.read_units:>10.1f}"
                f"{'  SCAN' if meter.scans else ''}"
            )
        photo = Path(__file__).resolve().parents[1] / "tests" / "data" / "dog.jpg"
        data = photo.read_bytes()
        for label, action in (
            ("upload (new key)", lambda: services.library.upload(UPLOADED, data)),
            ("upload (replacement, kept)", lambda: services.library.upload(UPLOADED, data)),
            ("delete (to the trash)", lambda: services.library.delete(UPLOADED)),
        ):
            meter.reset()
            action()
            print(
                f"  {label:36} wrote {meter.written} items ({meter.pairs} word pairs), {meter.write_units:.0f} WCU; "
                f"read {meter.read} items, {meter.read_units:.1f} RCU; {meter.calls} calls"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", metavar="DIR", help="build the big library here and leave it")
    parser.add_argument(
        "--dynamodb", type=int, default=0, metavar="N", help="also count DynamoDB's items per route on moto"
    )
    parser.add_argument("--only-dynamodb", action="store_true", help="skip the SQLite run")
    parser.add_argument(
        "--only", choices=["write"], help="write: only put_many of --records against one put per record"
    )
    parser.add_argument("--baseline", type=int, default=2000, help="records put one at a time (--only write)")
    args = parser.parse_args()
    if args.only == "write":
        write_only(args.records, args.baseline)
        return 0
    if args.dynamodb:
        dynamodb_run(args.dynamodb)
    if args.only_dynamodb:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        big_dir = os.path.abspath(args.keep) if args.keep else os.path.join(tmp, "big")
        big, built = build(big_dir, args.records)
        if built["reused"]:
            print(f"N = {built['records']:,} records (reused from {big_dir})")
        else:
            print(
                f"N = {built['records']:,} current records built in {built['seconds']:.1f} s: put_many of "
                f"{built['written']:,} records {built['put_many_seconds']:.1f} s ({built['put_many_per_s']:,.0f} "
                f"records/s), making them {built['generating']:.1f} s, {built['trashed']:,} deletes "
                f"{built['deleting']:.1f} s ({load()})\n  usage {big.extensions['services'].metadata.usage()}"
            )
        small, _ = build(os.path.join(tmp, "small"), SMALL)
        at_n, at_small = measure(big, args.repeat), measure(small, args.repeat)
    print(f"\nServer time, median of {args.repeat} (ms):")
    print(f"  {'route':36}{f'{args.records:,}':>12}{f'{SMALL:,}':>10}{'ratio':>8}")
    ok = True
    for name, ms in at_n.items():
        ratio = ms / at_small[name]
        # Sub-millisecond differences are noise, not growth: the ratio counts from 2 ms up.
        fine = ms <= 50 and (ratio <= 2 or ms <= 2)
        ok &= fine
        print(f"  {name:36}{ms:>12.2f}{at_small[name]:>10.2f}{ratio:>8.2f}{'' if fine else '  <-- over target'}")
    print(f"\n{'every route within target' if ok else 'SOME ROUTES OVER TARGET'} (<= 50 ms at N, <= 2x at {SMALL:,})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
