"""gunicorn's gthread worker, except that the main loop reads each request whole before a
thread sees it (``worker_class`` in gunicorn.conf.py).

gthread hands a connection to a thread as soon as a byte arrives, and the thread then reads the
headers and body with blocking calls and no deadline: a few clients that stop half-way, or send
a byte every few seconds, hold every thread and the server stops answering. Here the poller
reads the request as it arrives (headers, then a body framed by Content-Length or chunked), in
memory and past 1 MiB in a temporary file, as waitress and nginx do; a thread gets it only when
it is complete, so no thread ever waits on a client. A request not complete within
``read_timeout`` seconds (plus one second per 64 KiB received, so that a slow but steady upload
finishes) gets a 408 and is closed; one declaring a body above ``max_body`` gets a 413 at once.

TLS, HTTP/2, the PROXY protocol and uwsgi are left to gthread's own reading; deployments
terminate TLS in the reverse proxy (deploy/nginx.conf), which also buffers requests.
"""

from __future__ import annotations

import contextlib
import re
import selectors
import tempfile
import time
from functools import partial

from gunicorn import http
from gunicorn.http.unreader import IterUnreader
from gunicorn.workers.gthread import ThreadWorker

HEAD_LIMIT = 1 << 20  # above gunicorn's header limits (about 820 KB), which answer 400 past them
LINE_LIMIT = 4096  # one chunk-size or trailer line
IN_MEMORY = 1 << 20  # a larger request is spooled to a temporary file
RECV_SIZE = 256 * 1024
MIN_RATE = 64 * 1024  # bytes a second that keep extending the deadline
HEX = re.compile(rb"[0-9A-Fa-f]+")
BARE_LF = re.compile(rb"(?<!\r)\n")


class TooLarge(Exception):
    pass


class ChunkedBody:
    """Finds where a chunked body ends as its bytes arrive, keeping only the current line."""

    def __init__(self):
        self.line = bytearray()
        self.skip = 0  # bytes of chunk data, and the CRLF after them, still to pass over
        self.trailers = False

    def feed(self, data: bytes) -> int | None:
        """Where in ``data`` the body ends, or None while it goes on; ValueError if malformed."""
        pos = 0
        while pos < len(data):
            if self.skip:
                step = min(self.skip, len(data) - pos)
                self.skip -= step
                pos += step
                continue
            end = data.find(b"\n", pos)
            self.line += data[pos : len(data) if end < 0 else end + 1]
            if len(self.line) > LINE_LIMIT:
                raise ValueError("chunk line too long")
            if end < 0:
                return None
            pos = end + 1
            line, self.line = bytes(self.line), bytearray()
            if not line.endswith(b"\r\n"):
                raise ValueError("bare LF")
            line = line[:-2]
            if self.trailers:
                if not line:
                    return pos
                continue
            size = line.split(b";", 1)[0].rstrip(b" \t")
            if not HEX.fullmatch(size):
                raise ValueError("bad chunk size")
            if int(size, 16):
                self.skip = int(size, 16) + 2
            else:
                self.trailers = True
        return None


def framing(head: bytes) -> tuple[int | None, bool]:
    """The body length a request head declares (None: chunked) and whether its client waits for
    a 100 Continue; ValueError when the parser will refuse the head anyway."""
    lines = head.removeprefix(b"\r\n").split(b"\r\n")
    lengths, codings, expect = [], [], False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.lower(), value.strip(b" \t")
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            codings += [c.strip(b" \t").lower() for c in value.split(b",")]
        elif name == b"expect":
            expect = value.lower() == b"100-continue" and lines[0].endswith(b"HTTP/1.1")
    if codings:
        if lengths or codings[-1] != b"chunked":
            raise ValueError("ambiguous framing")
        return None, expect
    if len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
        raise ValueError("bad Content-Length")
    length = int(lengths[0]) if lengths else 0
    return length, expect and length > 0


class RequestBytes:
    """The bytes of one request as they arrive, and whether they are all there."""

    def __init__(self, deadline: float, max_body: int, spool_dir: str | None = None):
        self.deadline = deadline
        self.max_body = max_body
        self.head = bytearray()
        self.spool = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY, dir=spool_dir)  # noqa: SIM115 - closed once read back, or with self
        self.in_head = True
        self.body_left = 0  # Content-Length bytes still to come
        self.chunks: ChunkedBody | None = None
        self.body_size = 0
        self.received = 0
        self.complete = False
        self.wants_continue = False

    def feed(self, data: bytes) -> bytes:
        """Keep the bytes of this request; return any after its end (a pipelined request).
        Raises TooLarge for a body above ``max_body``."""
        self.received += len(data)
        self.deadline += len(data) / MIN_RATE
        if self.in_head:
            data = self._feed_head(data)
            if self.complete or self.in_head:
                return b""
        if self.chunks is None:
            take = min(self.body_left, len(data))
            self.body_left -= take
            self.complete = not self.body_left
        else:
            try:
                end = self.chunks.feed(data)
            except ValueError:
                end = len(data)  # the parser answers 400
            take = len(data) if end is None else end
            self.complete = end is not None
            self.body_size += take
            if self.body_size > self.max_body:
                raise TooLarge
        self.spool.write(data[:take])
        return data[take:]

    def _feed_head(self, data: bytes) -> bytes:
        seen = len(self.head)
        self.head += data
        end = self.head.find(b"\r\n\r\n", max(0, seen - 3))
        if end < 0:
            if BARE_LF.search(self.head, seen) or len(self.head) > HEAD_LIMIT:
                self.spool.write(self.head)  # as it is: the parser answers 400
                self.complete, self.in_head = True, False
            return b""
        head, rest = bytes(self.head[: end + 4]), bytes(self.head[end + 4 :])
        self.head, self.in_head = bytearray(), False
        self.spool.write(head)
        try:
            length, self.wants_continue = framing(head)
        except ValueError:
            self.spool.write(rest)
            self.complete = True
            return b""
        if length is None:
            self.chunks = ChunkedBody()
        elif length > self.max_body:
            raise TooLarge
        else:
            self.body_left = length
        return rest

    def chunks_of_bytes(self):
        """The request's bytes for gunicorn's parser, read back from memory or disk."""
        with self.spool as spool:
            spool.seek(0)
            while data := spool.read(RECV_SIZE):
                yield data


