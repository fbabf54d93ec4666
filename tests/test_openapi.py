"""The API document is generated from the schemas that validate requests (flask-smorest): change a
limit in code and both the document of a newly built app and the validation change with it; no
limit in it is written by hand. Every JSON route is in it, and it is a valid OpenAPI document."""

from __future__ import annotations

import dataclasses
import io
import json
import re

import pytest
from conftest import Api, make_app, make_image
from openapi_spec_validator import validate

from app.core import conflicts, keys, search
from app.processing import OPS, params
from app.recognition import shape
from app.services import albums, catalog, shares
from app.web import schemas
from app.web.common import is_api_path

LIMIT_WORDS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"}
LIMIT_WORDS |= {"minItems", "maxItems", "default"}


def document(app) -> dict:
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


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


def is_rule(place: tuple) -> bool:
    """Rules rather than limits: a selection is never empty, nor is a path segment (Werkzeug's routing)."""
    return place[-2:] == ("keys", "minItems") or ("parameters" in place and place[-2:] == ("schema", "minLength"))


def move_every_limit(monkeypatch):
    """Every constant the validators read, changed."""
    monkeypatch.setattr(keys, "MAX_KEY_LENGTH", moved(keys.MAX_KEY_LENGTH))
    monkeypatch.setattr(search, "MAX_QUERY_LENGTH", moved(search.MAX_QUERY_LENGTH))
    monkeypatch.setattr(params, "MAX_STEPS", moved(params.MAX_STEPS))
    monkeypatch.setattr(params, "QUALITY", moved_param(params.QUALITY))
    for op in OPS.values():
        monkeypatch.setattr(type(op), "params", tuple(moved_param(p) for p in op.params))
    monkeypatch.setattr(schemas, "LIST_LIMIT", tuple(map(moved, schemas.LIST_LIMIT)))
    monkeypatch.setattr(schemas, "SUGGEST_LIMIT", tuple(map(moved, schemas.SUGGEST_LIMIT)))
    monkeypatch.setattr(schemas, "LIST_PAGE", moved(schemas.LIST_PAGE))
    monkeypatch.setattr(schemas, "SUGGEST_PAGE", moved(schemas.SUGGEST_PAGE))
    monkeypatch.setattr(schemas, "MAX_SELECTION", moved(schemas.MAX_SELECTION))
    monkeypatch.setattr(shape, "MIN_CONFIDENCE_RANGE", tuple(map(moved, shape.MIN_CONFIDENCE_RANGE)))
    monkeypatch.setattr(shape, "MAX_LABELS_RANGE", tuple(map(moved, shape.MAX_LABELS_RANGE)))
    monkeypatch.setattr(shape, "DEFAULT_MIN_CONFIDENCE", moved(shape.DEFAULT_MIN_CONFIDENCE))
    monkeypatch.setattr(shape, "DEFAULT_MAX_LABELS", moved(shape.DEFAULT_MAX_LABELS))
    for name in ("MAX_NAME", "MAX_DESCRIPTION", "MAX_KEYS", "ALBUM_ID_LENGTH"):
        monkeypatch.setattr(albums, name, moved(getattr(albums, name)))
    monkeypatch.setattr(catalog, "MAX_CAMERA", moved(catalog.MAX_CAMERA))
    monkeypatch.setattr(catalog, "MAX_LABEL", moved(catalog.MAX_LABEL))
    monkeypatch.setattr(shares, "EXPIRES_IN", tuple(map(moved, shares.EXPIRES_IN)))
    monkeypatch.setattr(shares, "MAX_PASSWORD", moved(shares.MAX_PASSWORD))
    monkeypatch.setattr(shares, "MAX_ALBUM_ID", moved(shares.MAX_ALBUM_ID))


def test_every_limit_in_the_document_comes_from_code(tmp_path, monkeypatch):
    before = limits(document(make_app(tmp_path / "before")))
    assert len(before) > 60  # keys, list limits, every operation parameter, recognition bounds
    move_every_limit(monkeypatch)
    after = limits(document(make_app(tmp_path / "after")))
    assert after.keys() == before.keys()
    written_by_hand = {place: value for place, value in before.items() if after[place] == value and not is_rule(place)}
    assert written_by_hand == {}


def test_a_changed_limit_changes_the_document_and_the_validation(tmp_path, monkeypatch):
    monkeypatch.setattr(keys, "MAX_KEY_LENGTH", 20)
    monkeypatch.setattr(params, "MAX_STEPS", 2)
    monkeypatch.setattr(schemas, "LIST_LIMIT", (1, 7))
    app = make_app(tmp_path)
    doc = document(app)
    key_param = doc["paths"]["/api/images/{key}"]["parameters"][0]
    assert key_param["name"] == "key" and key_param["schema"]["maxLength"] == 20
    process = doc["paths"]["/api/process"]["post"]
    ops = process["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]["ops"]
    assert ops["contentSchema"]["maxItems"] == 2 and "at most 2" in ops["description"]
    listing = {p["name"]: p["schema"] for p in doc["paths"]["/api/images"]["get"]["parameters"]}
    assert listing["limit"]["maximum"] == 7
    # ...and the requests are checked against the same numbers.
    client, api = app.test_client(), Api(app.test_client())
    assert client.get("/api/images/" + "k" * 21).status_code == 400
    assert client.get("/api/images/" + "k" * 20).status_code == 404
    assert client.get("/api/images?limit=7").status_code == 200
    refused = client.get("/api/images?limit=8").get_json()["error"]
    assert refused == {"code": "invalid_parameter", "message": "limit must be from 1 to 7; got 8."}
    steps = json.dumps([{"op": "color"}] * 3)
    response = api.post("/api/process", data={"ops": steps, "source_key": "missing"})
    assert response.status_code == 400 and "at most 2 steps" in response.get_json()["error"]["message"]


def test_the_document_is_valid_openapi(app):
    doc = document(app)
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_every_json_route_is_in_the_document_with_its_methods(app):
    doc = document(app)
    json_routes = [r for r in app.url_map.iter_rules() if is_api_path(r.rule) and r.endpoint != "api.openapi"]
    assert any(r.rule == "/healthz" for r in json_routes) and len(json_routes) >= 16
    for rule in [*json_routes, *(r for r in app.url_map.iter_rules() if r.endpoint.startswith("media."))]:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in doc["paths"], f"{rule.rule} is not in the OpenAPI document"
        methods = {m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}}
        assert methods <= set(doc["paths"][path]), rule.rule
    # Pages sharing a blueprint with JSON routes are not part of the API.
    assert not [path for path in doc["paths"] if path.startswith(("/process", "/trash", "/recognize", "/selection"))]


