"""The bad-input corpus (tests/corpus): every malicious or broken input gets a clear 4xx and
leaves blob files, metadata and cache exactly as they were; odd-but-valid images are accepted."""

from __future__ import annotations

import functools
import io
import json
import sys
import time
from pathlib import Path
from urllib.parse import quote

import conftest
import pytest
from conftest import csrf_token, make_image
from markupsafe import escape

from app.core.errors import GalleryError

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))
import make_corpus as corpus  # noqa: E402

CASES = {case.name: case for case in corpus.CASES}


@functools.cache
def corpus_bytes(name: str) -> bytes:
    committed = corpus.FILES / name
    return committed.read_bytes() if committed.exists() else CASES[name].build()


# -- state ---------------------------------------------------------------------------------
def snapshot(app) -> dict:
    """Blob files, records and cache entries (not the counters: a refused read may count a miss)."""
    return conftest.snapshot(app.extensions["services"], stats=False)


@pytest.fixture
def seeded(app, api):
    """A gallery with one image whose original and thumbnail are cached."""
    assert api.upload("seed.png", make_image()).status_code == 201
    assert api.client.get("/images/seed.png").status_code == 200
    assert api.client.get("/thumbs/seed.png").status_code == 200
    before = snapshot(app)
    assert before["files"] and before["records"] and before["cache"]
    return before


def assert_clear_error(response, status, code, phrase):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    error = response.json["error"]
    assert error["code"] == code
    message = error["message"]
    assert phrase in message, message
    # A sentence for a person: not empty, no stack trace, not a wall of echoed input.
    assert 10 < len(message) < 600 and "Traceback" not in message, message
    return message


# -- the corpus itself ---------------------------------------------------------------------
def test_corpus_size_and_committed_files_match_the_script():
    assert len(corpus.CASES) >= 40
    assert len(corpus.CASES) + len(corpus.BAD_KEYS) + len(corpus.BAD_PROCESS) >= 100
    assert len(CASES) == len(corpus.CASES), "case names must be unique"
    committed = sorted(p.name for p in corpus.FILES.iterdir())
    assert committed == sorted(n for n, c in CASES.items() if len(c.build()) <= corpus.COMMIT_LIMIT)
    for name in committed:
        assert (corpus.FILES / name).read_bytes() == CASES[name].build(), f"rerun make_corpus.py ({name})"


# -- uploads -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [c.name for c in corpus.CASES if not c.accepted])
def test_bad_upload_is_refused_and_changes_nothing(app, api, seeded, name):
    case = CASES[name]
    response = api.upload("corpus/" + name.replace(".", "-"), corpus_bytes(name), filename=name)
    message = assert_clear_error(response, case.status, case.code, case.phrase)
    assert snapshot(app) == seeded
    # The same file through the page form: the same status, the message shown on the page
    # (in the page's words where the API's carry a decoder's detail).
    shown = message
    try:  # (a body over the request limit never reaches the service)
        app.extensions["services"].library.upload("corpus/" + name.replace(".", "-"), corpus_bytes(name))
    except GalleryError as refused:
        shown = refused.page_message if refused.message == message else message
    page = api.client.post(
        "/upload",
        data={"file": (io.BytesIO(corpus_bytes(name)), name), "csrf_token": api.token},
        content_type="multipart/form-data",
    )
    assert page.status_code == case.status
    assert str(escape(shown)) in page.get_data(as_text=True)
    assert snapshot(app) == seeded


@pytest.mark.parametrize("name", [c.name for c in corpus.CASES if c.accepted])
def test_odd_but_valid_upload_is_accepted_and_served_as_itself(app, api, seeded, name):
    case, data, key = CASES[name], corpus_bytes(name), "corpus/" + name.replace(".", "-")
    response = api.upload(key, data, filename=name)
    assert response.status_code == 201, response.json
    assert response.json["content_type"] == case.content_type
    served = api.client.get(f"/images/{key}")
    assert served.data == data
    assert served.headers["Content-Type"] == case.content_type
    assert served.headers["X-Content-Type-Options"] == "nosniff"  # a polyglot is never read as HTML
    assert "script-src 'self'" in served.headers["Content-Security-Policy"]
    thumb = api.client.get(f"/thumbs/{key}")
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/webp"
    after = snapshot(app)
    assert [r for r in after["records"] if r["key"] != key] == seeded["records"]
    assert set(seeded["files"]) < set(after["files"])