class BufferingThreadWorker(ThreadWorker):
    """gthread, with each request read whole by the main loop before a thread gets it."""

    read_timeout = 30.0
    max_body = 26 * 1024 * 1024

    @classmethod
    def configured(cls, read_timeout: float, max_body: int) -> type[BufferingThreadWorker]:
        """This worker with its limits, for ``worker_class`` in gunicorn.conf.py."""
        return type(cls.__name__, (cls,), {"read_timeout": read_timeout, "max_body": max_body})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cfg = self.cfg
        self.buffers = not (
            cfg.is_ssl or cfg.protocol != "http" or cfg.http2_cleartext != "off" or cfg.proxy_protocol != "off"
        )
        self.reading: dict = {}  # connection -> RequestBytes being read by the main loop
        self.pipelined: dict = {}  # connection -> bytes read past its last request

    def init_process(self):
        if not self.buffers:
            self.log.warning("TLS, HTTP/2, PROXY or uwsgi configured: threads read requests as in gthread")
        super().init_process()

    def enqueue_req(self, conn):
        """Read the connection's next request in the main loop; a thread gets it once whole.
        gthread calls this for new connections and for kept-alive ones that became readable."""
        if not self.buffers:
            super().enqueue_req(conn)
            return
        start = conn.parser.unreader.take_buffered() if conn.parser else b""
        start += self.pipelined.pop(conn, b"")
        conn.sock.setblocking(False)
        deadline = time.monotonic() + self.read_timeout
        self.reading[conn] = RequestBytes(deadline, self.max_body, self.cfg.tmp_upload_dir)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_request_bytes, conn))
        if start:
            self.take(conn, start)

    def on_request_bytes(self, conn, sock):
        try:
            data = sock.recv(RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the client went away before its request was complete
            self.close_reading(conn)
            return
        self.take(conn, data)

    def take(self, conn, data: bytes):
        request = self.reading[conn]
        try:
            rest = request.feed(data)
        except TooLarge:
            self.close_reading(conn, b"413 Content Too Large")
            return
        if request.wants_continue and not request.complete:
            request.wants_continue = False
            with contextlib.suppress(OSError):
                conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        if not request.complete:
            return
        self.poller.unregister(conn.sock)
        del self.reading[conn]
        if rest:
            self.pipelined[conn] = rest
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
            conn.initialized = True
        conn.parser.unreader = IterUnreader(request.chunks_of_bytes())
        super().enqueue_req(conn)

    def handle_request(self, req, conn):
        if self.buffers:
            # The body has been read already, after any 100 Continue the main loop sent.
            req._expected_100_continue = False
        return super().handle_request(req, conn)

    def _keepalive_after(self, conn, keepalive):
        """gthread drains at most 64 KiB that the app left unread (an early 401 or 413) and
        otherwise closes the connection it has just answered with ``keep-alive``. Here the body
        is in memory or on disk already, so dropping the rest waits on no client: keep the promise."""
        if not self.buffers or not keepalive:
            return super()._keepalive_after(conn, keepalive)
        return bool(conn.parser.finish_body())

    def finish_request(self, conn, fs):
        super().finish_request(conn, fs)
        if conn in self.pipelined:
            if conn in self.keepalived_conns:
                # Those bytes were read already, so the socket may never become readable again.
                self.on_client_socket_readable(conn, conn.sock)
            else:
                del self.pipelined[conn]

    def murder_pending(self):
        """gthread's, and closes connections past their read deadline (when stopping, those that
        have sent nothing at once)."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c, r in self.reading.items() if r.deadline <= now or not (self.alive or r.received)]:
            self.close_reading(conn, b"408 Request Timeout" if self.reading[conn].received else None)

    def close_reading(self, conn, status: bytes | None = None):
        """Drop a connection whose request will not be served, answering ``status`` if the
        socket takes it at once."""
        self.poller.unregister(conn.sock)
        del self.reading[conn]
        if status:
            with contextlib.suppress(OSError):
                conn.sock.send(b"HTTP/1.1 " + status + b"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        self.nr_conns -= 1
        conn.close()
