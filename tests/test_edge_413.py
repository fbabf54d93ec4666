"""A body over the upload limit gets the app's 413 (JSON naming the limit and /api/uploads, or the
error page) from a real server: waitress as ``make run`` starts it (serve.py), which refuses such
bodies before reading them, and gunicorn. nginx's own 413 is tests/test_slow_clients.py's."""

from __future__ import annotations

import json
import re
import socket

import pytest
import requests
from servers import gunicorn, waitress

pytest_plugins = ["cloud"]

LIMIT_MB = "1"  # small, so bodies over the limit are quick to send
SERVERS = {"waitress": waitress, "gunicorn": gunicorn}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request, tmp_path_factory):
    data, logs = tmp_path_factory.mktemp("edge-data"), tmp_path_factory.mktemp("edge-log")
    start = SERVERS[request.param]
    with start(data, logs / "server.log", GALLERY_MAX_UPLOAD_MB=LIMIT_MB, SECRET_KEY="edge-413") as base:
        yield base


def declared_only(base: str, path: str, length: int, accept: str = "application/json") -> tuple[str, dict, bytes]:
    """Send a request head declaring ``length`` body bytes and none of them; the whole answer."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\nContent-Type: multipart/form-data; "
        sock.sendall(f"{head}boundary=b\r\nContent-Length: {length}\r\n\r\n".encode())
        answer = b""
        while True:
            head_end = answer.find(b"\r\n\r\n")
            if head_end >= 0:
                size = re.search(rb"(?i)content-length: *(\d+)", answer[:head_end])
                if size and len(answer) >= head_end + 4 + int(size.group(1)):
                    break
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0].decode()
    headers = dict(line.decode().lower().split(": ", 1) for line in head.split(b"\r\n")[1:] if b": " in line)
    return status, headers, body


def assert_names_the_limit(body: bytes) -> None:
    error = json.loads(body)["error"]
    assert error["code"] == "too_large"
    assert f"{LIMIT_MB} MB" in error["message"] and "/api/uploads" in error["message"], error


@pytest.mark.parametrize("length", [2 * 1024 * 1024 + 1, 99_999_999])  # past the app's limit; past waitress's too
def test_a_declared_body_over_the_limit_gets_the_json_413_unread(server, length):
    status, headers, body = declared_only(server, "/api/images", length)
    assert status.startswith("HTTP/1.1 413"), (status, body[:300])
    assert headers["content-type"].startswith("application/json")
    assert_names_the_limit(body)


def test_a_sent_body_over_the_limit_gets_the_json_413(server):
    files = {"file": ("big.png", b"\0" * 1536 * 1024, "image/png")}
    response = requests.post(f"{server}/api/images", data={"key": "big.png"}, files=files, timeout=20)
    assert response.status_code == 413 and response.headers["Content-Type"].startswith("application/json")
    assert_names_the_limit(response.content)


def test_a_chunked_body_over_the_limit_gets_the_json_413(server):
    def chunks():
        boundary = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n\r\n'
        yield boundary
        for _ in range(24):  # 1.5 MB in 64 KiB pieces, with no Content-Length
            yield b"\0" * 65536
        yield b"\r\n--b--\r\n"

    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    response = requests.post(f"{server}/api/images", data=chunks(), headers=headers, timeout=20)
    assert response.status_code == 413, response.text[:300]
    assert_names_the_limit(response.content)


def test_a_page_upload_over_the_limit_gets_the_error_page(server):
    status, headers, body = declared_only(server, "/upload", 99_999_999, accept="text/html")
    assert status.startswith("HTTP/1.1 413") and headers["content-type"].startswith("text/html")
    assert b"Too large" in body and b"1 MB" in body


def test_the_server_still_answers_afterwards(server):
    assert requests.get(f"{server}/healthz", timeout=5).status_code == 200
