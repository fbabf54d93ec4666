"""Schemathesis against /api/openapi.json, in-process over WSGI: no request may cause a 5xx, and
every error is the documented ``{"error": {"code", "message"}}`` body.

Quick by default (``GALLERY_FUZZ_EXAMPLES`` examples per operation, 40); ``make fuzz`` runs the
full mode with many more.
"""

from __future__ import annotations

import io
import os
import tempfile

import pytest
import schemathesis
from conftest import make_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from app import create_app

# A quarter of the edit loop's CPU: make check leaves it to make test (and make fuzz).
pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("GALLERY_FUZZ_EXAMPLES", "40"))
TOKEN = "fuzz-token"
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def documented_operations() -> list[tuple[str, str]]:
    """Every operation of the generated document (read at collection, from a throwaway app)."""
    with tempfile.TemporaryDirectory() as data:
        app = create_app({"GALLERY_DATA_DIR": data, "SECRET_KEY": "collect"})
        doc = app.test_client().get("/api/openapi.json").get_json()
    return [(method.upper(), path) for path, item in doc["paths"].items() for method in item if method in HTTP_METHODS]


OPERATIONS = documented_operations()
CALLS: list[int] = []


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    app = create_app(
        {
            "GALLERY_DATA_DIR": str(tmp_path_factory.mktemp("fuzz")),
            "SECRET_KEY": "fuzz",
            # A bearer token lets generated writes past CSRF, so they reach the real code.
            "GALLERY_API_TOKENS": TOKEN,
            "GALLERY_RATE_LIMIT_PROCESS": "off",
            "GALLERY_RATE_LIMIT_RECOGNIZE": "off",
            "GALLERY_RATE_LIMIT_UPLOAD": "off",
            "GALLERY_LABEL_ON_UPLOAD": False,
        }
    )
    client = app.test_client()
    for key in ("a.png", "dir/b.jpg", "c"):
        fmt = "JPEG" if key.endswith(".jpg") else "PNG"
        response = client.post(
            "/api/images",
            data={"key": key, "file": (io.BytesIO(make_image(fmt)), key)},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert response.status_code == 201
    return app


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_errors(fuzz_app, method, path):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", fuzz_app)
    operation = schema[path][method]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the quick mode checks the same cases on every run
        suppress_health_check=list(HealthCheck),
    )
    # Valid requests and deliberately invalid ones (wrong types, missing fields, out of range).
    @given(case=st.one_of(operation.as_strategy(generation_mode=mode) for mode in GenerationMode))
    def check(case):
        response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
        CALLS.append(1)
        assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}"
        if response.status_code >= 400 and path.startswith("/api/"):
            error = response.json()["error"]
            assert isinstance(error["code"], str) and len(error["message"]) > 10

    check()


def test_fuzz_case_count():
    """Runs last in this file: says how many requests the fuzzing sent (printed with -s or -rA)."""
    print(f"schemathesis: {len(CALLS)} requests over {len(OPERATIONS)} operations, 0 server errors")
    assert len(CALLS) >= len(OPERATIONS) * min(EXAMPLES, 5)
