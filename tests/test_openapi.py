"""The API description is built from the constants that validate requests: change a limit in code
and the document changes with it; no limit in it is written by hand."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from app.core import conflicts, keys, search
from app.processing import OPS, params
from app.recognition import shape
from app.web import api as api_views
from app.web import selection
from app.web.openapi import spec

LIMIT_WORDS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"}
LIMIT_WORDS |= {"minItems", "maxItems", "default"}


def limits(node, path=()) -> dict:
    """Every number in the document under a limit keyword, by its place in the document."""
    found = {}
    if isinstance(node, dict):
        for name, value in node.items():
            if name in LIMIT_WORDS and isinstance(value, (int, float)) and not isinstance(value, bool):
                found[(*path, name)] = value
            else:
                found |= limits(value, (*path, name))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found |= limits(value, (*path, i))
    return found


def moved(value):
    """A different number of the same type, far from any real limit."""
    return value + 1000 if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def moved_param(p: params.Param) -> params.Param:
    return dataclasses.replace(p, lo=moved(p.lo), hi=moved(p.hi), default=moved(p.default))


@pytest.fixture
def every_limit_moved(monkeypatch):
    """Every constant the validators read, changed."""
    monkeypatch.setattr(keys, "MAX_KEY_LENGTH", moved(keys.MAX_KEY_LENGTH))
    monkeypatch.setattr(search, "MAX_QUERY_LENGTH", moved(search.MAX_QUERY_LENGTH))
    monkeypatch.setattr(params, "MAX_STEPS", moved(params.MAX_STEPS))
    monkeypatch.setattr(params, "QUALITY", moved_param(params.QUALITY))
    for op in OPS.values():
        monkeypatch.setattr(type(op), "params", tuple(moved_param(p) for p in op.params))
    monkeypatch.setattr(api_views, "LIST_LIMIT", tuple(map(moved, api_views.LIST_LIMIT)))
    monkeypatch.setattr(api_views, "SUGGEST_LIMIT", tuple(map(moved, api_views.SUGGEST_LIMIT)))
    monkeypatch.setattr(shape, "MIN_CONFIDENCE_RANGE", tuple(map(moved, shape.MIN_CONFIDENCE_RANGE)))
    monkeypatch.setattr(shape, "MAX_LABELS_RANGE", tuple(map(moved, shape.MAX_LABELS_RANGE)))
    monkeypatch.setattr(shape, "DEFAULT_MIN_CONFIDENCE", moved(shape.DEFAULT_MIN_CONFIDENCE))
    monkeypatch.setattr(shape, "DEFAULT_MAX_LABELS", moved(shape.DEFAULT_MAX_LABELS))
    monkeypatch.setattr(selection, "MAX_SELECTION", moved(selection.MAX_SELECTION))


def test_every_limit_in_the_document_comes_from_code(request):
    before = limits(spec())
    assert len(before) > 60  # keys, list limits, every operation parameter, recognition bounds
    request.getfixturevalue("every_limit_moved")
    after = limits(spec())
    assert after.keys() == before.keys()
    written_by_hand = {place: value for place, value in before.items() if after[place] == value}
    assert written_by_hand == {}


def test_a_changed_limit_changes_the_document_and_the_validation(client, api, monkeypatch):
    monkeypatch.setattr(keys, "MAX_KEY_LENGTH", 20)
    monkeypatch.setattr(params, "MAX_STEPS", 2)
    doc = client.get("/api/openapi.json").get_json()
    key_param = doc["paths"]["/api/images/{key}"]["get"]["parameters"][0]
    assert key_param["schema"]["maxLength"] == 20
    process = doc["paths"]["/api/process"]["post"]
    ops = process["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]["ops"]
    assert ops["contentSchema"]["maxItems"] == 2 and "up to 2 steps" in process["summary"]
    # ...and the requests are checked against the same numbers.
    assert client.get("/api/images/" + "k" * 21).status_code == 400
    assert client.get("/api/images/" + "k" * 20).status_code == 404
    steps = json.dumps([{"op": "color"}] * 3)
    response = api.post("/api/process", data={"ops": steps, "source_key": "missing"})
    assert response.status_code == 400 and "at most 2 steps" in response.get_json()["error"]["message"]


def test_error_responses_name_the_error_codes(client):
    doc = client.get("/api/openapi.json").get_json()
    responses = doc["paths"]["/api/images"]["post"]["responses"]
    assert "invalid_key:" in responses["400"]["description"] and "csrf_failed:" in responses["400"]["description"]
    assert responses["415"]["description"].startswith("unsupported_media_type:")
    listing = doc["paths"]["/api/images"]["get"]
    assert "csrf_failed" not in listing["responses"]["400"]["description"]
    assert all(p["name"] != "X-CSRFToken" for p in listing["parameters"])


def test_every_json_and_media_route_is_in_the_document(app, client):
    doc = client.get("/api/openapi.json").get_json()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/images/", "/thumbs/")) and rule.endpoint != "api.openapi":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            assert path in doc["paths"], f"{rule.rule} is not in the OpenAPI document"
            methods = {m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}}
            assert methods <= set(doc["paths"][path]), rule.rule


def test_conflict_choices_and_the_selection_limit_come_from_code(client, monkeypatch):
    monkeypatch.setattr(conflicts, "ON_CONFLICT", ("replace", "fail"))
    monkeypatch.setattr(selection, "MAX_SELECTION", 3)
    doc = client.get("/api/openapi.json").get_json()
    upload = doc["paths"]["/api/images"]["post"]
    fields = upload["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert fields["on_conflict"]["enum"] == ["replace", "fail"]
    assert fields["on_conflict"]["default"] == conflicts.DEFAULT_ON_CONFLICT
    assert upload["responses"]["409"]["description"].startswith("conflict:")
    keys = doc["paths"]["/api/images/zip"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert keys["properties"]["keys"]["maxItems"] == 3
    version = {p["name"] for p in doc["paths"]["/images/{key}"]["get"]["parameters"]}
    assert "version" in version
