"""20 concurrent writers on DynamoDB (a moto server): what the layout's shared keys receive.

Every upload is one transaction that writes the image item, which the ``newest`` index files
under one shard of the feed (``feed = "images"``, ``"images#1"`` ... ``"images#7"`` by a hash of
the key, sort key ``<updated_at>#<key>``), and adds to one shard of the counter ``count#images#n``.
Each shard takes an eighth of the uploads, and the busiest shard sets the ceiling of the whole
gallery's upload rate: DynamoDB gives one partition (one key's worth of an index, or one item) at
most 1,000 write units a second, a transactional write costs 2 units per KB and an index write
1 unit per KB. moto serialises requests and never reports transaction
conflicts, so the bench counts what each upload costs on the shared keys and measures how fast
uploads arrive, rather than provoking throttling it cannot show.

In one run:
- 20 writer threads (each with its own store and client, like 20 Lambda containers) and then 1,
  each storing records through ``DynamoMetadataStore.put`` (the gallery's transaction): uploads
  per second, latency, attempts per upload, and whether the counter equals the records written;
- the write units one upload costs on average on one shard of each shared key, from the items'
  sizes, and so the upload rate at which each shard would reach its partition's limit;
- how long the gallery itself spends on one upload before any metadata is written (decoding a
  12 MP JPEG and making its thumbnail), which bounds what 20 writers can send.

    python bench/dynamo_writers.py [--writers 20] [--records 25]
"""

from __future__ import annotations

import argparse
import io
import math
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from cloud import MotoServer  # noqa: E402  (test helper: a real moto server process, stopped by pid)

PARTITION_WCU = 1000  # write units per second one partition (one item, one index key) takes


def record(key: str):
    from app.metadata.base import ImageRecord

    now = time.time()
    return ImageRecord(
        key=key,
        content_type="image/jpeg",
        bytes=3_100_000,
        width=4032,
        height=3024,
        sha256=uuid.uuid4().hex * 2,
        created_at=now,
        updated_at=now,
        version=uuid.uuid4().hex,
        thumb_width=360,
        thumb_height=270,
        labels=["dog", "pet", "animal"],
    )


def run_writers(table: str, writers: int, records: int) -> dict:
    from app.metadata.dynamodb import DynamoMetadataStore

    stores = [DynamoMetadataStore(table, client=patient_client()) for _ in range(writers)]
    attempts = [0]
    lock = threading.Lock()

    def count_attempt(**_):
        with lock:
            attempts[0] += 1

    for store in stores:
        store.client.meta.events.register("before-call.dynamodb.TransactWriteItems", count_attempt)
    latencies: list[float] = []
    errors: list[str] = []
    start = threading.Barrier(writers)

    def write(n: int) -> None:
        store, mine = stores[n], []
        start.wait()
        for i in range(records):
            began = time.perf_counter()
            try:
                store.put(record(f"w{n}/{uuid.uuid4().hex[:8]}-{i}.jpg"))
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors.append(type(exc).__name__)
                continue
            mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)

    before = stores[0].count()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    stored = len(latencies)
    return {
        "rate": stored / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p95": statistics.quantiles(latencies, n=20)[-1] * 1000,
        "attempts": attempts[0] / max(stored, 1),
        "counted": stores[0].count() - before == stored,
        "errors": errors,
    }


def patient_client():
    """A DynamoDB client that waits for moto: one Python process answering 20 writers in turn is slower
    than the app's 1 s timeout allows (DynamoDB itself answers a transaction in ~10 ms)."""
    import boto3
    from botocore.config import Config

    config = Config(read_timeout=120, retries={"total_max_attempts": 1}, max_pool_connections=4)
    return boto3.client("dynamodb", config=config)


def item_kb(item: dict) -> int:
    """DynamoDB's size of an item (attribute names and values), in the KB its write units count."""
    size = sum(len(name) + len(next(iter(value.values()))) for name, value in item.items())
    return max(1, math.ceil(size / 1024))


def shared_key_costs(table: str) -> tuple[float, float]:
    """Write units per upload on one shard of the images counter and one shard of the newest
    index's feed: each takes 1/shards of the uploads."""
    from app.metadata.dynamodb import DynamoMetadataStore
    from app.metadata.dynamodb.layout import COUNTER_SHARDS, FEED_SHARDS

    store = DynamoMetadataStore(table, client=patient_client())
    store.put(record("photos/IMG_0001.jpg"))
    image = store.client.get_item(TableName=table, Key={"pk": {"S": "image#photos/IMG_0001.jpg"}})["Item"]
    counter = 2 / COUNTER_SHARDS  # a transactional update of a tiny item: 2 units, on one shard of 8
    index = item_kb(image) / FEED_SHARDS  # the newest index projects the whole item: 1 unit per KB
    return counter, index


def upload_work_seconds() -> float:
    """Decoding a 12 MP JPEG and making its thumbnail: what the gallery does before it writes metadata."""
    import numpy as np
    from PIL import Image

    from app.imaging import images

    rng = np.random.default_rng(1)
    base = np.linspace(0, 255, 4032, dtype=np.uint8)[None, :, None].repeat(3024, 0).repeat(3, 2)
    out = io.BytesIO()
    Image.fromarray(base // 2 + rng.integers(0, 40, base.shape, dtype=np.uint8)).save(out, "JPEG", quality=90)
    data = out.getvalue()
    times = []
    for _ in range(3):
        began = time.perf_counter()
        images.analyse(data, max_pixels=50_000_000, thumb_size=360, max_frames=1000)
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--records", type=int, default=10, help="records per writer")
    args = parser.parse_args()

    server = MotoServer()
    try:
        os.environ.update(server.env())
        from app.metadata.dynamodb import DynamoMetadataStore

        table = f"bench-{uuid.uuid4().hex[:8]}"
        DynamoMetadataStore(table).provision()
        many = run_writers(table, args.writers, args.records)
        one = run_writers(table, 1, args.records)
        counter, index = shared_key_costs(table)
    finally:
        server.stop()
    work = upload_work_seconds()

    print(f"DynamoDB on a moto server: {args.writers} writers × {args.records} records, then 1 writer")
    for name, r in ((f"{args.writers} writers", many), ("1 writer", one)):
        print(
            f"  {name:<11}: {r['rate']:6.1f} uploads/s, p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, "
            f"{r['attempts']:.2f} attempts/upload, counter exact: {r['counted']}, errors: {len(r['errors'])}"
        )
    print(
        f"  per upload on one shard      : count#images#n {counter:.2f} write units, newest index feed shard "
        f"{index:.2f} unit(s)"
    )
    print(
        f"  partition limit reached at  : {PARTITION_WCU / counter:.0f} uploads/s (counter), "
        f"{PARTITION_WCU / index:.0f} uploads/s (newest index)"
    )
    print(
        f"  one upload's own work       : {work * 1000:.0f} ms (12 MP JPEG decoded and thumbnailed), so "
        f"{args.writers} busy writers send at most {args.writers / work:.0f} uploads/s "
        f"({args.writers / work / (PARTITION_WCU / counter):.0%} of the counter's limit)"
    )
    return 0 if many["counted"] and not many["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
