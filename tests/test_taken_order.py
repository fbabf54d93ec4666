"""The "taken" listing order (date taken; undated photos after every dated one, newest upload
first) in both metadata stores, with cursors, prefix and label filters; how older SQLite files and
DynamoDB tables gain it; the API and page."""

from __future__ import annotations

import json
import sqlite3

import boto3
import pytest
from test_exif import exif_photo

from app.core.errors import InvalidParameter
from app.metadata.base import ImageRecord
from app.metadata.dynamodb import _INDEXES, DynamoMetadataStore, _gsi
from app.metadata.sqlite import SqliteMetadataStore

pytest_plugins = ["cloud"]


def rec(key: str, uploaded: float, taken_at: str | None = None, labels=()) -> ImageRecord:
    return ImageRecord(
        key, "image/jpeg", 10, 2, 3, "0" * 64, uploaded, uploaded, version=f"v-{key}", taken_at=taken_at,
        labels=list(labels),
    )  # fmt: skip


@pytest.fixture(params=["sqlite", "dynamodb"])
def meta(request, tmp_path):
    if request.param == "sqlite":
        return SqliteMetadataStore(str(tmp_path / "gallery.sqlite3"))
    store = DynamoMetadataStore(request.getfixturevalue("aws")["table"], "us-east-1")
    store.provision()
    return store


def keys(page) -> list[str]:
    return [r.key for r in page[0]]


def everything(meta, **kwargs) -> list[str]:
    """Every key, a page of two at a time."""
    found, after = [], None
    while True:
        items, after = meta.list(limit=2, after=after, **kwargs)
        found += [r.key for r in items]
        if after is None:
            return found


def seed(meta):
    # A 2010 photo uploaded last; a 1950 scan (before 1970); one without a date, uploaded in 2020.
    meta.put(rec("a/old-photo", 1_700_000_300.0, "2010-06-01T12:00:00", ["dog"]))
    meta.put(rec("a/scan", 1_700_000_200.0, "1950-01-01T00:00:00", ["dog"]))
    meta.put(rec("a/no-date", 1_600_000_000.0))
    meta.put(rec("b/recent", 1_700_000_100.0, "2023-07-14T18:30:05+02:00", ["dog"]))
    meta.put(rec("b/same-time", 1_700_000_000.0, "2023-07-14T16:30:05"))  # the same instant, in UTC


def test_taken_order_with_cursors_and_filters(meta):
    seed(meta)
    assert everything(meta) == ["a/old-photo", "a/scan", "b/recent", "b/same-time", "a/no-date"]
    taken = ["b/same-time", "b/recent", "a/old-photo", "a/scan", "a/no-date"]  # ties: key descending
    assert everything(meta, sort="taken") == taken
    assert everything(meta, sort="taken", prefix="a/") == ["a/old-photo", "a/scan", "a/no-date"]
    assert everything(meta, sort="taken", label="dog") == ["b/recent", "a/old-photo", "a/scan"]
    with pytest.raises(InvalidParameter):
        meta.list(after=["x"], sort="taken")
    with pytest.raises(InvalidParameter, match="sort"):
        meta.list(sort="random")


def test_the_taken_order_follows_replacements_amends_and_deletes(meta):
    seed(meta)
    meta.put(rec("a/no-date", 1_700_000_400.0, "1999-01-01T00:00:00"))  # replaced by a dated photo
    assert everything(meta, sort="taken")[-3:] == ["a/old-photo", "a/no-date", "a/scan"]  # now dated
    current = meta.get("a/scan")
    assert meta.amend("a/scan", current.version, {"taken_at": "2030-01-01T00:00:00"})
    assert everything(meta, sort="taken")[0] == "a/scan"
    assert everything(meta, sort="taken", label="dog")[0] == "a/scan"  # label items follow too
    assert not meta.amend("a/scan", "an-old-version", {"taken_at": None})
    meta.delete("a/scan")
    assert "a/scan" not in everything(meta, sort="taken") + everything(meta, sort="taken", label="dog")


def test_an_older_sqlite_file_gains_the_taken_column(tmp_path):
    path = str(tmp_path / "old.sqlite3")
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE images (key TEXT PRIMARY KEY, updated_at REAL NOT NULL, record TEXT NOT NULL);"
        "CREATE INDEX images_newest ON images (updated_at DESC, key DESC);"
    )
    for key, t in (("x", 10.0), ("y", 20.0)):
        record = rec(key, t)
        old.execute("INSERT INTO images VALUES (?, ?, ?)", (key, t, json.dumps(record.to_dict())))
    old.commit()
    old.close()
    store = SqliteMetadataStore(path)
    assert keys(store.list(sort="taken")) == ["y", "x"]  # undated: newest upload first
    assert store.months() == [("undated", 2)]  # counted once on opening
    store.amend("x", "v-x", {"taken_at": "1960-01-01T00:00:00"})
    assert keys(store.list(sort="taken")) == ["x", "y"]  # a dated photo before every undated one
    assert store.months() == [("1960-01", 1), ("undated", 1)]
    store.amend("y", "v-y", {"taken_at": "1950-01-01T00:00:00"})
    assert keys(store.list(sort="taken")) == ["x", "y"]
    again = SqliteMetadataStore(path)  # opening it again changes nothing
    assert keys(again.list(sort="taken")) == ["x", "y"] and again.months() == [("1960-01", 1), ("1950-01", 1)]


