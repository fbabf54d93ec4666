"""Slow and stalled clients against gunicorn with the production settings (gunicorn.conf.py).

50 connections that stop half-way through their headers, or trickle a body a byte at a time,
leave /healthz and /gallery answering within 1 s, and are closed by the server once the read
deadline (GALLERY_READ_TIMEOUT, 3 s here) has passed. Requests that arrive in pieces, pipelined,
chunked or after a 100 Continue are still served.
"""

from __future__ import annotations

import contextlib
import io
import re
import select
import socket
import time

import numpy as np
import pytest
import requests
from PIL import Image
from servers import gunicorn

from app.buffered_worker import ChunkedBody, RequestBytes

pytestmark = pytest.mark.server

READ_TIMEOUT = 3.0
STALLED = 50
TOKEN = "slow-clients-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn -c gunicorn.conf.py wsgi:app on a free loopback port (its port); stopped by its pid."""
    data, logs = tmp_path_factory.mktemp("slow-data"), tmp_path_factory.mktemp("slow-log")
    settings = {
        "GALLERY_READ_TIMEOUT": str(READ_TIMEOUT),
        "GALLERY_MAX_UPLOAD_MB": "1",
        "SECRET_KEY": "slow-clients-test",
        "GALLERY_API_TOKENS": TOKEN,
    }
    with gunicorn(data, logs / "gunicorn.log", **settings) as base:
        yield int(base.rsplit(":", 1)[1])


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=2)


def timed_get(port: int, path: str) -> float:
    """Seconds until a 200 for ``path`` on a new connection; infinity after 1 s without one."""
    start = time.monotonic()
    try:
        response = requests.get(f"http://127.0.0.1:{port}{path}", timeout=1.0)
    except requests.Timeout:
        return float("inf")
    assert response.status_code == 200, path
    return time.monotonic() - start


def png(side: int = 40) -> bytes:
    """Noise, so the PNG is about 3 bytes a pixel."""
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(side).integers(0, 256, (side, side, 3), dtype=np.uint8)).save(out, "PNG")
    return out.getvalue()


def multipart(boundary: bytes, key: str, data: bytes) -> bytes:
    return (
        b'--%s\r\nContent-Disposition: form-data; name="key"\r\n\r\n%s\r\n' % (boundary, key.encode())
        + b'--%s\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n' % boundary
        + b"Content-Type: image/png\r\n\r\n%s\r\n--%s--\r\n" % (data, boundary)
    )


def read_response(sock: socket.socket, heads: int = 1) -> bytes:
    """What the server sends until ``heads`` response heads (status line to blank line) are in,
    it closes, or 2 s pass; enough for the status lines checked here."""
    sock.settimeout(2)
    data = b""
    for _ in range(100):
        try:
            piece = sock.recv(65536)
        except TimeoutError:
            break
        data += piece
        if not piece or data.count(b"\r\n\r\n") >= heads:
            break
    return data


