"""An HTTP proxy in front of moto's server that misbehaves the way networks do to DynamoDB calls:
it repeats a request (moto ignores ``ClientRequestToken``, so the repeat is applied and fails its
condition, as a retry after a lost answer does), forwards a request and then drops the answer,
drops a request before forwarding it, and delays answers (briefly, or past the client's read
timeout). Every fault happens before the client sees an answer, so once a call has failed its
write has either happened or never will (what a real network makes likely, not certain).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Fault → chance, per request, for the calls that write and the reads that decide outcomes.
WRITE_FAULTS = {"repeat": 0.12, "drop_after": 0.12, "drop_before": 0.04, "delay": 0.08, "timeout": 0.01}
READ_FAULTS = {"drop_after": 0.03, "delay": 0.03}
FAULTED = {"TransactWriteItems": WRITE_FAULTS, "GetItem": READ_FAULTS}


class FaultProxy:
    def __init__(self, upstream: str, seed: int = 0):
        self.upstream = upstream.removeprefix("http://")
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.enabled = False
        self.counts: dict[str, int] = {}
        self.tokens_missing = 0  # TransactWriteItems sent without a ClientRequestToken
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def choose(self, target: str) -> str:
        faults = FAULTED.get(target, {}) if self.enabled else {}
        with self.lock:
            roll, fault = self.random.random(), "none"
            for name, chance in faults.items():
                if roll < chance:
                    fault = name
                    break
                roll -= chance
            self.counts[fault] = self.counts.get(fault, 0) + 1
        return fault

    def forward(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, list, bytes]:
        connection = http.client.HTTPConnection(self.upstream, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
                if target == "TransactWriteItems" and "ClientRequestToken" not in json.loads(body or b"{}"):
                    with proxy.lock:
                        proxy.tokens_missing += 1
                fault = proxy.choose(target)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                if fault == "drop_before":
                    return self.drop()
                answer = proxy.forward("POST", self.path, headers, body)
                if fault == "repeat":
                    answer = proxy.forward("POST", self.path, headers, body)
                if fault == "drop_after":
                    return self.drop()
                if fault == "delay":
                    time.sleep(proxy.random.uniform(0.02, 0.2))
                if fault == "timeout":
                    time.sleep(1.3)  # past botocore's 1 s read timeout for DynamoDB (app.runtime.aws)
                self.answer(*answer)

            do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

            def drop(self):
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

            def answer(self, status, headers, body):
                try:
                    self.send_response(status)
                    for name, value in headers:
                        if name.lower() not in ("connection", "transfer-encoding", "content-length", "date", "server"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeout)
                    self.close_connection = True

        return Handler
