"""The test moto server's speed patches (tests/moto_speedups.py) give moto's own answers: each is
compared with the moto code it replaces, in one process, on values chosen to reach every branch."""

import random

import pytest

moto_speedups = pytest.importorskip("moto_speedups")
pytest.importorskip("moto")

from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: E402
from moto.dynamodb.models.table import Table  # noqa: E402

NUMBERS = ["0", "-3", "10", "9", "1.50", "1.5", "1e3", "999999999999999999999", "-0.001"]
STRINGS = ["", "a", "B", "b", "ab", "é", "z" * 40, "10", "9", "photo#0001"]
VALUES = (
    [{"N": n} for n in NUMBERS]
    + [{"S": s} for s in STRINGS]
    + [
        {"B": "AAEC"},
        {"BOOL": True},
        {"NULL": True},
        {"SS": ["a", "b"]},
        {"NS": ["1", "2.5"]},
        {"L": [{"S": "x"}, {"N": "2"}]},
        {"M": {"k": {"S": "v"}, "n": {"N": "7"}}},
    ]
)


@pytest.fixture
def moto_own():
    """moto's own functions, captured before the patches replace them."""
    return {
        "cast_value": DynamoType.cast_value.fget,
        "size": DynamoType.size,
        "all_items": Table.all_items,
        "sorted_items": Table.sorted_items,
    }


@pytest.fixture
def patched(moto_own, monkeypatch):
    moto_speedups.apply(monkeypatch.setattr)
    assert Table.all_items is not moto_own["all_items"]


def table(kinds: tuple[str, str | None], rows: list[tuple]) -> Table:
    hash_kind, range_kind = kinds
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": hash_kind}, {"AttributeName": "g", "AttributeType": "S"}]
    if range_kind:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "sk", "AttributeType": range_kind})
    index = {
        "IndexName": "by-g",
        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "pk", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"},
    }
    t = Table("t", "123456789012", "us-east-1", schema, attrs, global_indexes=[index])
    for row in rows:
        t.put_item(row)
    return t


