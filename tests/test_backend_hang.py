"""A hung backend: a moto server stopped with SIGSTOP still accepts connections but never
answers. Requests that need it must become clear 503s within 5 s, /healthz must keep answering
within 1 s and say what hangs, and after SIGCONT everything must work again."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import Api, make_image

from app import create_app
from app.runtime.health import HealthChecks

pytest_plugins = ["cloud"]


@pytest.fixture
def own_moto(monkeypatch):
    """A private moto server for S3 and DynamoDB, so stopping it touches no other test."""
    from cloud import MotoServer

    server = MotoServer()
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    yield server
    os.kill(server.proc.pid, signal.SIGCONT)  # a stopped process would not act on SIGTERM
    server.stop()


def timed(call):
    start = time.monotonic()
    response = call()
    return response, time.monotonic() - start


def test_hung_aws_is_a_quick_503_and_healthz_keeps_answering(own_moto, tmp_path):
    app = create_app(
        {
            "GALLERY_DATA_DIR": str(tmp_path / "data"),
            "GALLERY_STORAGE": "s3",
            "GALLERY_METADATA": "dynamodb",
            "GALLERY_CACHE": "memory",
            "GALLERY_S3_BUCKET": "hang",
            "GALLERY_DYNAMODB_TABLE": "hang",
            "GALLERY_LABEL_ON_UPLOAD": False,
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    assert app.test_cli_runner().invoke(args=["gallery", "init"]).exit_code == 0
    upload, get, listing, probe = (Api(app.test_client()) for _ in range(4))  # tokens fetched while up
    assert upload.upload("photos/a.png", make_image()).status_code == 201
    requests = {
        "upload": lambda: upload.upload("photos/b.png", make_image(color=(1, 2, 3))),
        "get": lambda: get.client.get("/api/images/photos/a.png"),
        "list": lambda: listing.client.get("/api/images"),
    }

    os.kill(own_moto.proc.pid, signal.SIGSTOP)
    with ThreadPoolExecutor(len(requests)) as pool:
        pending = {name: pool.submit(timed, call) for name, call in requests.items()}
        time.sleep(0.3)  # the requests are now waiting on the hung server
        for _ in range(2):  # the second answer comes from the brief cache
            health, seconds = timed(lambda: probe.client.get("/healthz"))
            assert health.status_code == 200 and seconds < 1, seconds
            body = health.get_json()
            assert body["status"] == "degraded" and body["checks"]["cache"] == "ok"
            assert body["checks"]["storage"].startswith("no answer") and body["checks"]["metadata"].startswith(
                "no answer"
            )
        for name, future in pending.items():
            response, seconds = future.result()
            assert response.status_code == 503 and seconds < 5, (name, response.status_code, seconds)
            error = response.get_json()["error"]
            assert error["code"] == "backend_unavailable", name
            assert "is unavailable" in error["message"] and "did not answer" in error["message"], error

    os.kill(own_moto.proc.pid, signal.SIGCONT)
    deadline = time.monotonic() + 10
    while probe.client.get("/healthz").get_json()["status"] != "ok":
        assert time.monotonic() < deadline, "/healthz did not recover within 10 s of SIGCONT"
        time.sleep(0.2)
    for name, call in requests.items():
        assert call().status_code in (200, 201), name
    assert [item["key"] for item in listing.client.get("/api/images").get_json()["items"]] == [
        "photos/b.png",
        "photos/a.png",
    ]


def test_a_flood_of_probes_runs_one_check_per_backend():
    release, calls = threading.Event(), []

    def hung() -> str:
        calls.append(1)
        release.wait(10)
        return "ok"

    def broken() -> str:
        raise RuntimeError("no")

    health = HealthChecks({"storage": hung, "metadata": broken, "cache": lambda: "ok"}, timeout=0.2, max_age=0.3)
    start = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        reports = list(pool.map(lambda _: health.report(), range(64)))
    assert time.monotonic() - start < 1.5
    assert len(calls) == 1  # never started again while it hangs
    assert reports[-1] == {
        "status": "degraded",
        "checks": {"storage": "no answer within 0.2 s", "metadata": "failed (RuntimeError)", "cache": "ok"},
    }

    release.set()
    time.sleep(0.35)
    assert health.report()["checks"]["storage"] == "ok" and len(calls) == 2
