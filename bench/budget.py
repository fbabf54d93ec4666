"""Decode bombs and the work budget, measured against gunicorn started with gunicorn.conf.py.

    python bench/budget.py [--rounds N] [--quick]

1. Decode bombs and the crafted containers of the attack corpus (tests/corpus ``ATTACK_CASES``:
   100,000-page TIFF, 6.5-million-segment JPEG, one-byte PNG chunks and GIF blocks, AVIF/HEIC
   whose header hides the picture's size, 118-byte TIFFs): the status and the CPU seconds of the
   server and its worker processes for each, by upload, processing, preview and recognition.
   Target: a 4xx in ≤ 1 CPU s.
2. Worst legal requests at the default settings: the costliest processing pipelines the budget
   still admits (searched over sources and pipelines by their estimates), the largest uploads and
   recognitions. For each: the estimate, the CPU seconds spent by the server and its worker
   processes, wall seconds, the server's RSS before and after, and the peak RSS of the process
   that did the work. Targets: ≤ 10 CPU s and ≤ 1 GB.
2b. The worst live preview of issue 23: a 1600×1600 16-bit RGBA PNG, 4 × rotate 45 then
   6 × sharpen radius 50, ``preview=true`` (was 200 after 463 CPU s and 1.78 GB), and the same
   steps as a full run. Target: ≤ 10 CPU s, ≤ 1 GB.
3. A burst of those requests (two clients), then every process's RSS against its baseline.
   Target: within 200 MB.
4. ``POST /api/process`` resize throughput with 4 clients against bench/bare_app.py (Flask +
   OpenCV, the same DCT-scaled decode, resize and encode) served the same way (gunicorn.conf.py),
   in interleaved rounds; and against it under plain gthread, for reference. Target: ≥ 0.95×.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "corpus"))

import make_corpus as corpus  # noqa: E402

from app import processing  # noqa: E402
from app.config import Settings  # noqa: E402
from app.core.errors import GalleryError  # noqa: E402
from app.processing import budget  # noqa: E402

TOKEN = "bench-token"
BOUNDARY = "benchboundary0123"
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024


# -- a server and its processes ----------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, args: list[str], env: dict, cwd: Path, log: Path):
        self.port = free_port()
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, **env, "PORT": str(self.port), "HOST": "127.0.0.1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *args, "-b", f"127.0.0.1:{self.port}"],
            cwd=cwd,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                if self.worker():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("gunicorn did not start; see " + str(log))

    def worker(self) -> int | None:
        kids = children(self.process.pid)
        return kids[0] if kids else None

    def tree(self) -> list[int]:
        """The gunicorn worker and its worker processes (started from its request threads)."""
        worker = self.worker()
        return [worker, *thread_children(worker)] if worker else []

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return sorted(found)


def thread_children(pid: int) -> list[int]:
    """Children of any thread of ``pid`` (cheap: no scan of /proc)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(child) for child in f.read().split()]
        except OSError:
            continue
    return sorted(found)