def random_rows(kinds: tuple[str, str | None], n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    pool = {
        "N": NUMBERS + [str(rng.randint(-50, 50)) for _ in range(20)],
        "S": STRINGS + [f"x{i}" for i in range(20)],
    }
    rows = {}
    for _ in range(n):
        row = {"pk": {kinds[0]: rng.choice(pool[kinds[0]])}, "g": {"S": rng.choice("ab")}}
        if kinds[1]:
            row["sk"] = {kinds[1]: rng.choice(pool[kinds[1]])}
        rows[str(sorted((k, str(v)) for k, v in row.items() if k != "g"))] = row
    return list(rows.values())


def test_attribute_values_read_as_moto_reads_them(moto_own, patched):
    for value in VALUES:
        dynamo = DynamoType(value)
        assert dynamo.cast_value == moto_own["cast_value"](dynamo), value
        assert dynamo.size() == moto_own["size"](dynamo), value


def ids(items) -> list[int]:
    return [id(item) for item in items]


@pytest.mark.parametrize("kinds", [("S", "N"), ("N", "S"), ("S", None), ("N", None)])
def test_items_sorted_in_moto_order(kinds, moto_own, patched):
    t = table(kinds, random_rows(kinds, 60, seed=len(kinds[0] + str(kinds[1]))))
    ours = t.all_items()
    assert ids(ours) == ids(moto_own["all_items"](t))
    inserted = [item for kept in t.items.values() for item in (kept.values() if kinds[1] else [kept])]
    assert ids(ours) != ids(inserted)  # the sort had work to do

    # as a Query on the index sorts its matches: index keys, then the table's
    hash_attrs, range_attrs = ["g", "pk"], ["pk", "sk" if kinds[1] else None]
    ours = t.sorted_items(hash_attrs, range_attrs, list(inserted))
    assert ids(ours) == ids(moto_own["sorted_items"](t, hash_attrs, range_attrs, list(inserted)))
    assert ids(ours) != ids(inserted)


def test_keys_of_mixed_kinds_keep_moto_order(moto_own, patched):
    t = table(("S", None), [{"pk": {"S": s}, "g": {"S": "a"}} for s in ("b", "d", "a")])
    odd = t.put_item({"pk": {"S": "c"}, "g": {"S": "a"}})
    odd.hash_key = odd.attrs["pk"] = DynamoType({"B": "c"})  # what put_item refuses, moto's sort accepts
    ours = t.all_items()
    assert [item.hash_key.value for item in ours] == ["a", "b", "c", "d"]
    assert ids(ours) == ids(moto_own["all_items"](t))
    inserted = list(t.items.values())
    assert ids(t.sorted_items(["g", "pk"], ["pk", None], list(inserted))) == ids(
        moto_own["sorted_items"](t, ["g", "pk"], ["pk", None], list(inserted))
    )


def test_requests_read_as_moto_reads_them(monkeypatch):
    import json

    from moto.core.parse import JSONParser
    from moto.core.utils import get_service_model

    put = get_service_model("dynamodb").operation_model("PutItem")
    body = {
        "TableName": "t",
        "Item": {f"a{i}": value for i, value in enumerate(VALUES)} | {"bin": {"B": "AAEC"}, "odd": {"S": None}},
        "ExpressionAttributeValues": {":v": {"M": {"x": {"L": [{"BS": ["AAEC"]}, {"N": "1"}]}}}},
    }
    request = {"method": "POST", "values": {}, "headers": {}, "url_path": "/", "url_params": {}}

    def parsed():
        return JSONParser(put, map_type=dict).parse(request | {"body": json.dumps(body).encode()})

    theirs = parsed()
    moto_speedups.apply(monkeypatch.setattr)
    assert parsed() == theirs
    assert theirs["Item"]["bin"] == {"B": b"\x00\x01\x02"}  # binary values still decoded


UPDATES = [
    ("SET #n = :s, c = if_not_exists(c, :zero) + :one, l = list_append(if_not_exists(l, :empty), :l)", None),
    ("REMOVE l[0], m.k SET m.n = m.n - :one ADD tags :ss DELETE gone :ss", None),
    ("SET pk2 = :s", "attribute_exists(pk) AND (c < :one OR begins_with(#n, :s))"),
]


def updated_states() -> list[dict]:
    """The item after each of UPDATES, applied twice, on a fresh in-process moto backend."""
    from moto.dynamodb.models import DynamoDBBackend

    backend = DynamoDBBackend("us-east-1", "123456789012")
    backend.create_table(
        "t",
        schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        attr=[{"AttributeName": "pk", "AttributeType": "S"}],
        billing_mode="PAY_PER_REQUEST",
        throughput=None,
        indexes=None,
        global_indexes=None,
        streams=None,
        sse_specification=None,
        tags=None,
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    backend.put_item("t", {"pk": {"S": "1"}, "m": {"M": {"k": {"S": "v"}, "n": {"N": "7"}}}, "gone": {"SS": ["x"]}})
    values = {
        ":s": {"S": "name"},
        ":zero": {"N": "0"},
        ":one": {"N": "1"},
        ":empty": {"L": []},
        ":l": {"L": [{"S": "a"}, {"N": "2"}]},
        ":ss": {"SS": ["x", "y"]},
    }
    states = []
    for expression, condition in UPDATES * 2:
        backend.update_item(
            "t",
            {"pk": {"S": "1"}},
            update_expression=expression,
            expression_attribute_names={"#n": "name"} if "#n" in expression + (condition or "") else None,
            expression_attribute_values={k: v for k, v in values.items() if k in expression + (condition or "")},
            expected=None,
            condition_expression=condition,
            return_values_on_condition_check_failure=None,
        )
        states.append(backend.get_item("t", {"pk": {"S": "1"}}).to_json())
    return states


def test_updates_apply_as_moto_applies_them(monkeypatch):
    theirs = updated_states()
    moto_speedups.apply(monkeypatch.setattr)
    assert updated_states() == theirs
    assert theirs[-1]["Attributes"]["c"] == {"N": "2"} and theirs[-1]["Attributes"]["pk2"] == {"S": "name"}
