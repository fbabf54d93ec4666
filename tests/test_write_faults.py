"""Idempotent, outcome-checked metadata writes: 500 random uploads and deletes through a proxy that
repeats DynamoDB requests, drops answers after forwarding and delays them. Afterwards no key is
jammed, no record lacks its bytes, every write answered "saved" is in the table and every write
answered "not saved" is not. ``gallery repair`` mends a key jammed by hand."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from conftest import make_image
from faultproxy import FaultProxy

from app import create_app
from app.core.blobs import ORIGINAL, blob_name
from app.core.errors import BackendUnavailable, NotFound
from app.metadata.base import OutcomeUnknown
from app.metadata.dynamodb.layout import HISTORY, TRASH

# It starts its own moto server and a fault proxy: a server module, and one of conftest's
# LONGEST_FIRST, so xdist starts it early rather than leaving it to run alone at the end.
pytestmark = pytest.mark.server

pytest_plugins = ["cloud"]

WRITES = 500
KEYS = [f"fault/k{i}.png" for i in range(12)]


def gallery_app(aws, tmp_path):
    app = create_app(
        {
            "GALLERY_DATA_DIR": str(tmp_path / "data"),
            # Bytes on local disk keep the run short; the faults are in the metadata writes.
            "GALLERY_STORAGE": "local",
            "GALLERY_METADATA": "dynamodb",
            "GALLERY_DYNAMODB_TABLE": aws["table"],
            "GALLERY_CACHE": "none",
            "GALLERY_LABEL_ON_UPLOAD": False,
            # Every version is accounted for here: the per-key cap (which removes the oldest on
            # purpose, tested in test_storage_limits) would remove ~20 of each key's ~40.
            "GALLERY_MAX_VERSIONS_PER_KEY": 0,
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    return app


@pytest.fixture
def direct(aws, tmp_path):
    """An app talking straight to moto (set-up, checks and repair)."""
    app = gallery_app(aws, tmp_path)
    assert app.test_cli_runner().invoke(args=["gallery", "init"]).exit_code == 0
    return app


@pytest.fixture
def proxy(aws):
    proxy = FaultProxy(aws["server"].url, seed=22)
    yield proxy
    proxy.stop()


def table_items(aws) -> list[dict]:
    client, items, start = boto3.client("dynamodb"), [], None
    while True:
        page = client.scan(
            TableName=aws["table"], ConsistentRead=True, **({"ExclusiveStartKey": start} if start else {})
        )
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def has_original(services, record) -> bool:
    try:
        services.images.blobs.size(blob_name(ORIGINAL, record))
        return True
    except NotFound:
        return False


def test_500_faulty_writes_leave_no_jam_no_missing_bytes_no_lost_version(aws, direct, proxy, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.url)
    faulty = gallery_app(aws, tmp_path).extensions["services"]
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    store = faulty.images.metadata
    versions = threading.local()  # the version each thread's upload is writing
    real_put = store.put

    def tracked_put(record, **kwargs):
        versions.current = record.version
        return real_put(record, **kwargs)

    store.put = tracked_put
    outcomes: dict[str, list[tuple[str, str]]] = {"saved": [], "not saved": [], "unknown": []}
    lock, rng = threading.Lock(), random.Random(7)
    plan = [(rng.choice(KEYS), rng.random() < 0.15, rng.randrange(256)) for _ in range(WRITES)]
    images = {shade: make_image(size=(24, 16), color=(0, shade, 255 - shade)) for _, _, shade in plan}

    def write(step):
        key, delete, shade = step
        versions.current = None
        try:
            if delete:
                faulty.library.delete(key)
                return
            faulty.library.upload(key, images[shade], on_conflict="replace")
            outcome = "saved"
        except NotFound:
            return
        except OutcomeUnknown:
            outcome = "unknown"
        except BackendUnavailable:
            outcome = "not saved"
        if versions.current is not None:
            with lock:
                outcomes[outcome].append((key, versions.current))

    proxy.enabled = True
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, plan))
    elapsed = time.monotonic() - started
    proxy.enabled = False
    print(
        f"\n{WRITES} writes in {elapsed:.1f} s; faults {proxy.counts}; outcomes",
        {k: len(v) for k, v in outcomes.items()},
    )
    assert proxy.counts.get("repeat", 0) > 20 and proxy.counts.get("drop_after", 0) > 20
    assert proxy.tokens_missing == 0, "every TransactWriteItems carries a ClientRequestToken"

    checked = direct.extensions["services"]
    metadata = checked.images.metadata
    # Every version answered "saved" is current, in its history or in the trash; none answered
    # "not saved" is anywhere, and its bytes are gone.
    for key, version in outcomes["saved"]:
        assert metadata.get_version(key, version) is not None, f"lost: {key} {version}"
    for key, version in outcomes["not saved"]:
        assert metadata.get_version(key, version) is None, f"answered not saved but saved: {key} {version}"
    # No record, current or retired, lacks its original.
    items = table_items(aws)
    records = [metadata.get(item["key"]["S"]) for item in items if item["pk"]["S"].startswith("image#")]
    retired = [
        metadata._get_retired(item["pk"]["S"].split("#", 1)[1])
        for item in items
        if item["pk"]["S"].startswith("retired#")
    ]
    for record in records + [found[0].record for found in retired if found]:
        assert has_original(checked, record), f"no bytes: {record.key} {record.version}"
    # The counters agree with the items (no change counted twice, none missed).
    usage, states = metadata.usage(), [found[1] for found in retired if found]
    assert (usage["images"], usage["history"], usage["trashed"]) == (
        len(records),
        states.count(HISTORY),
        states.count(TRASH),
    )
    # No key is jammed: no current version is also retired, and each key takes a new upload.
    for record in records:
        assert metadata._get_retired(record.version) is None, f"jammed: {record.key}"
    for key in KEYS:
        checked.library.upload(key, make_image(size=(20, 10)), on_conflict="replace")


def test_repair_mends_a_key_jammed_by_hand_and_a_record_without_bytes(direct):
    services = direct.extensions["services"]
    library, metadata = services.library, services.images.metadata
    first, _ = library.upload("jam/a.png", make_image(), on_conflict="replace")
    current, _ = library.upload("jam/a.png", make_image(color=(1, 2, 3)), on_conflict="replace")
    # What a replacement applied twice left behind: the current version also in the history.
    metadata.client.transact_write_items(TransactItems=[metadata._retired_put(current, HISTORY, time.time() + 86400)])
    with pytest.raises(BackendUnavailable, match="many writers"):
        library.upload("jam/a.png", make_image(color=(9, 9, 9)), on_conflict="replace")
    # And a record whose original is gone (its earlier version still has one).
    lost, _ = library.upload("jam/b.png", make_image(), on_conflict="replace")
    newer, _ = library.upload("jam/b.png", make_image(color=(4, 5, 6)), on_conflict="replace")
    services.images.blobs.delete(blob_name(ORIGINAL, newer))

    result = direct.test_cli_runner().invoke(args=["gallery", "repair"])
    assert result.exit_code == 0, result.output
    assert "jam/a.png: unjammed" in result.output
    assert f"jam/b.png: its original was missing: restored version {lost.version}" in result.output
    assert library.upload("jam/a.png", make_image(color=(9, 9, 9)), on_conflict="replace")[1] is True
    assert metadata.get("jam/b.png").version == lost.version
    assert metadata.get_version("jam/a.png", first.version) is not None
    again = direct.test_cli_runner().invoke(args=["gallery", "repair"])
    assert again.output.strip() == "mended 0 problem(s)"