def test_provision_adds_the_taken_indexes_to_an_older_table(aws):
    client = boto3.client("dynamodb", region_name="us-east-1")
    older = [spec for spec in _INDEXES if spec[0] not in ("taken", "by_label_taken")]
    attributes = {a for spec in older for a in spec[1:3]} | {"pk"}
    client.create_table(
        TableName=aws["table"],
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[_gsi(*spec) for spec in older],
    )
    store = DynamoMetadataStore(aws["table"], "us-east-1")
    done = store.provision()
    assert f"added index taken to {aws['table']}" in done and f"added index by_label_taken to {aws['table']}" in done
    present = {i["IndexName"] for i in client.describe_table(TableName=aws["table"])["Table"]["GlobalSecondaryIndexes"]}
    assert {spec[0] for spec in _INDEXES} == present
    store.put(rec("k", 5.0, "2000-01-01T00:00:00", ["cat"]))
    assert keys(store.list(sort="taken")) == keys(store.list(sort="taken", label="cat")) == ["k"]


# -- through the service, the API and the page ------------------------------------------------------
@pytest.fixture
def photos(api):
    uploaded = {}
    for key, taken in (("p/2019.jpg", "2019:05:01 10:00:00"), ("p/2021.jpg", "2021:05:01 10:00:00")):
        uploaded[key] = api.upload(key, exif_photo(size=(64, 48), taken=taken, offset="")).get_json()
    uploaded["p/undated.png"] = api.upload("p/undated.png", exif_photo("PNG", size=(64, 48), taken=None)).get_json()
    return uploaded


def test_api_sort(client, photos):
    by_upload = client.get("/api/images").get_json()["items"]
    assert [i["key"] for i in by_upload] == ["p/undated.png", "p/2021.jpg", "p/2019.jpg"]
    assert client.get("/api/images?sort=uploaded").get_json()["items"] == by_upload
    first = client.get("/api/images?sort=taken&limit=2").get_json()
    assert [i["key"] for i in first["items"]] == ["p/2021.jpg", "p/2019.jpg"]
    assert first["items"][0]["taken_at"] == "2021-05-01T10:00:00"
    rest = client.get(f"/api/images?sort=taken&limit=2&cursor={first['next_cursor']}").get_json()
    assert [i["key"] for i in rest["items"]] == ["p/undated.png"] and rest["next_cursor"] is None  # at the end
    assert rest["items"][0]["taken_at"] is None
    other = client.get(f"/api/images?sort=uploaded&cursor={first['next_cursor']}")
    assert other.status_code == 400 and "another listing" in other.get_json()["error"]["message"]
    bad = client.get("/api/images?sort=shuffled")
    assert bad.status_code == 400 and "sort" in bad.get_json()["error"]["message"]
    one = client.get("/api/images/p/2019.jpg").get_json()
    assert one["taken_at"] == "2019-05-01T10:00:00" and one["exif"]["model"] == "Canon EOS R5"


def test_gallery_page_sort(client, photos):
    page = client.get("/gallery?sort=taken&prefix=p/").get_data(as_text=True)
    order = [page.index(f'value="{key}"') for key in ("p/2021.jpg", "p/2019.jpg", "p/undated.png")]
    assert order == sorted(order)
    assert '<option value="taken" selected>' in page
    assert client.get("/gallery?sort=nonsense").status_code == 400


def test_init_counts_the_months_of_an_older_table_and_moves_undated_photos_last(aws):
    """Items written before the month counters: no ``mon``, undated ones ordered by upload time."""
    store = DynamoMetadataStore(aws["table"], "us-east-1")
    store.provision()
    seed(store)
    client = boto3.client("dynamodb", region_name="us-east-1")
    for item in client.scan(TableName=aws["table"])["Items"]:  # back to how an older version wrote them
        pk = item["pk"]["S"]
        if pk.startswith("count#month#"):
            client.delete_item(TableName=aws["table"], Key={"pk": item["pk"]})
        elif pk.startswith(("image#", "label#")):
            record = store.get(item["key"]["S"])
            if pk.startswith("image#"):
                client.update_item(TableName=aws["table"], Key={"pk": item["pk"]}, UpdateExpression="REMOVE mon")
            if record.taken() is None:  # sorted by its upload time then
                older = {":t": {"S": f"{record.updated_at + 62135596800.0:020.6f}#{record.key}"}}
                client.update_item(
                    TableName=aws["table"], Key={"pk": item["pk"]}, UpdateExpression="SET torder = :t",
                    ExpressionAttributeValues=older,
                )  # fmt: skip
    assert store.months() == [] and everything(store, sort="taken")[2] == "a/no-date"  # as it was
    assert any("counted 5 image(s) by month taken" in line for line in store.provision())
    assert store.months() == [("2023-07", 2), ("2010-06", 1), ("1950-01", 1), ("undated", 1)]
    assert everything(store, sort="taken")[-1] == "a/no-date"
    assert not any("by month taken" in line for line in store.provision())  # once
