"""Load test on loopback: N concurrent clients for D seconds against gunicorn started with the
production settings (gunicorn.conf.py), mixing gallery pages, browse (hits and misses), image
and thumbnail GETs (cache hits and misses), uploads and small processing jobs.

Reports errors, p50/p95 per route, throughput and the largest worker RSS; afterwards every
uploaded key must read back byte-identical.

    python bench/load.py                  # 50 clients × 60 s
    python bench/load.py --quick          # 10 clients × 4 s (tests/test_load.py runs this)
    python bench/load.py --json           # one JSON object on stdout instead of the table
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "load-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SEED_IMAGES = 40
# Route weights: reads dominate, as in a gallery; writes and processing are a steady minority.
MIX = [
    ("gallery page", 18),
    ("browse hit", 12),
    ("browse miss", 4),
    ("image", 20),
    ("thumbnail", 14),
    ("image miss", 4),
    ("upload", 12),
    ("process", 10),
    ("cache stats", 6),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def payload(seed: int, size: int = 96) -> bytes:
    """A distinct small PNG (noise compresses badly, so ~25 KB: real bytes on the wire)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "PNG")
    return out.getvalue()


class Server:
    """gunicorn -c gunicorn.conf.py wsgi:app on a free loopback port, in a temporary data folder."""

    def __init__(self, data_dir: str, cache_mb: float):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "GALLERY_DATA_DIR": data_dir,
            "SECRET_KEY": "load-test",
            "GALLERY_API_TOKENS": TOKEN,
            # Every client here shares one address: keep the per-client limiter running, not binding.
            "GALLERY_RATE_LIMIT_PROCESS": "1000000/minute",
            "GALLERY_RATE_LIMIT_UPLOAD": "1000000/minute",
            # Small enough that the working set does not fit: reads see hits and misses.
            "GALLERY_CACHE_CAPACITY_MB": str(cache_mb),
        }
        self.log = open(os.path.join(data_dir, "gunicorn.log"), "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("gunicorn exited during start-up; see its log")
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still booting
                time.sleep(0.1)
        self.stop()
        raise SystemExit("gunicorn did not answer /healthz within 30 s")

    def worker_pids(self) -> list[int]:
        pids = [self.process.pid]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                            pids.append(int(entry))
                except (OSError, IndexError, ValueError):
                    continue
        return pids

    def stop(self) -> None:
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssSampler(threading.Thread):
    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server, self.peak, self.stopped = server, 0.0, threading.Event()

    def run(self):
        while not self.stopped.wait(0.25):
            self.peak = max([self.peak] + [rss_mb(pid) for pid in self.server.worker_pids()])


class Load:
    def __init__(self, base: str, seed_keys: list[str], payloads: list[bytes]):
        self.base, self.seed_keys, self.payloads = base, seed_keys, payloads
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.uploaded: dict[str, str] = {}  # key -> sha256 of the bytes sent
        routes, weights = zip(*MIX, strict=True)
        self.routes, self.weights = list(routes), list(weights)

    def client(self, number: int, deadline: float) -> None:
        rng = random.Random(number)
        session = requests.Session()
        count = 0
        while time.monotonic() < deadline:
            route = rng.choices(self.routes, self.weights)[0]
            count += 1
            started = time.perf_counter()
            try:
                ok, detail = self.request(session, route, rng, f"load/c{number}-{count}.png")
            except requests.RequestException as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            elapsed = time.perf_counter() - started
            with self.lock:
                self.latencies[route].append(elapsed)
                if not ok:
                    self.errors.append(f"{route}: {detail}")

    def request(self, session, route: str, rng: random.Random, new_key: str) -> tuple[bool, str]:
        base, key = self.base, rng.choice(self.seed_keys)
        if route == "gallery page":
            r = session.get(f"{base}/gallery", timeout=30)
            return r.status_code == 200 and b"Image Gallery" in r.content, str(r.status_code)
        if route == "browse hit":
            r = session.get(f"{base}/browse", params={"key": key}, timeout=30)
            return r.status_code == 200, str(r.status_code)
        if route == "browse miss":
            r = session.get(f"{base}/browse", params={"key": f"nope/{rng.randrange(10**6)}.png"}, timeout=30)
            return r.status_code == 404, str(r.status_code)
        if route == "image":
            r = session.get(f"{base}/images/{key}", timeout=30)
            return r.status_code == 200 and r.headers["Content-Type"] == "image/png", str(r.status_code)
        if route == "thumbnail":
            r = session.get(f"{base}/thumbs/{key}", timeout=30)
            return r.status_code == 200 and r.headers["Content-Type"] == "image/webp", str(r.status_code)
        if route == "image miss":
            r = session.get(f"{base}/images/nope/{rng.randrange(10**6)}.png", timeout=30)
            return r.status_code == 404, str(r.status_code)
        if route == "upload":
            data = rng.choice(self.payloads)
            r = session.post(
                f"{base}/api/images", data={"key": new_key}, files={"file": ("x.png", data)}, headers=AUTH, timeout=60
            )
            if r.status_code == 201:
                with self.lock:
                    self.uploaded[new_key] = hashlib.sha256(data).hexdigest()
            return r.status_code == 201, f"{r.status_code} {r.text[:120]}"
        if route == "process":
            ops = json.dumps([{"op": "resize", "width": rng.randrange(48, 97, 8)}, {"op": "color", "mode": "gray"}])
            r = session.post(
                f"{base}/api/process", data={"source_key": key, "ops": ops, "format": "webp"}, headers=AUTH, timeout=60
            )
            return r.status_code == 200 and r.headers["Content-Type"] == "image/webp", f"{r.status_code} {r.text[:120]}"
        r = session.get(f"{base}/api/cache/stats", timeout=30)
        return r.status_code == 200, str(r.status_code)


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run(clients: int, duration: float, cache_mb: float) -> dict:
    payloads = [payload(seed) for seed in range(24)]
    with tempfile.TemporaryDirectory(prefix="gallery-load-") as data_dir:
        server = Server(data_dir, cache_mb)
        try:
            seed_keys = [f"seed/{i:03d}.png" for i in range(SEED_IMAGES)]
            with requests.Session() as s:
                for i, key in enumerate(seed_keys):
                    r = s.post(
                        f"{server.base}/api/images",
                        data={"key": key},
                        files={"file": ("x.png", payload(1000 + i, 160))},
                        headers=AUTH,
                        timeout=60,
                    )
                    r.raise_for_status()
            load = Load(server.base, seed_keys, payloads)
            sampler = RssSampler(server)
            sampler.start()
            started = time.monotonic()
            deadline = started + duration
            with ThreadPoolExecutor(max_workers=clients) as pool:
                for future in [pool.submit(load.client, n, deadline) for n in range(clients)]:
                    future.result()
            wall = time.monotonic() - started
            sampler.stopped.set()
            sampler.join()
            mismatched = []
            with requests.Session() as s:
                for key, digest in load.uploaded.items():
                    r = s.get(f"{server.base}/images/{key}", timeout=30)
                    if r.status_code != 200 or hashlib.sha256(r.content).hexdigest() != digest:
                        mismatched.append(key)
                stats = s.get(f"{server.base}/api/cache/stats", timeout=30).json()
            peak_rss = max(sampler.peak, *(rss_mb(pid) for pid in server.worker_pids()))
        finally:
            alive = server.process.poll() is None
            server.stop()
            if not alive:  # say why before the temporary folder (and its log) goes
                print(Path(data_dir, "gunicorn.log").read_text()[-3000:], file=sys.stderr)
    total = sum(len(v) for v in load.latencies.values())
    return {
        "clients": clients,
        "duration_s": round(wall, 1),
        "requests": total,
        "throughput_rps": round(total / wall, 1),
        "errors": len(load.errors),
        "error_samples": load.errors[:10],
        "routes": {
            route: {
                "count": len(values),
                "p50_ms": round(percentile(values, 50) * 1000, 1),
                "p95_ms": round(percentile(values, 95) * 1000, 1),
            }
            for route, values in sorted(load.latencies.items())
        },
        "uploaded_keys": len(load.uploaded),
        "readback_mismatches": mismatched,
        "max_rss_mb": round(peak_rss, 1),
        "cache_hit_rate": stats.get("hit_rate"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--cache-mb", type=float, default=2.0, help="in-process cache capacity for the run")
    parser.add_argument("--quick", action="store_true", help="10 clients for 4 s")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.duration = 10, 4.0
    report = run(args.clients, args.duration, args.cache_mb)
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"{report['clients']} clients × {report['duration_s']} s on loopback (gunicorn.conf.py): "
            f"{report['requests']} requests, {report['throughput_rps']} req/s, {report['errors']} errors"
        )
        print(f"{'route':<14} {'count':>7} {'p50 ms':>8} {'p95 ms':>8}")
        for route, r in report["routes"].items():
            print(f"{route:<14} {r['count']:>7} {r['p50_ms']:>8} {r['p95_ms']:>8}")
        print(
            f"max worker RSS {report['max_rss_mb']} MB; cache hit rate {report['cache_hit_rate']}; "
            f"{report['uploaded_keys']} uploaded keys read back, {len(report['readback_mismatches'])} mismatched"
        )
        for sample in report["error_samples"]:
            print("  error:", sample)
    return 0 if report["errors"] == 0 and not report["readback_mismatches"] else 1


if __name__ == "__main__":
    sys.exit(main())
