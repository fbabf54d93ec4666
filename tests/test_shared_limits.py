"""With GALLERY_CACHE=memcached the rate-limit counters live in memcached, so every worker and
Lambda container spends one budget per client; a memcached outage does not fail requests."""

from __future__ import annotations

import io
import socket

from conftest import make_app, make_image
from test_security import token_of, upload

pytest_plugins = ["cloud"]


def memcached_app(tmp_path, servers: list[str], **settings):
    return make_app(tmp_path, GALLERY_CACHE="memcached", GALLERY_MEMCACHED_SERVERS=",".join(servers), **settings)


def process(client, token, width):
    ops = f'[{{"op": "resize", "width": {width}}}]'
    return client.post("/api/process", data={"source_key": "a.png", "ops": ops}, headers={"X-CSRFToken": token})


def test_limits_are_shared_by_every_container(tmp_path, memcached_servers):
    limits = {"GALLERY_RATE_LIMIT_UPLOAD": "3/minute", "GALLERY_RATE_LIMIT_PROCESS": "1/minute"}
    first = memcached_app(tmp_path, memcached_servers, **limits).test_client()
    token = token_of(first, "/upload")
    assert [upload(first, f"{k}.png", headers={"X-CSRFToken": token}).status_code for k in "ab"] == [201, 201]
    assert process(first, token, 20).status_code == 200
    # Another container (a fresh app in a fresh limiter) starts from the same counters.
    second = memcached_app(tmp_path, memcached_servers, **limits).test_client()
    token = token_of(second, "/upload")
    assert upload(second, "c.png", headers={"X-CSRFToken": token}).status_code == 201
    assert upload(second, "d.png", headers={"X-CSRFToken": token}).status_code == 429
    assert process(second, token, 21).status_code == 429
    assert process(second, token, 20).status_code == 200  # a cached result is free everywhere


def test_a_memcached_outage_counts_locally_instead_of_failing(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = [f"127.0.0.1:{probe.getsockname()[1]}"]
    client = memcached_app(
        tmp_path, dead, GALLERY_RATE_LIMIT_UPLOAD="2/minute", GALLERY_RATE_LIMIT_PROCESS="1/minute"
    ).test_client()
    token = token_of(client, "/upload")
    statuses = [upload(client, f"{k}.png", headers={"X-CSRFToken": token}).status_code for k in "abc"]
    assert statuses == [201, 201, 429]
    assert [process(client, token, w).status_code for w in (20, 21)] == [200, 429]
    files = {"csrf_token": token, "file": (io.BytesIO(make_image()), "page.png")}
    assert client.post("/upload", data=files).status_code == 429
