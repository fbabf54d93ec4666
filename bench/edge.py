"""The servers at the edge: resize throughput against a bare Flask + OpenCV app, and which server
`make run` can put in front of clients by itself.

    python bench/edge.py [--rounds N] [--skip throughput,slow]

1. ``POST /api/process`` resize of a 12 MP photo, 4 clients, against bench/bare_app.py (the same
   DCT-scaled decode, resize and encode), both under ``gunicorn -c gunicorn.conf.py`` (what runs
   behind nginx), in interleaved rounds. Prints ours/bare; target ≥ 0.95×.
2. Facing clients directly, gunicorn (gunicorn.conf.py) and waitress (serve.py, `make run`):
   /healthz timings while 8 clients read a 17 MB original without reading, 25 stall half-way
   through their request head and 25 trickle a body; then whether the server closed the stalled
   readers and heads after GALLERY_READ_TIMEOUT (5 s here). nginx in front of gunicorn is
   tests/test_slow_clients.py.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import http.client
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
BOUNDARY = "edgebenchboundary"
TICK = os.sysconf("SC_CLK_TCK")
READ_TIMEOUT = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process on a free loopback port, ready once /healthz (or its port) answers."""

    def __init__(self, command: list[str], env: dict, cwd: Path, log: Path):
        self.port = free_port()
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            assert self.process.poll() is None, f"{command} exited; see {log}"
            time.sleep(0.1)
        raise SystemExit(f"{command} did not start; see {log}")

    def cpu(self) -> float:
        """CPU seconds of the server and every process under it."""
        total, pids = 0.0, [self.process.pid]
        while pids:
            pid = pids.pop()
            with contextlib.suppress(OSError):
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / TICK
                with open(f"/proc/{pid}/task/{pid}/children") as f:
                    pids += [int(child) for child in f.read().split()]
        return total

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # threads still held by stalled clients
            self.process.kill()
            self.process.wait()
        self.log.close()


def gunicorn(app: str, cwd: Path, env: dict, log: Path) -> Server:
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--access-logfile", "/dev/null"]
    return Server([*command, app], {"PYTHONPATH": str(ROOT), **env}, cwd, log)


def multipart(fields: dict, data: bytes, filename: str) -> list[bytes]:
    head = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()
    )
    head += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n\r\n'
    return [head.encode(), data, f"\r\n--{BOUNDARY}--\r\n".encode()]


def post(conn: http.client.HTTPConnection, path: str, parts: list[bytes]) -> tuple[int, bytes]:
    headers = {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(sum(len(p) for p in parts)),
        "Authorization": f"Bearer {TOKEN}",
    }
    conn.request("POST", path, body=iter(parts), headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


# -- 1. throughput ---------------------------------------------------------------------------------
def photo_12mp() -> bytes:
    photo = cv2.imread(str(ROOT / "tests" / "data" / "dog.jpg"), cv2.IMREAD_COLOR)
    big = cv2.resize(photo, (4032, 3024), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(12).normal(0, 4, big.shape)
    big = np.clip(big + noise, 0, 255).astype(np.uint8)
    return cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def throughput(env: dict, tmp: Path, rounds: int, clients: int = 4, per_client: int = 8) -> None:
    data = photo_12mp()
    counter = iter(range(10**9))

    def ours(conn):
        width = 505 + next(counter) % 495  # distinct widths: no result cache; all decode at 1/4
        fields = {"ops": json.dumps([{"op": "resize", "width": width}]), "format": "jpeg", "quality": "85"}
        status, body = post(conn, "/api/process", multipart(fields, data, "photo.jpg"))
        assert status == 200, (status, body[:200])

    def bare(conn):
        status, body = post(conn, "/resize", multipart({"width": 505 + next(counter) % 495}, data, "photo.jpg"))
        assert status == 200, (status, body[:200])

    def rate(server: Server, request) -> tuple[float, float]:
        conns = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=120) for _ in range(clients)]
        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            list(pool.map(request, conns))  # warm: connections, threads, caches
            cpu, started = server.cpu(), time.perf_counter()
            list(pool.map(lambda c: [request(c) for _ in range(per_client)], conns))
            elapsed, cpu = time.perf_counter() - started, server.cpu() - cpu
        for conn in conns:
            conn.close()
        return clients * per_client / elapsed, cpu / (clients * per_client)

    print(f"1. POST /api/process resize of a 12 MP JPEG, {clients} clients, {rounds} interleaved rounds")
    print("   both under gunicorn -c gunicorn.conf.py (plain gthread)")
    servers = {
        "ours": gunicorn("wsgi:app", ROOT, env, tmp / "ours.log"),
        "bare": gunicorn("bare_app:app", ROOT / "bench", env, tmp / "bare.log"),
    }
    results = {name: [] for name in servers}
    try:
        for r in range(rounds):
            names = list(servers)[r % 2 :] + list(servers)[: r % 2]  # each goes first in turn
            for name in names:
                results[name].append(rate(servers[name], ours if name == "ours" else bare))
            print(
                f"   round {r + 1:>2}: "
                + ", ".join(
                    f"{n} {results[n][-1][0]:5.1f} req/s ({results[n][-1][1] * 1000:.0f} ms CPU)" for n in servers
                )
            )
    finally:
        for server in servers.values():
            server.stop()
    ratio = statistics.median(o[0] / b[0] for o, b in zip(results["ours"], results["bare"], strict=True))
    cpu = statistics.median(b[1] / o[1] for o, b in zip(results["ours"], results["bare"], strict=True))
    verdict = "met" if ratio >= 0.95 else "MISSED"
    print(
        f"   ours/bare: throughput {ratio:.2f}x (median of rounds; target ≥ 0.95x: {verdict}); CPU per request {cpu:.2f}x"
    )