# -- keys ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "phrase"), corpus.BAD_KEYS, ids=[repr(k)[:40] for k, _ in corpus.BAD_KEYS])
def test_bad_key_is_refused_everywhere_and_changes_nothing(app, api, seeded, key, phrase):
    client = api.client
    assert_clear_error(api.upload(key, make_image()), 400, "invalid_key", phrase)
    form = client.post(
        "/upload",
        data={"file": (io.BytesIO(make_image()), "ok.png"), "key": key, "csrf_token": api.token},
        content_type="multipart/form-data",
    )
    # An empty key on the form means "use the file name": that one is stored, as documented.
    if key:
        assert form.status_code == 400 and str(escape(phrase)) in form.get_data(as_text=True)
        assert snapshot(app) == seeded
    else:
        assert form.status_code == 200
        api.delete("ok.png")
    if not key:
        return
    quoted = quote(key, safe="")
    for response in (
        client.get(f"/api/images/{quoted}"),
        api.delete(quoted),
        client.get(f"/images/{quoted}"),
        client.get(f"/thumbs/{quoted}"),
    ):
        # 308: Werkzeug merges the '//' of a leading or doubled slash and redirects; never a 2xx or 5xx.
        assert 400 <= response.status_code < 500 or response.status_code == 308, (
            response.request.path,
            response.status_code,
        )
    # Browse takes what is typed as part of a key: a 4xx, or the photos its words match.
    browse = client.get("/browse", query_string={"key": key})
    assert 400 <= browse.status_code < 500 or 'id="browse-matches"' in browse.get_data(as_text=True)
    assert snapshot(app)["records"] == seeded["records"] and snapshot(app)["files"] == seeded["files"]


# -- processing ----------------------------------------------------------------------------
def process_request(client, token, fields, as_json):
    if as_json:
        return client.post("/api/process", json=fields, headers={"X-CSRFToken": token})
    form = {k: json.dumps(v) if k == "ops" and not isinstance(v, str) else str(v) for k, v in fields.items()}
    return client.post("/api/process", data=form, headers={"X-CSRFToken": token})


PROCESS_CASES = [
    pytest.param(fields, status, code, phrase, as_json, id=f"{i}-{'json' if as_json else 'form'}")
    for i, (fields, status, code, phrase) in enumerate(corpus.BAD_PROCESS)
    for as_json in (False, True)
    if not (as_json and isinstance(fields.get("ops"), str))  # raw ops text only exists in a form field
]


@pytest.mark.parametrize(("fields", "status", "code", "phrase", "as_json"), PROCESS_CASES)
def test_bad_processing_request_is_refused_and_changes_nothing(app, api, seeded, fields, status, code, phrase, as_json):
    response = process_request(api.client, api.token, fields, as_json)
    assert_clear_error(response, status, code, phrase)
    after = snapshot(app)
    # A pipeline refused for its output size was checked against the source's pixels, read
    # through the cache: that read may refresh the source's LRU position, and nothing else.
    assert sorted(after.pop("cache")) == sorted(seeded["cache"])
    assert after == {k: v for k, v in seeded.items() if k != "cache"}


@pytest.mark.parametrize(
    "body",
    ["{", "[1, 2]", '"just a string"', "null", "[" * 100_000 + "]" * 100_000],
    ids=["bad", "list", "str", "null", "deep"],
)
def test_malformed_json_body_for_processing(app, api, seeded, body):
    response = api.client.post(
        "/api/process", data=body, content_type="application/json", headers={"X-CSRFToken": api.token}
    )
    assert_clear_error(response, 400, "invalid_parameter", "JSON body must be an object")
    assert snapshot(app) == seeded


def test_file_and_key_together_are_refused(app, api, seeded):
    response = api.client.post(
        "/api/process",
        data={"source_key": "seed.png", "ops": "[]", "file": (io.BytesIO(make_image()), "x.png")},
        headers={"X-CSRFToken": api.token},
        content_type="multipart/form-data",
    )
    assert_clear_error(response, 400, "invalid_parameter", "either an image file or the key")
    assert snapshot(app) == seeded


