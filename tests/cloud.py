"""Real server processes for the cloud-backend tests: moto's server (S3, DynamoDB, Rekognition
over HTTP, as ``moto_server`` runs it) and ``memcached`` nodes, each on a free loopback port, started by the fixtures and
stopped by pid.

Test modules load these fixtures with ``pytest_plugins = ["cloud"]``. Without a memcached
binary the memcached tests skip saying what to install; under ``CI=true`` they fail instead
(``conftest.require_binary``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid

import pytest


def need_memcached() -> str:
    from conftest import require_binary  # not at the top: this file also runs alone as the moto server

    return require_binary("memcached", install="apt-get install memcached")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{proc.args[0]} did not listen on port {port} within {seconds}s")


def stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 5) -> None:
    """Stop one process we started, by its pid (SIGKILL if it has not ended within ``timeout``)."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def serve_moto(port: int) -> None:
    """moto_server's own WSGI app, one request at a time, served by waitress: werkzeug's
    development server (``moto_server``'s) opens a new connection and thread for every request.

    moto applies a DynamoDB transaction without a lock, so under concurrent requests two
    transactions conditioned on the same version can both pass; real DynamoDB serialises them.
    Serialising requests restores that guarantee for the concurrency tests.
    """
    import threading

    import moto_speedups  # beside this file, which runs as a script: its folder is on sys.path
    import waitress
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    os.environ.setdefault("MOTO_PORT", str(port))
    moto_speedups.apply()
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            if environ["PATH_INFO"] == EMPTY_PATH:
                return answer_empty(environ, start_response)
            return list(app(environ, start_response))

    waitress.serve(one_at_a_time, host="127.0.0.1", port=port, threads=4, _quiet=True)


# Test-only route of our moto server: empty one bucket and table in place (see ``empty_gallery``).
EMPTY_PATH = "/_tests/empty"


def answer_empty(environ, start_response) -> list[bytes]:
    query = {name: values[0] for name, values in urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).items()}
    try:
        empty_gallery(query["bucket"], query["table"], query["region"])
    except KeyError as exc:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [f"nothing to empty: {exc} is missing".encode()]
    start_response("204 No Content", [])
    return []


def empty_gallery(bucket_name: str, table_name: str, region: str) -> None:
    """Delete every object, upload in progress and item of one bucket and table, leaving them as
    ``gallery init`` made them: a test gets an empty, provisioned gallery in one request instead of
    provisioning a new one (~25 calls). Only the data goes; settings, indexes and names stay."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends

    partition, account = s3_backends.bucket_accounts[bucket_name]
    bucket = s3_backends[account][partition].get_bucket(bucket_name)
    for name in list(bucket.keys):
        bucket.keys.pop(name)  # every version, closing the temporary file each one's bytes are in
    for upload in list(bucket.multiparts):
        del bucket.multiparts[upload]  # likewise its parts
    dynamodb_backends[account][region].get_table(table_name).items.clear()


class MotoServer:
    def __init__(self):
        if importlib.util.find_spec("moto") is None:
            raise RuntimeError("moto is missing: pip install -r requirements-dev.txt")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "moto", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.proc)

    def env(self) -> dict[str, str]:
        """What the app needs to talk to this server instead of AWS."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10)

    def empty(self, bucket: str, table: str, region: str = "us-east-1") -> None:
        """Empty one bucket and table this server holds, keeping them (``empty_gallery``)."""
        query = urllib.parse.urlencode({"bucket": bucket, "table": table, "region": region})
        request = urllib.request.Request(f"{self.url}{EMPTY_PATH}?{query}", method="POST")
        urllib.request.urlopen(request, timeout=10)

    def stop(self) -> None:
        stop(self.proc)


class PortTaken(RuntimeError):
    """The free port picked was taken by another process before ours could listen on it."""