def test_stalled_clients_hold_no_thread_and_are_dropped_after_the_deadline(server):
    headers_only = [connect(server) for _ in range(STALLED // 2)]
    for sock in headers_only:
        sock.sendall(b"GET /gallery HTTP/1.1\r\nHost: x\r\n")
    trickling = [connect(server) for _ in range(STALLED - STALLED // 2)]
    for sock in trickling:
        sock.sendall(b"POST /api/images HTTP/1.1\r\nHost: x\r\nContent-Length: 900000\r\n\r\nx")
    opened = time.monotonic()
    stalled = headers_only + trickling

    # While they stall (and the trickling ones keep sending), other clients are served at once.
    timings = []
    while time.monotonic() - opened < READ_TIMEOUT - 1:
        for sock in trickling:
            sock.send(b"x")
        timings += [timed_get(server, "/healthz"), timed_get(server, "/gallery")]
        time.sleep(0.2)
    assert len(timings) >= 4
    assert max(timings) < 1.0, timings

    # Then the server closes every one of them: after the deadline, not before.
    closed: dict[socket.socket, float] = {}
    replies: dict[socket.socket, bytes] = {}
    while len(closed) < len(stalled) and time.monotonic() - opened < READ_TIMEOUT + 5:
        for sock in trickling:
            if sock not in closed:
                with contextlib.suppress(OSError):  # closed by the server: recv below says so
                    sock.send(b"x")
        readable, _, _ = select.select([s for s in stalled if s not in closed], [], [], 0.2)
        for sock in readable:
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if data:
                replies[sock] = replies.get(sock, b"") + data
            else:
                closed[sock] = time.monotonic() - opened
    for sock in stalled:
        sock.close()
    assert len(closed) == len(stalled), f"{len(stalled) - len(closed)} stalled connections still open"
    assert min(closed.values()) >= READ_TIMEOUT - 0.5, sorted(closed.values())
    assert all(reply.startswith(b"HTTP/1.1 408 ") for reply in replies.values()), list(replies.values())[:3]
    assert timed_get(server, "/healthz") < 1.0


def test_requests_in_pieces_pipelined_chunked_or_after_100_continue_are_served(server):
    with connect(server) as sock:  # headers in three pieces, then another request on the connection
        for piece in (b"GET /heal", b"thz HTTP/1.1\r\nHo", b"st: x\r\n\r\n"):
            sock.sendall(piece)
            time.sleep(0.2)
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 404 ")

    with connect(server) as sock:  # two requests in one packet: both answered, in order
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        answers = read_response(sock, heads=2)
        assert answers.startswith(b"HTTP/1.1 200 ") and b"HTTP/1.1 404 " in answers

    # Uploads whose body arrives in pieces, chunked or after a 100 Continue, reach the app whole.
    image = png()
    boundary = b"slowclientboundary"
    head = b"POST /api/images HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode()
    head += b"\r\nContent-Type: multipart/form-data; boundary=" + boundary
    for key, chunked in (("slow/chunked.png", True), ("slow/continued.png", False)):
        body = multipart(boundary, key, image)
        with connect(server) as sock:
            if chunked:
                sock.sendall(head + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
                for i in range(0, len(body), 700):
                    piece = body[i : i + 700]
                    sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                    time.sleep(0.05)
                sock.sendall(b"0\r\nX-Trailer: 1\r\n\r\n")
            else:
                sock.sendall(head + b"\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
                assert read_response(sock) == b"HTTP/1.1 100 Continue\r\n\r\n"
                sock.sendall(body)
            answer = read_response(sock)
        assert answer.startswith(b"HTTP/1.1 201 ") and b"100 Continue" not in answer, answer[:200]
        assert requests.get(f"http://127.0.0.1:{server}/images/{key}", timeout=2).content == image

    # A slow but steady upload (160 KB/s) may take longer than the deadline: it grows with what arrives.
    image = png(450)
    body = multipart(boundary, "slow/steady.png", image)
    with connect(server) as sock:
        sock.sendall(head + b"\r\nContent-Length: %d\r\n\r\n" % len(body))
        started = time.monotonic()
        for i in range(0, len(body), 40_000):
            sock.sendall(body[i : i + 40_000])
            time.sleep(0.25)
        assert time.monotonic() - started > READ_TIMEOUT
        assert read_response(sock).startswith(b"HTTP/1.1 201 ")
    assert requests.get(f"http://127.0.0.1:{server}/images/slow/steady.png", timeout=2).content == image

    with connect(server) as sock:  # a body above the upload limit is refused before it is read
        sock.sendall(b"POST /api/images HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 413 ")


def test_an_early_answer_to_a_large_body_keeps_its_keep_alive_promise(server):
    # The app answers before reading the body: 401 (no credentials), or 413 from Flask for a body
    # between the app's limit and the worker's. gthread used to say keep-alive, then close.
    bearer = b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
    for size, credentials, status in ((900_000, b"", b"401"), (1_200_000, bearer, b"413")):
        with connect(server) as sock:
            sock.sendall(b"POST /api/images HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n" % (credentials, size))
            sock.sendall(b"x" * size)
            answer = read_response(sock)
            assert answer.startswith(b"HTTP/1.1 " + status), answer[:100]
            head, _, body = answer.partition(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            while len(body) < length:
                body += sock.recv(65536)
            said_close = b"connection: close" in head.lower()
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            again = read_response(sock)
            assert said_close or again.startswith(b"HTTP/1.1 200 "), (size, again[:100])


@pytest.mark.parametrize("step", [1, 3, 1000])
def test_request_ends_where_its_framing_says_in_any_pieces(step):
    chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n10\r\n" + b"p" * 16
    chunked += b"\r\n0\r\nA: b\r\n\r\n"
    cases = [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"NEXT"),
        (b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", b"GET"),
        (chunked, b"G"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b""),
    ]
    for whole, after in cases:
        request, rest = RequestBytes(deadline=0, max_body=1000), b""
        data = whole + after
        for i in range(0, len(data), step):
            assert not request.complete
            rest += request.feed(data[i : i + step])
            if request.complete:
                rest += data[i + step :]
                break
        assert request.complete, whole
        assert rest == after
        assert b"".join(request.chunks_of_bytes()) == whole


def test_heads_the_parser_refuses_are_handed_over_at_once():
    for head in [
        b"GET / HTTP/1.1\nHost: x\n",  # bare LF
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ]:
        request = RequestBytes(deadline=0, max_body=1000)
        request.feed(head)
        assert request.complete, head
    body = ChunkedBody()
    with pytest.raises(ValueError):
        body.feed(b"5\nhello")