@pytest.mark.parametrize("name", ["truncated-idat.png", "image.svg", "png-huge-header.png", "zero-byte.png"])
def test_bad_files_sent_to_processing_and_recognition(app, api, seeded, name):
    case = CASES[name]
    ops = json.dumps([{"op": "resize", "width": 8}])
    for path, fields in (("/api/process", {"ops": ops}), ("/api/recognize", {})):
        response = api.client.post(
            path,
            data={**fields, "file": (io.BytesIO(corpus_bytes(name)), name)},
            headers={"X-CSRFToken": api.token},
            content_type="multipart/form-data",
        )
        if name == "zero-byte.png" or path == "/api/recognize":
            # Refused as "no file" or "not an image"; recognition words its pixel limit as 422: all clear 4xx.
            assert 400 <= response.status_code < 500
            assert_clear_error(response, response.status_code, response.json["error"]["code"], "")
        else:
            assert_clear_error(response, case.status, case.code, "")
        assert snapshot(app) == seeded


DECODE_BOMBS = ["jpeg-scan-bomb.jpg", "png-16bit-rgba-50mp.png", "png-16bit-rgb-50mp.png"]


@pytest.mark.parametrize("name", DECODE_BOMBS)
def test_decode_bombs_are_refused_from_the_header_in_well_under_a_second(app, api, seeded, name):
    """Upload, processing and recognition each refuse the bomb before decoding it (decoding the scan
    bomb takes minutes of CPU; the 16-bit PNG 400 MB per copy)."""
    case, data = CASES[name], corpus_bytes(name)
    ops = json.dumps([{"op": "resize", "width": 8}])
    for path, fields in (("/api/images", {"key": "bomb.jpg"}), ("/api/process", {"ops": ops}), ("/api/recognize", {})):
        seconds = []
        for _ in range(3):  # the best of three, so a busy machine does not decide
            started = time.perf_counter()
            response = api.post(
                path, data={**fields, "file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
            )
            seconds.append(time.perf_counter() - started)
            assert_clear_error(response, case.status, case.code, case.phrase)
        assert min(seconds) < 0.5, (path, seconds)
    assert snapshot(app) == seeded


# -- CSRF ----------------------------------------------------------------------------------
def csrf_attempts(client, other_token):
    png = make_image()
    yield "api upload", client.post("/api/images", data={"key": "x.png", "file": (io.BytesIO(png), "x.png")})
    yield (
        "api upload, forged token",
        client.post(
            "/api/images", data={"key": "x.png", "file": (io.BytesIO(png), "x.png")}, headers={"X-CSRFToken": "forged"}
        ),
    )
    yield (
        "api upload, another session's token",
        client.post(
            "/api/images",
            data={"key": "x.png", "file": (io.BytesIO(png), "x.png")},
            headers={"X-CSRFToken": other_token},
        ),
    )
    yield "api delete", client.delete("/api/images/seed.png")
    yield "api cache clear", client.post("/api/cache/clear")
    yield "page upload", client.post("/upload", data={"file": (io.BytesIO(png), "x.png")})
    yield "page delete", client.post("/delete/seed.png")
    yield "page cache clear", client.post("/cache", data={"action": "clear"})
    yield "page cache resize", client.post("/cache", data={"action": "configure", "capacity_mb": "1"})
    yield (
        "api process save",
        client.post("/api/process", data={"source_key": "seed.png", "ops": "[]", "save_as": "copy.png"}),
    )
    yield (
        "page process save",
        client.post(
            "/process", data={"source_key": "seed.png", "action": "save", "save_as": "copy.png", "steps-0-op": "color"}
        ),
    )
    yield "api recognize", client.post("/api/recognize", data={"source_key": "seed.png"})


def test_writes_without_a_csrf_token_are_refused_and_change_nothing(app, api, seeded):
    other = app.test_client()
    other_token = csrf_token(other)
    for name, response in csrf_attempts(api.client, other_token):
        assert response.status_code == 400, name
        body = response.get_data(as_text=True)
        if name.startswith("page"):  # in a page's words; the API names the token and its header
            assert "This form has expired" in body and "reload the page and send it again" in body, name
        else:
            assert "CSRF" in body and "Reload the page and try again" in body, name
        assert snapshot(app) == seeded, name
    assert api.client.application.extensions["services"].cache.stats()["capacity_bytes"] > 1024 * 1024
