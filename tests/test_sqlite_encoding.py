"""Records as the SQLite store writes them (orjson, issue 19 point 2): text that ``json.loads`` and
SQLite's JSON functions read back as the record, and the standard encoder for what orjson refuses."""

from __future__ import annotations

import json
import sqlite3

from app.metadata.base import ImageRecord
from app.metadata.sqlite.encoding import record_json, to_json


def a_record(**changes) -> ImageRecord:
    fields = dict(
        key="Reisen/Zürich 2024/IMG_0001.JPG",
        content_type="image/jpeg",
        bytes=123,
        width=4,
        height=3,
        sha256="ab" * 32,
        created_at=1700000000.25,
        updated_at=1700000001.5,
        labels=["dog", "teddy bear"],
        provenance={"source_key": "a.jpg", "ops": [{"op": "resize", "width": 10}]},
        taken_at="2024-07-01T10:00:00+02:00",
        exif={"make": "Canon", "model": "EOS 5D", "exposure": 0.004},
    )
    return ImageRecord(**{**fields, **changes})


def test_a_record_reads_back_as_it_was_written():
    record = a_record()
    text = record_json(record)
    assert isinstance(text, str)  # bytes would be stored as a BLOB
    assert ImageRecord.from_dict(json.loads(text)) == record


def test_sqlite_reads_the_fields_its_indexes_and_triggers_use():
    record = a_record()
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE images (record TEXT)")
    db.execute("INSERT INTO images VALUES (?)", (record_json(record),))
    row = db.execute(
        "SELECT typeof(record), json_extract(record, '$.sha256'), json_extract(record, '$.taken_at'),"
        " json_extract(record, '$.exif.model'), json_extract(record, '$.key') FROM images"
    ).fetchone()
    assert row == ("text", record.sha256, record.taken_at, "EOS 5D", record.key)


def test_what_orjson_refuses_goes_through_the_standard_encoder():
    huge = a_record(exif={"serial": 2**70})  # beyond 64 bits
    assert json.loads(record_json(huge))["exif"] == {"serial": 2**70}
    assert json.loads(to_json({1: "a"})) == {"1": "a"}  # a key that is not a string, as json writes it
