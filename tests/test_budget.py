"""The work budget of a request: each operation declares its cost next to itself, a pipeline's
cost is estimated from the header before decoding, an over-budget request is a 422 that says how
far to resize first, and costly work runs in a worker process under a hard deadline."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import make_app, snapshot

from app import processing
from app.processing import budget
from app.runtime import work

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))
import make_corpus as corpus  # noqa: E402


def noise_png(width: int, height: int, channels: int = 3) -> bytes:
    pixels = np.random.default_rng(width).integers(0, 256, (height, width, channels), dtype=np.uint8)
    return cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()


def process(client, data: bytes, steps: list[dict], environ_base=None, **fields):
    from conftest import csrf_token

    return client.post(
        "/api/process",
        data={"ops": json.dumps(steps), "file": (io.BytesIO(data), "x.png"), **fields},
        headers={"X-CSRFToken": csrf_token(client)},
        content_type="multipart/form-data",
        environ_base=environ_base or {},
    )


def test_every_operation_declares_its_cost():
    for name, operation in processing.OPS.items():
        step = processing.normalize_step({"op": name, **({"width": 10} if name == "resize" else {})})
        assert operation.cpu_ns(step) > 0 and operation.memory(step) > 0 and operation.channels(3, step) in (1, 3, 4)


@pytest.mark.parametrize(
    ("steps", "costlier"),
    [
        ([{"op": "sharpen", "radius": 1}], [{"op": "sharpen", "radius": 20}]),
        ([{"op": "blur", "kind": "gaussian", "size": 5}], [{"op": "blur", "kind": "bilateral", "size": 5}]),
        ([{"op": "blur", "kind": "bilateral", "size": 5}], [{"op": "blur", "kind": "bilateral", "size": 25}]),
        ([{"op": "color", "mode": "gray"}], [{"op": "color", "mode": "gray"}] * 5),
        ([{"op": "sharpen"}], [{"op": "resize", "scale": 2}, {"op": "sharpen"}]),
    ],
)
def test_costs_grow_with_radius_kernel_step_count_and_size(steps, costlier):
    data = noise_png(400, 300)
    cheap = budget.estimate(processing.prepare(data, steps, "jpeg"), len(data))
    dear = budget.estimate(processing.prepare(data, costlier, "jpeg"), len(data))
    assert dear.seconds > cheap.seconds


def test_a_leading_resize_makes_the_rest_cheap():
    data = noise_png(2000, 1500)
    sharpen = [{"op": "sharpen", "radius": 30}]
    full = budget.estimate(processing.prepare(data, sharpen, "jpeg"), len(data))
    resized = budget.estimate(processing.prepare(data, [{"op": "resize", "width": 500}, *sharpen], "jpeg"), len(data))
    assert resized.seconds < full.seconds / 4


def test_16bit_and_alpha_cost_more_than_8bit_rgb():
    rgb = cv2.imencode(".png", np.zeros((300, 400, 3), np.uint8))[1].tobytes()
    rgba16 = cv2.imencode(".png", np.zeros((300, 400, 4), np.uint16))[1].tobytes()
    steps = [{"op": "blur", "kind": "median", "size": 9}]
    assert (
        budget.estimate(processing.prepare(rgba16, steps, "png"), len(rgba16)).peak_bytes
        > 2 * budget.estimate(processing.prepare(rgb, steps, "png"), len(rgb)).peak_bytes
    )


def test_an_over_budget_pipeline_is_a_422_that_suggests_resizing_first(tmp_path):
    app = make_app(tmp_path)
    client = app.test_client()
    before = snapshot(app.extensions["services"], stats=False)
    data, bilateral = noise_png(1000, 1000), [{"op": "blur", "kind": "bilateral", "size": 25}] * 10
    response = process(client, data, bilateral)
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "over_budget"
    message = error["message"]
    assert "CPU seconds (the limit is 8) on a 1000×1000 image" in message
    assert "step 1 (blur) costs the most" in message
    assert "Resize it first: start with a resize step to" in message
    suggested = int(message.split("resize step to ")[1].split(" px")[0])
    assert 100 <= suggested < 1000
    # The suggestion fits the budget (estimated only: running it would take seconds).
    resized = processing.prepare(data, [{"op": "resize", "width": suggested}, *bilateral[1:]])
    assert budget.check(resized, len(data), 8, 768 * 2**20).seconds <= 8
    assert snapshot(app.extensions["services"], stats=False) == before  # the result cache was only asked


def test_the_memory_budget_is_a_422_too(tmp_path):
    client = make_app(tmp_path, GALLERY_WORK_MEMORY_MB="8").test_client()
    response = process(client, noise_png(1000, 1000), [{"op": "sharpen"}])
    assert response.status_code == 422
    assert "MB of memory (the limit is 8 MB)" in response.json["error"]["message"]


def test_png_output_is_priced_and_jpeg_suggested(tmp_path):
    client = make_app(tmp_path, GALLERY_WORK_BUDGET="0.2").test_client()
    response = process(client, noise_png(1500, 1000, 4), [{"op": "color", "mode": "invert"}], format="png")
    assert response.status_code == 422
    assert "encoding as PNG costs the most" in response.json["error"]["message"]
    assert "choose JPEG or WebP output" in response.json["error"]["message"]


def test_the_issue_worst_case_is_refused_from_the_header(tmp_path):
    """A 50 MP 16-bit RGBA PNG with ten unsharp masks of radius 50 cost 1,465 CPU s and 4.36 GB."""
    client = make_app(tmp_path).test_client()
    response = process(client, corpus.png_16bit_header(7071, 7071, 6), [{"op": "sharpen", "radius": 50}] * 10)
    assert response.status_code == 413
    assert "381.5 MB to decode" in response.json["error"]["message"]


@pytest.fixture
def in_workers(monkeypatch):
    """Every piece of image work goes to a worker process, however cheap."""
    monkeypatch.setattr(work, "INLINE_SECONDS", -1.0)


def test_processing_upload_and_recognition_run_in_workers_with_the_same_results(tmp_path, in_workers):
    app = make_app(tmp_path, GALLERY_WORK_PROCESSES="1")
    gallery = app.extensions["services"]
    client = app.test_client()
    photo = (Path(__file__).resolve().parent / "data" / "dog.jpg").read_bytes()
    steps = [{"op": "resize", "width": 200}, {"op": "sharpen", "radius": 2}]
    response = process(client, photo, steps, format="png")
    assert response.status_code == 200
    assert response.data == processing.run(photo, steps, "png").data
    assert gallery.work.pool.pids(), "a worker did the work"
    from conftest import csrf_token

    upload = client.post(
        "/api/images",
        data={"key": "dog.jpg", "file": (io.BytesIO(photo), "dog.jpg")},
        headers={"X-CSRFToken": csrf_token(client)},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201
    labels = client.post(
        "/api/recognize", data={"source_key": "dog.jpg"}, headers={"X-CSRFToken": csrf_token(client)}
    ).json
    assert "Dog" in {label["Name"] for label in labels["Labels"]}
    gallery.work.pool.close()


def test_work_that_overruns_the_deadline_is_stopped_with_a_422_and_that_client_backs_off(tmp_path, in_workers):
    app = make_app(
        tmp_path,
        GALLERY_WORK_TIMEOUT="1",
        GALLERY_WORK_BUDGET="1000",
        GALLERY_WORK_PROCESSES="1",
        GALLERY_WORK_BACKOFF="1.5",
    )
    client = app.test_client()
    slow = [{"op": "blur", "kind": "bilateral", "size": 25}] * 3
    response = process(client, noise_png(1500, 1500), slow)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "over_budget"
    assert "was stopped" in response.json["error"]["message"]
    assert "refused for the next 2 s" in response.json["error"]["message"]
    # That client's next request, however small, waits out its back-off: a loop cannot burn cores.
    small = [{"op": "resize", "width": 50}]
    refused = process(client, noise_png(100, 100), small)
    assert refused.status_code == 429 and refused.json["error"]["code"] == "work_backoff"
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    # Another client's runs at once, and this one's once it has waited.
    other = app.test_client()
    assert process(other, noise_png(100, 100), small, environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 200
    time.sleep(1.6)
    assert process(client, noise_png(100, 100), small).status_code == 200
    app.extensions["services"].work.pool.close()


def test_only_costly_results_of_uploads_go_through_the_cache(tmp_path):
    """Hashing an upload costs about as much as a cheap pipeline on it, so a cheap one is simply
    run again; a costly one is cached, as is every result of a stored image."""
    app = make_app(tmp_path)
    client, cache = app.test_client(), app.extensions["services"].cache
    cheap, data = [{"op": "resize", "width": 32}], noise_png(64, 64)
    assert [process(client, data, cheap).headers["X-Cache"] for _ in range(2)] == ["miss", "miss"]
    assert cache.stats()["requests"] == 0
    costly, data = [{"op": "blur", "kind": "bilateral", "size": 25}] * 2, noise_png(600, 400)
    assert budget.estimate(processing.prepare(data, costly), len(data)).seconds > 0.25
    assert [process(client, data, costly).headers["X-Cache"] for _ in range(2)] == ["miss", "hit"]