class MemcachedNode:
    def __init__(self, port: int | None = None, memory_mb: int = 64, args: tuple[str, ...] = ()):
        self.binary = need_memcached()
        self.port = port or free_port()
        self.memory_mb = memory_mb
        self.args = list(args)  # more options (e.g. TLS)
        self.proc: subprocess.Popen | None = None
        for attempt in range(3):
            try:
                self.start()
                break
            except PortTaken:
                if port or attempt == 2:
                    raise
                self.port = free_port()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [self.binary, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-m", str(self.memory_mb), "-t", "1"]
        if os.geteuid() == 0:
            cmd += ["-u", "root"]  # memcached refuses to run as root without naming the user
        cmd += self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc)
        if "-Z" not in self.args and self.stats().get("pid") != str(self.proc.pid):
            # Another test process (pytest-xdist) took the same free port first: ours cannot listen.
            stop(self.proc)
            raise PortTaken(f"port {self.port} is another memcached's")

    def stats(self) -> dict[str, str]:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"stats\r\n")
            raw = b""
            while not raw.endswith(b"END\r\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                raw += chunk
        return dict(line.split()[1:3] for line in raw.decode().splitlines() if line.startswith("STAT "))

    def kill(self) -> None:
        """Die without warning, as a crashed node does."""
        stop(self.proc, signal.SIGKILL)

    def stop(self) -> None:
        stop(self.proc)

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"flush_all\r\n")
            s.recv(64)


class MemcachedPool:
    def __init__(self, n: int = 3):
        self.nodes: list[MemcachedNode] = []
        try:
            for _ in range(n):
                self.nodes.append(MemcachedNode())
        except BaseException:
            self.stop()
            raise

    @property
    def servers(self) -> list[str]:
        return [node.address for node in self.nodes]

    def add(self) -> MemcachedNode:
        node = MemcachedNode()
        self.nodes.append(node)
        return node

    def flush(self) -> None:
        for node in self.nodes:
            if node.proc and node.proc.poll() is None:
                node.flush()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def counting_store(aws, monkeypatch, records, entry):
    """A DynamoDB metadata store on moto holding ``records``, whose Queries each append
    ``entry(request, response)`` to ``store.read`` (what a test counts of the items read)."""
    from app.metadata.dynamodb import DynamoMetadataStore

    monkeypatch.setattr("app.runtime.aws.DEFAULT_TIMEOUT", (10.0, 1))  # moto_server on a busy machine
    store = DynamoMetadataStore(aws["table"], "us-east-1")
    store.provision()
    store.put_many(records)
    store.read = []
    query = store.client.query

    def counted(**request):
        response = query(**request)
        store.read.append(entry(request, response))
        return response

    monkeypatch.setattr(store.client, "query", counted)
    return store


# Fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_server():
    server = MotoServer()
    yield server
    server.stop()


def point_at(moto_server: MotoServer, monkeypatch) -> None:
    """Point boto3 at ``moto_server``, whatever the environment named before."""
    for name, value in moto_server.env().items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aws(moto_server, monkeypatch):
    """Environment pointing boto3 at moto_server, and a fresh bucket/table name per test."""
    point_at(moto_server, monkeypatch)
    suffix = uuid.uuid4().hex[:10]
    return {"bucket": f"gallery-test-{suffix}", "table": f"gallery-test-{suffix}", "server": moto_server}


@pytest.fixture(scope="session")
def memcached_pool():
    need_memcached()
    pool = MemcachedPool(3)
    yield pool
    pool.stop()


@pytest.fixture
def memcached_servers(memcached_pool):
    """The shared three-node pool, emptied before the test."""
    memcached_pool.flush()
    return memcached_pool.servers


@pytest.fixture
def own_memcached_pool():
    """A private pool for tests that kill or add nodes."""
    need_memcached()
    pool = MemcachedPool(3)
    yield pool
    pool.stop()


if __name__ == "__main__" and sys.argv[1:2] == ["moto"]:
    serve_moto(int(sys.argv[2]))