# -- 2. slow clients, no nginx ---------------------------------------------------------------------
def large_png() -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(7).integers(0, 256, (2400, 2400, 3), dtype=np.uint8)).save(out, "PNG")
    return out.getvalue()


def probe(port: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    start = time.monotonic()
    try:
        conn.request("GET", "/healthz")
        conn.getresponse().read()
    except OSError:
        return float("inf")
    finally:
        conn.close()
    return time.monotonic() - start


def closed(socks: list[socket.socket]) -> int:
    """How many of ``socks`` the server has closed (or reset): read to the end, or until 0.5 s of silence."""
    count = 0
    for sock in socks:
        sock.settimeout(0.5)
        try:
            while sock.recv(1 << 20):  # what the server sent before closing
                pass
            count += 1
        except TimeoutError:  # still open
            pass
        except OSError:
            count += 1
    return count


def slow_clients(name: str, server: Server, image: bytes) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    status, body = post(conn, "/api/images", multipart({"key": "large.png"}, image, "large.png"))
    conn.close()
    assert status in (200, 201), (status, body[:200])
    readers, heads, bodies = [], [], []
    for _ in range(8):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(b"GET /images/large.png HTTP/1.1\r\nHost: x\r\n\r\n")
        readers.append(sock)
    for _ in range(25):
        heads.append(socket.create_connection(("127.0.0.1", server.port)))
        heads[-1].sendall(b"GET /gallery HTTP/1.1\r\nHost: x\r\n")
        bodies.append(socket.create_connection(("127.0.0.1", server.port)))
        bodies[-1].sendall(b"POST /api/images HTTP/1.1\r\nHost: x\r\nContent-Length: 900000\r\n\r\nx")
    timings, started = [], time.monotonic()
    while time.monotonic() - started < READ_TIMEOUT + 3:
        for sock in bodies:
            with contextlib.suppress(OSError):
                sock.send(b"x")
        timings.append(probe(server.port))
        time.sleep(0.2)
    answered = [t for t in timings if t != float("inf")]
    slowest = f"{max(answered) * 1000:.0f} ms" if answered else "-"
    print(
        f"   {name:<38} /healthz: {len(answered)}/{len(timings)} answered within 2 s, slowest {slowest}; "
        f"closed after {READ_TIMEOUT + 3} s: {closed(readers)}/8 readers, {closed(heads)}/25 heads"
    )
    for sock in readers + heads + bodies:
        sock.close()


def slow(env: dict, tmp: Path) -> None:
    print("\n2. Facing clients directly: 8 stalled readers of a 17 MB original, 25 stalled heads, 25 trickled bodies")
    image = large_png()
    env = {**env, "GALLERY_READ_TIMEOUT": str(READ_TIMEOUT)}
    candidates = {
        "gunicorn -c gunicorn.conf.py (gthread)": lambda: gunicorn("wsgi:app", ROOT, env, tmp / "g.log"),
        "python serve.py (waitress, make run)": lambda: Server([sys.executable, "serve.py"], env, ROOT, tmp / "w.log"),
    }
    for name, start in candidates.items():
        server = start()
        try:
            slow_clients(name, server, image)
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="throughput rounds (default 8)")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: throughput,slow")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    print(f"{os.cpu_count()} cores; OpenCV {cv2.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "GALLERY_DATA_DIR": tmp,
            "SECRET_KEY": "bench",
            "GALLERY_API_TOKENS": TOKEN,
            # One client address: the per-client limits would bind long before anything else.
            "GALLERY_RATE_LIMIT_PROCESS": "off",
            "GALLERY_RATE_LIMIT_UPLOAD": "off",
        }
        if "throughput" not in skip:
            throughput(env, Path(tmp), args.rounds)
        if "slow" not in skip:
            slow(env, Path(tmp))


if __name__ == "__main__":
    main()
