"""An overwrite is never answered with old bytes, whatever cache invalidations were lost.

Each scenario counts stale reads: the unversioned ``/images/<key>`` and ``/thumbs/<key>``, the
API's record and the ``url`` it returns, after overwrites that happened while a memcached node
was paused (SIGSTOP) or killed, or in another process with its own in-process cache.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time

import pytest
from conftest import Api, make_image

from app import create_app

pytest_plugins = ["cloud"]


def image(n: int) -> bytes:
    return make_image("PNG", size=(40 + n % 50, 30 + n // 50), color=(n * 37 % 256, n * 91 % 256, 60))


def stale_reads(client, key: str, data: bytes) -> int:
    """How many of the four ways of reading ``key`` did not answer ``data`` (its current bytes)."""
    sha = hashlib.sha256(data).hexdigest()
    record = client.get(f"/api/images/{key}").get_json()
    served = [
        record["sha256"] == sha,
        client.get(f"/images/{key}").data == data,
        client.get(f"/thumbs/{key}").headers["ETag"] == f'"thumb-{sha}"',
        client.get(record["url"]).data == data,
    ]
    return served.count(False)


def memcached_app(tmp_path, aws, servers: list[str]):
    app = create_app(
        {
            "GALLERY_DATA_DIR": str(tmp_path / "data"),
            "GALLERY_STORAGE": "s3",
            "GALLERY_METADATA": "dynamodb",
            "GALLERY_CACHE": "memcached",
            "GALLERY_S3_BUCKET": aws["bucket"],
            "GALLERY_DYNAMODB_TABLE": aws["table"],
            "GALLERY_MEMCACHED_SERVERS": ",".join(servers),
            "GALLERY_MEMCACHED_TIMEOUT": 0.2,
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    result = app.test_cli_runner().invoke(args=["gallery", "init"])
    assert result.exit_code == 0, result.output
    app.extensions["services"].cache._client.dead_timeout = 1  # a node back from a pause rejoins quickly
    return app


def fullest(pool):
    """The node holding the most entries (the one whose lost invalidations would matter most)."""
    return max(pool.nodes, key=lambda node: _items(node))


def _items(node) -> int:
    import socket

    with socket.create_connection(("127.0.0.1", node.port), timeout=2) as s:
        s.sendall(b"stats\r\n")
        raw = b""
        while not raw.endswith(b"END\r\n"):
            raw += s.recv(65536)
    stats = dict(line.split()[1:3] for line in raw.decode().splitlines() if line.startswith("STAT "))
    return int(stats["curr_items"])


def test_a_paused_memcached_node_serves_no_stale_image_after_it_resumes(aws, own_memcached_pool, tmp_path):
    app = memcached_app(tmp_path, aws, own_memcached_pool.servers)
    api = Api(app.test_client())
    current = {f"photos/{i}.png": image(i) for i in range(8)}
    for key, data in current.items():
        assert api.upload(key, data).status_code == 201
        assert stale_reads(api.client, key, data) == 0  # and now cached
    victim = fullest(own_memcached_pool)
    os.kill(victim.proc.pid, signal.SIGSTOP)
    paused = time.monotonic()
    try:
        for n, key in enumerate(current, start=100):
            current[key] = image(n)
            assert api.upload(key, current[key]).status_code == 200
        time.sleep(max(0.0, 4 - (time.monotonic() - paused)))
    finally:
        os.kill(victim.proc.pid, signal.SIGCONT)
    time.sleep(1.2)  # past the client's dead timeout: the node is back in the ring
    stale = sum(stale_reads(api.client, key, data) for _ in range(3) for key, data in current.items())
    ring = app.extensions["services"].cache._client.hasher.nodes
    assert victim.address in ring
    assert stale == 0


def test_killed_memcached_nodes_serve_no_stale_image(aws, own_memcached_pool, tmp_path):
    """Kill a node until the client drops it (its keys go to the others, which fill in), restart it
    until it rejoins, overwrite every image, read; twice, then kill it once more."""
    app = memcached_app(tmp_path, aws, own_memcached_pool.servers)
    api, ring = Api(app.test_client()), app.extensions["services"].cache._client.hasher.nodes
    current = {f"photos/{i}.png": image(i) for i in range(8)}
    for key, data in current.items():
        assert api.upload(key, data).status_code == 201
    victim, stale, n = own_memcached_pool.nodes[0], 0, 100

    def read_until(in_ring: bool) -> int:
        """Read every image until the client has dropped (or taken back) the victim; then once more."""
        found, deadline = 0, time.monotonic() + 10
        while (victim.address in ring) != in_ring and time.monotonic() < deadline:
            found += sum(stale_reads(api.client, key, data) for key, data in current.items())
            time.sleep(0.2)
        assert (victim.address in ring) == in_ring
        return found + sum(stale_reads(api.client, key, data) for key, data in current.items())

    for _ in range(2):
        victim.kill()
        stale += read_until(in_ring=False)
        victim.start()
        stale += read_until(in_ring=True)
        for key in current:
            n += 1
            current[key] = image(n)
            assert api.upload(key, current[key]).status_code == 200
        stale += sum(stale_reads(api.client, key, data) for key, data in current.items())
    victim.kill()
    stale += read_until(in_ring=False)
    assert stale == 0


@pytest.mark.parametrize("backends", ["local", "cloud"])
def test_two_processes_with_their_own_in_process_cache_never_serve_stale(backends, request, tmp_path):
    """Two gunicorn workers (local + SQLite) or two Lambda containers (S3 + DynamoDB), each with its
    own in-process cache: what one overwrites, the other serves at once."""
    config = {"GALLERY_DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test-secret", "TESTING": True}
    if backends == "cloud":
        aws = request.getfixturevalue("aws")
        config |= {
            "GALLERY_STORAGE": "s3",
            "GALLERY_METADATA": "dynamodb",
            "GALLERY_S3_BUCKET": aws["bucket"],
            "GALLERY_DYNAMODB_TABLE": aws["table"],
        }
    first = create_app(config)
    if backends == "cloud":
        assert first.test_cli_runner().invoke(args=["gallery", "init"]).exit_code == 0
    apis = [Api(first.test_client()), Api(create_app(config).test_client())]
    key, stale = "shared.png", 0
    assert apis[0].upload(key, image(0)).status_code == 201
    for n in range(1, 11):
        writer, reader = apis[n % 2], apis[(n + 1) % 2]
        stale += stale_reads(reader.client, key, image(n - 1))  # the reader caches the current version
        assert writer.upload(key, image(n)).status_code == 200
        stale += sum(stale_reads(reader.client, key, image(n)) for _ in range(5))
    assert stale == 0


@pytest.mark.server
def test_gunicorn_with_two_workers_and_the_in_process_cache_serves_no_stale_image(tmp_path):
    """The production server (gunicorn.conf.py) with two workers, each with its own in-process cache:
    forty clients at once read an image, one overwrites it, all read again; five times over. The
    access log names the worker (pid) of each request, to show that both served reads."""
    import re
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from servers import gunicorn

    token, log_path = "stale-test-token", tmp_path / "gunicorn.log"
    settings = {"GALLERY_WORKERS": "2", "GALLERY_API_TOKENS": token, "SECRET_KEY": "stale-test"}
    settings["GALLERY_LABEL_ON_UPLOAD"] = "false"  # staleness is about bytes; labelling only adds time
    logformat = ("--access-logformat", "pid=%(p)s %(U)s")
    with gunicorn(tmp_path / "data", log_path, logformat, **settings) as base:
        auth = {"Authorization": f"Bearer {token}"}

        def upload(n: int):
            files = {"file": ("a.png", image(n), "image/png")}
            return requests.post(f"{base}/api/images", data={"key": "a.png"}, files=files, headers=auth, timeout=10)

        def stale(n: int) -> int:
            sha = hashlib.sha256(image(n)).hexdigest()
            original = requests.get(f"{base}/images/a.png", timeout=10).content != image(n)
            thumb = requests.get(f"{base}/thumbs/a.png", timeout=10).headers["ETag"] != f'"thumb-{sha}"'
            return original + thumb

        assert upload(0).status_code == 201
        stale_reads = 0
        with ThreadPoolExecutor(40) as pool:
            for n in range(6):
                if n:
                    assert upload(n).status_code == 200
                stale_reads += sum(pool.map(stale, [n] * 40))  # 40 connections at once: both workers answer
        served_by = set(re.findall(r"pid=<(\d+)> /images/a.png", log_path.read_text()))
        assert len(served_by) == 2, "one worker served every read"
        assert stale_reads == 0