def cpu_seconds(pid: int, reaped: bool = False) -> float:
    """utime + stime (and, with ``reaped``, those of its children it has waited for)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if reaped else 0)
    return ticks / TICK


def tree_cpu(server: Server) -> float:
    tree = server.tree()
    return cpu_seconds(tree[0], reaped=True) + sum(cpu_seconds(p) for p in tree[1:]) if tree else 0.0


def rss(pid: int, field: str = "VmRSS:") -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def reset_peak(pid: int) -> None:
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


class PeakSampler(threading.Thread):
    """The largest RSS any process of the tree reaches (sampled; retiring workers take their
    high-water mark with them)."""

    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server, self.peak, self.stopped = server, 0, threading.Event()
        self.pids: set[int] = set()

    def run(self) -> None:
        while not self.stopped.wait(0.02):
            for pid in self.server.tree()[1:]:
                self.pids.add(pid)
                self.peak = max(self.peak, rss(pid), rss(pid, "VmHWM:"))

    def stop(self) -> int:
        self.stopped.set()
        self.join()
        return self.peak


# -- requests ------------------------------------------------------------------------------------
def multipart(fields: dict, data: bytes, filename: str = "image") -> list[bytes]:
    head = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()
    )
    head += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n\r\n'
    return [head.encode(), data, f"\r\n--{BOUNDARY}--\r\n".encode()]


def post(conn: http.client.HTTPConnection, path: str, parts: list[bytes], auth: bool = True) -> tuple[int, bytes]:
    headers = {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(sum(len(p) for p in parts)),
    }
    if auth:
        headers["Authorization"] = f"Bearer {TOKEN}"
    conn.request("POST", path, body=iter(parts), headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def connect(server: Server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)


def message(body: bytes) -> str:
    try:
        return json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return body[:80].decode(errors="replace")


# -- sources ---------------------------------------------------------------------------------------
def gradient(width: int, height: int, channels: int, dtype=np.uint8) -> np.ndarray:
    """Smooth ramps in steps, so that even 50 MP of 16-bit samples stay under the upload limit."""
    top = np.iinfo(dtype).max
    step = (top + 1) // 64
    x = (np.linspace(0, top, width) // step * step).astype(dtype)[None, :].repeat(height, 0)
    y = (np.linspace(0, top, height) // step * step).astype(dtype)[:, None].repeat(width, 1)
    planes = [x, y, (top - x), np.full_like(x, top // 2)][:channels]
    return planes[0] if channels == 1 else np.dstack(planes)


def progressive_jpeg_with_scans(width: int, height: int, scans: int) -> bytes:
    """A progressive JPEG whose last scan is repeated up to ``scans`` (the most admitted)."""
    pixels = gradient(width, height, 3)
    data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 85, cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
    have = data.count(b"\xff\xda")
    last = data.rindex(b"\xff\xda")
    return data[:-2] + data[last:-2] * (scans - have) + data[-2:]


def sources(quick: bool) -> dict[str, bytes]:
    side = 3000 if quick else 7071  # 50 MP at the default pixel limit
    side16 = 1500 if quick else 5000  # 16-bit RGBA up to the decoded limit (191 MB)
    mp, mp16 = round(side * side / 1e6), round(side16 * side16 / 1e6)
    out = {
        f"{mp} MP RGBA PNG": cv2.imencode(".png", gradient(side, side, 4), [cv2.IMWRITE_PNG_COMPRESSION, 9])[1],
        f"{mp} MP JPEG, 100 scans": progressive_jpeg_with_scans(side, side, 100),
        f"{mp} MP 16-bit gray PNG": cv2.imencode(".png", gradient(side, side, 1, np.uint16))[1],
        f"{mp16} MP 16-bit RGBA PNG": cv2.imencode(".png", gradient(side16, side16, 4, np.uint16))[1],
    }
    return {name: bytes(data) for name, data in out.items()}


CANDIDATE_STEPS = [
    {"op": "sharpen", "amount": 2, "radius": 50, "threshold": 3},
    {"op": "sharpen", "radius": 5},
    {"op": "blur", "kind": "bilateral", "size": 25},
    {"op": "blur", "kind": "bilateral", "size": 9},
    {"op": "blur", "kind": "median", "size": 99},
    {"op": "blur", "kind": "gaussian", "size": 99},
    {"op": "threshold", "method": "adaptive_gaussian", "block_size": 255},
    {"op": "color", "mode": "lab"},
    {"op": "rotate", "angle": 33, "background": "transparent"},
    {"op": "resize", "scale": 1.4, "interpolation": "lanczos"},
]


def worst_pipelines(srcs: dict[str, bytes], settings: Settings) -> list[tuple]:
    """Every (source, steps, format) the budget admits, costliest first: steps are one candidate
    repeated 1-10 times, after an optional resize to half the width."""
    admitted = []
    for name, data in srcs.items():
        width = processing.probe(data, settings.max_pixels, settings.max_decoded_bytes).width
        for step in CANDIDATE_STEPS:
            for lead in ([], [{"op": "resize", "width": width // 2}]):
                for repeat in (1, 2, 3, 5, 10 - len(lead)):
                    for fmt in ("jpeg", "png", "webp"):
                        steps = lead + [step] * repeat
                        try:
                            job = processing.prepare(
                                data, steps, fmt, None, settings.max_pixels, settings.max_decoded_bytes
                            )
                            est = budget.check(job, len(data), settings.work_budget, settings.work_memory_mb * MB)
                        except GalleryError:
                            continue
                        admitted.append((est.seconds, name, data, steps, fmt, est.peak_bytes))
    admitted.sort(key=lambda row: row[0], reverse=True)
    return admitted


def describe(steps: list[dict]) -> str:
    parts, i = [], 0
    while i < len(steps):
        j = i
        while j < len(steps) and steps[j] == steps[i]:
            j += 1
        label = ",".join(f"{k}={v}" for k, v in steps[i].items() if k != "op")
        parts.append(f"{j - i}× {steps[i]['op']}({label})" if j - i > 1 else f"{steps[i]['op']}({label})")
        i = j
    return " + ".join(parts)


# -- the parts -------------------------------------------------------------------------------------
@dataclass
class Measured:
    status: int
    cpu: float
    wall: float
    server_before: int
    server_after: int
    peak: int
    note: str


def measure(server: Server, path: str, parts: list[bytes]) -> Measured:
    worker = server.worker()
    for pid in server.tree():
        reset_peak(pid)
    before_cpu, server_before = tree_cpu(server), rss(worker)
    sampler = PeakSampler(server)
    sampler.start()
    conn = connect(server)
    started = time.perf_counter()
    status, body = post(conn, path, parts)
    wall = time.perf_counter() - started
    conn.close()
    peak = max(sampler.stop(), rss(worker, "VmHWM:"))
    time.sleep(0.2)  # a retiring worker exits just after its reply
    note = "" if status < 300 else message(body)
    return Measured(status, tree_cpu(server) - before_cpu, wall, server_before, rss(worker), peak, note)


def attack_files() -> dict[str, bytes]:
    """The decode bombs, the attack corpus, and the lying AVIF at the issue's size (12000² under
    an ispe of 64×64: seconds to encode, so built here only)."""
    files = {
        "scan bomb: 7071² progressive + 10,000 scans": corpus.jpeg_scan_bomb(),
        "50 MP 16-bit RGBA PNG": corpus.png_16bit_header(7071, 7071, 6),
        "50 MP 48-bit RGB PNG": corpus.png_16bit_header(7071, 7071, 2),
    }
    files.update({f"{case.name}: {case.why}": case.build() for case in corpus.ATTACK_CASES})
    files["avif: ispe says 64×64 over 12000×12000"] = corpus.heif_lying("AVIF", (12000, 12000))
    return files


def bombs(server: Server) -> None:
    print("\n1. Decode bombs and the attack corpus (status and server CPU ms; best of 3 per route)")
    ops = json.dumps([{"op": "sharpen", "radius": 50}] * 10)
    routes = [
        ("upload", "/api/images", {"key": "bomb"}),
        ("process", "/api/process", {"ops": ops}),
        ("preview", "/api/process", {"ops": ops, "preview": "true"}),
        ("recognize", "/api/recognize", {}),
    ]
    print(f"  {'file':<72}{'KB':>7}  " + "  ".join(f"{r:>14}" for r, _, _ in routes))
    worst = 0.0
    for name, data in attack_files().items():
        cells = []
        for _, path, fields in routes:
            best, status = 1e9, 0
            for _ in range(3):
                before = tree_cpu(server)
                conn = connect(server)
                status, _ = post(conn, path, multipart(fields, data))
                conn.close()
                best = min(best, tree_cpu(server) - before)
            worst = max(worst, best) if 400 <= status < 500 else float("inf")
            cells.append(f"{status} in {best * 1000:4.0f} ms")
        print(f"  {name[:71]:<72}{len(data) / 1024:>7.0f}  " + "  ".join(f"{c:>14}" for c in cells))
    verdict = "met" if worst <= 1.0 else "MISSED"
    print(f"  worst refusal: {worst * 1000:.0f} ms of server CPU (target: every one a 4xx in ≤ 1 CPU s: {verdict})")


def worst_preview(server: Server) -> None:
    print("\n2b. The worst live preview of issue 23 (1600×1600 16-bit RGBA PNG; 4 × rotate 45, 6 × sharpen 50)")
    data = bytes(cv2.imencode(".png", gradient(1600, 1600, 4, np.uint16))[1])
    steps = [{"op": "rotate", "angle": 45}] * 4 + [{"op": "sharpen", "radius": 50}] * 6
    print(f"  {'request':<40}{'status':>7}{'CPU s':>7}{'wall s':>7}{'server MB before→after':>24}{'peak MB':>9}")
    worst = {"cpu": 0.0, "peak": 0}
    for label, fields in (
        ("preview=true", {"ops": json.dumps(steps), "preview": "true"}),
        ("full run", {"ops": json.dumps(steps)}),
    ):
        m = measure(server, "/api/process", multipart(fields, data))
        print(
            f"  {label:<40}{m.status:>7}{m.cpu:>7.1f}{m.wall:>7.1f}"
            f"{m.server_before / MB:>14.0f} → {m.server_after / MB:<7.0f}{m.peak / MB:>9.0f}"
            + (f"  {m.note[:60]}" if m.note else "")
        )
        worst = {"cpu": max(worst["cpu"], m.cpu), "peak": max(worst["peak"], m.peak)}
    verdict = "met" if worst["cpu"] <= 10 and worst["peak"] <= 1024 * MB else "MISSED"
    print(
        f"  worst: {worst['cpu']:.1f} CPU s, peak RSS {worst['peak'] / MB:.0f} MB (target ≤ 10 CPU s, ≤ 1 GB: {verdict})"
    )


def preview_burst(server: Server, clients: int = 8) -> None:
    """Issue 23: eight concurrent worst previews, each of different bytes (every one a cache
    miss), while another connection probes /healthz: the whole server's RSS (gunicorn worker and
    image workers summed) and the probes' times. They come from one address, so the fair share
    queues or refuses (429) some of them: that is the protection being measured."""
    print(f"\n2c. {clients} concurrent worst previews (one address) while /healthz is probed")
    steps = [{"op": "rotate", "angle": 45}] * 4 + [{"op": "sharpen", "radius": 50}] * 6
    base = gradient(1600, 1600, 4, np.uint16)
    bodies = []
    for i in range(clients):
        image = base.copy()
        image[0, 0, 0] = i  # different bytes: no cached rendition or preview answers it
        bodies.append(multipart({"ops": json.dumps(steps), "preview": "true"}, bytes(cv2.imencode(".png", image)[1])))
    statuses, probes, peak = [], [], 0
    done = threading.Event()

    def send(parts):
        statuses.append(post(connect(server), "/api/process", parts)[0])

    def watch():
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, sum(rss(pid) for pid in server.tree()))

    def probe():
        while not done.is_set():
            started = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            probes.append(time.monotonic() - started)
            time.sleep(0.1)

    helpers = [threading.Thread(target=watch), threading.Thread(target=probe)]
    senders = [threading.Thread(target=send, args=(parts,)) for parts in bodies]
    started = time.monotonic()
    for thread in helpers + senders:
        thread.start()
    for thread in senders:
        thread.join()
    done.set()
    for thread in helpers:
        thread.join()
    probes.sort()
    counts = {status: statuses.count(status) for status in sorted(set(statuses))}
    print(f"  answers {counts} in {time.monotonic() - started:.1f} s; server RSS peak {peak / MB:.0f} MB")
    print(
        f"  /healthz: {len(probes)} probes, median {probes[len(probes) // 2] * 1000:.0f} ms, "
        f"slowest {probes[-1] * 1000:.0f} ms (targets: < 2 GB, ≤ 100 ms)"
    )


def worst_cases(server: Server, srcs: dict[str, bytes], settings: Settings) -> list[tuple[str, list[bytes]]]:
    print(f"\n2. Worst legal requests at the defaults (budget {settings.work_budget:g} CPU s estimated, ", end="")
    print(f"{settings.work_memory_mb:g} MB; hard limit {settings.work_timeout:g} CPU s)")
    admitted = worst_pipelines(srcs, settings)
    chosen, seen = [], set()
    for row in admitted:  # the costliest per source, and the one with the most memory
        if row[1] not in seen:
            seen.add(row[1])
            chosen.append(row)
    chosen.append(max(admitted, key=lambda row: row[5]))
    requests = []
    for seconds, name, data, steps, fmt, _ in chosen:
        label = f"process {name} (est {seconds:.1f} s): {describe(steps)} → {fmt}"
        fields = {"ops": json.dumps(steps), "format": fmt}
        requests.append((label, "/api/process", multipart(fields, data)))
    for name, data in srcs.items():
        key = "bench/" + "".join(c if c.isalnum() else "-" for c in name)
        requests.append((f"upload {name}", "/api/images", multipart({"key": key}, data)))
        requests.append((f"recognize {name}", "/api/recognize", multipart({}, data)))
    header = f"  {'request':<96}{'status':>7}{'CPU s':>7}{'wall s':>7}{'server MB before→after':>24}{'peak MB':>9}"
    print(header + "\n  " + "-" * (len(header) - 2))
    worst = {"cpu": 0.0, "wall": 0.0, "peak": 0}
    burst = []
    for label, path, parts in requests:
        m = measure(server, path, parts)
        print(
            f"  {label[:95]:<96}{m.status:>7}{m.cpu:>7.1f}{m.wall:>7.1f}"
            f"{m.server_before / MB:>14.0f} → {m.server_after / MB:<7.0f}{m.peak / MB:>9.0f}"
            + (f"  {m.note[:60]}" if m.note else "")
        )
        if m.status < 300:
            worst = {
                "cpu": max(worst["cpu"], m.cpu),
                "wall": max(worst["wall"], m.wall),
                "peak": max(worst["peak"], m.peak),
            }
            burst.append((path, parts))
    verdict = "met" if worst["cpu"] <= settings.work_timeout and worst["peak"] <= 1024 * MB else "MISSED"
    print(
        f"  worst: {worst['cpu']:.1f} CPU s, {worst['wall']:.1f} s wall, peak RSS {worst['peak'] / MB:.0f} MB ", end=""
    )
    print(f"(target ≤ 10 CPU s, ≤ 1024 MB: {verdict})")
    return burst


def burst_rss(server: Server, burst: list[tuple[str, list[bytes]]], rounds: int) -> None:
    print(f"\n3. RSS after a burst of those requests ({rounds}× each, 2 clients)")
    worker = server.worker()
    baseline = {pid: rss(pid) for pid in server.tree()}
    jobs = burst * rounds
    statuses: dict[int, int] = {}

    def send(job):
        conn = connect(server)
        status, _ = post(conn, *job)
        conn.close()
        return status

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for status in pool.map(send, jobs):
            statuses[status] = statuses.get(status, 0) + 1
    time.sleep(1)
    print(f"  {len(jobs)} requests: " + ", ".join(f"{n}× {s}" for s, n in sorted(statuses.items())))
    after = {pid: rss(pid) for pid in server.tree()}
    growth = rss(worker) - baseline.get(worker, 0)
    print(f"  gunicorn worker: {baseline[worker] / MB:.0f} MB before, {rss(worker) / MB:.0f} MB after", end="")
    print(f" (+{growth / MB:.0f} MB; target ≤ 200 MB: {'met' if growth <= 200 * MB else 'MISSED'})")
    pool_before = [b for pid, b in baseline.items() if pid != worker]
    pool_after = [a for pid, a in after.items() if pid != worker]
    print(f"  worker processes: {', '.join(f'{b / MB:.0f}' for b in pool_before) or 'none'} MB before; ", end="")
    print(f"{', '.join(f'{a / MB:.0f}' for a in pool_after) or 'none'} MB after (a worker left larger retires)")


def throughput(servers: dict[str, Server], data: bytes, rounds: int, per_client: int = 8, clients: int = 4) -> None:
    print(
        f"\n4. POST /api/process resize, {clients} clients, {rounds} interleaved rounds of {clients}×{per_client} each"
    )
    counter = iter(range(10**9))

    def ours_request(conn):
        width = 505 + next(counter) % 495  # distinct widths: no result cache; all decode at 1/4
        fields = {"ops": json.dumps([{"op": "resize", "width": width}]), "format": "jpeg", "quality": "85"}
        status, body = post(conn, "/api/process", multipart(fields, data, "photo.jpg"))
        assert status == 200, (status, body[:200])

    def bare_request(conn):
        width = 505 + next(counter) % 495
        status, body = post(conn, "/resize", multipart({"width": width}, data, "photo.jpg"), auth=False)
        assert status == 200, (status, body[:200])

    def rate(server: Server, fn) -> tuple[float, float]:
        conns = [connect(server) for _ in range(clients)]
        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            list(pool.map(fn, conns))  # warm: connections, threads, caches
            cpu0 = tree_cpu(server)
            started = time.perf_counter()
            list(pool.map(lambda c: [fn(c) for _ in range(per_client)], conns))
            elapsed = time.perf_counter() - started
            cpu = tree_cpu(server) - cpu0
        for conn in conns:
            conn.close()
        n = clients * per_client
        return n / elapsed, cpu / n

    names = list(servers)
    results = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]  # each goes first in turn
        for name in order:
            results[name].append(rate(servers[name], ours_request if name == "ours" else bare_request))
        print(
            f"  round {r + 1:>2}: "
            + ", ".join(f"{n} {results[n][-1][0]:5.1f} req/s ({results[n][-1][1] * 1000:.0f} ms CPU)" for n in names)
        )
    for name in names[1:]:
        ratio = statistics.median(o[0] / b[0] for o, b in zip(results["ours"], results[name], strict=True))
        cpu = statistics.median(b[1] / o[1] for o, b in zip(results["ours"], results[name], strict=True))
        target = f" (target ≥ 0.95x: {'met' if ratio >= 0.95 else 'MISSED'})" if name == names[1] else ""
        print(f"  ours / {name}: throughput {ratio:.2f}x (median of rounds){target}; CPU per request {cpu:.2f}x")


def photo_12mp() -> bytes:
    photo = cv2.imread(str(ROOT / "tests" / "data" / "dog.jpg"), cv2.IMREAD_COLOR)
    big = cv2.resize(photo, (4032, 3024), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(12).normal(0, 4, big.shape)
    big = np.clip(big + noise, 0, 255).astype(np.uint8)
    return cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="throughput rounds (default 10)")
    parser.add_argument("--quick", action="store_true", help="smaller sources and bursts (a smoke run)")
    parser.add_argument(
        "--skip", default="", help="comma-separated parts to skip: bombs,preview,worst,burst,throughput"
    )
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    settings = Settings()
    Image.init()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "GALLERY_DATA_DIR": tmp,
            "SECRET_KEY": "bench",
            "GALLERY_API_TOKENS": TOKEN,
            # One client address: the per-client limits would bind long before anything else.
            "GALLERY_RATE_LIMIT_PROCESS": "off",
            "GALLERY_RATE_LIMIT_PREVIEW": "off",
            "GALLERY_RATE_LIMIT_RECOGNIZE": "off",
            "GALLERY_RATE_LIMIT_UPLOAD": "off",
        }
        ours = Server(
            ["-c", "gunicorn.conf.py", "--access-logfile", "/dev/null", "wsgi:app"], env, ROOT, Path(tmp) / "ours.log"
        )
        bare = plain = None
        try:
            cores = os.cpu_count()
            print(
                f"gunicorn -c gunicorn.conf.py: 1 worker × {settings.threads} threads, {settings.work_processes} ",
                end="",
            )
            print(f"image worker processes; {cores} cores; OpenCV {cv2.__version__}")
            if "bombs" not in skip:
                bombs(ours)
            if "preview" not in skip:
                worst_preview(ours)
                preview_burst(ours)
            burst = []
            if "worst" not in skip:
                burst = worst_cases(ours, sources(args.quick), settings)
            if "burst" not in skip and burst:
                burst_rss(ours, burst, 1 if args.quick else 2)
            if "throughput" not in skip:
                # The bare app under the same server as ours (gunicorn.conf.py: worker class, threads)
                # isolates what the app costs; under plain gthread, for reference.
                bare_args = ["--access-logfile", "/dev/null", "bare_app:app"]
                bare = Server(
                    ["-c", str(ROOT / "gunicorn.conf.py"), *bare_args],
                    {"PYTHONPATH": str(ROOT)},  # the config names the app's worker class
                    ROOT / "bench",
                    Path(tmp) / "bare.log",
                )
                plain = Server(
                    ["-k", "gthread", "-w", "1", "--threads", str(settings.threads), *bare_args],
                    {},
                    ROOT / "bench",
                    Path(tmp) / "plain.log",
                )
                servers = {"ours": ours, "bare": bare, "bare (plain gthread)": plain}
                throughput(servers, photo_12mp(), 2 if args.quick else args.rounds)
        finally:
            for server in (ours, bare, plain):
                if server is not None:
                    server.stop()


if __name__ == "__main__":
    main()