def test_error_responses_name_the_error_codes(app):
    doc = document(app)
    responses = doc["paths"]["/api/images"]["post"]["responses"]
    assert "invalid_key:" in responses["400"]["description"] and "csrf_failed:" in responses["400"]["description"]
    assert responses["415"]["description"].startswith("unsupported_media_type:")
    assert "rate_limited:" in responses["429"]["description"]
    assert "work_in_progress:" in responses["429"]["description"]  # a fair share of the image workers
    assert "workers_busy:" in responses["503"]["description"]
    assert responses["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    listing = doc["paths"]["/api/images"]["get"]
    assert "csrf_failed" not in listing["responses"]["400"]["description"]
    assert all(p["name"] != "X-CSRFToken" for p in listing["parameters"])
    # Every write says how to pass CSRF, even one that takes no parameters.
    clear = doc["paths"]["/api/cache/clear"]["post"]
    assert [p["name"] for p in clear["parameters"]] == ["X-CSRFToken"] and "csrf_failed:" in clear["responses"]["400"][
        "description"
    ]


def test_multipart_endpoints_document_the_file_field(app):
    doc = document(app)
    for path in ("/api/images", "/api/process", "/api/recognize"):
        body = doc["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert body["properties"]["file"] == {**body["properties"]["file"], "type": "string", "format": "binary"}
    upload = doc["paths"]["/api/images"]["post"]["requestBody"]["content"]
    assert set(upload) == {"multipart/form-data"} and upload["multipart/form-data"]["schema"]["required"] == [
        "file",
        "key",
    ]
    process = doc["paths"]["/api/process"]["post"]["requestBody"]["content"]
    assert set(process) == {"application/json", "multipart/form-data", "application/x-www-form-urlencoded"}


def test_conflict_choices_and_the_selection_limit_come_from_code(tmp_path, monkeypatch):
    monkeypatch.setattr(conflicts, "ON_CONFLICT", ("replace", "fail"))
    monkeypatch.setattr(schemas, "MAX_SELECTION", 3)
    app = make_app(tmp_path)
    doc = document(app)
    upload = doc["paths"]["/api/images"]["post"]
    fields = upload["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert fields["on_conflict"]["enum"] == ["replace", "fail"]
    assert fields["on_conflict"]["default"] == conflicts.DEFAULT_ON_CONFLICT
    assert upload["responses"]["409"]["description"].startswith("conflict:")
    selection = doc["paths"]["/api/images/zip"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert selection["properties"]["keys"]["maxItems"] == 3
    version = {p["name"] for p in doc["paths"]["/images/{key}"]["get"]["parameters"]}
    assert "version" in version
    # The same limits refuse requests, in words naming the field and what is allowed.
    api = Api(app.test_client())
    too_many = api.post("/api/images/zip", json={"keys": ["a", "b", "c", "d"]}).get_json()["error"]
    assert too_many == {"code": "invalid_parameter", "message": "keys may have at most 3 keys; got 4."}
    merge = api.post(
        "/api/images", data={"key": "x.png", "file": (io.BytesIO(make_image()), "x.png"), "on_conflict": "rename"}
    )
    assert (
        merge.status_code == 400
        and "on_conflict must be one of replace, fail; got 'rename'." in merge.get_json()["error"]["message"]
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "ten"}, "limit must be a whole number."),
        ({"limit": "0"}, "limit must be from 1 to 500; got 0."),
        ({"sort": "random"}, "sort must be one of uploaded, taken; got 'random'."),
        ({"batch": "ABC"}, "batch must be 16 lower-case letters and digits."),
        ({"q": "x" * 201}, "q may have at most 200 characters; got 201."),
    ],
)
def test_refused_queries_say_which_field_and_what_is_allowed(client, query, message):
    response = client.get("/api/images", query_string=query)
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": "invalid_parameter", "message": message}}


def test_refused_bodies_say_which_field_and_what_is_allowed(api):
    missing = api.post("/api/trash/restore", json={"key": "a.png"}).get_json()["error"]
    assert missing == {"code": "invalid_parameter", "message": "version is required."}
    not_an_object = api.post("/api/uploads", json=["a"]).get_json()["error"]
    assert not_an_object["message"] == "The JSON body must be an object with key, content_type, bytes."
    keys_text = api.post("/api/images/trash", json={"keys": "a.png"}).get_json()["error"]
    assert keys_text == {"code": "invalid_parameter", "message": "keys must be a list."}
    no_file = api.post("/api/images", data={"key": "x.png"}).get_json()["error"]
    assert no_file["message"] == "file is required: attach the image as the multipart field 'file'."
    preview = api.post("/api/process", data={"source_key": "a.png", "preview": "maybe"}).get_json()["error"]
    assert preview == {"code": "invalid_parameter", "message": "preview must be true or false."}
