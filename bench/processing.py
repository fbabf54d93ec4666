"""Image processing benchmark: our OpenCV pipeline against Pillow and libvips, side by side.

    python bench/processing.py [--repeat N] [--no-server]

The source is a 4032×3024 JPEG made here from tests/data/dog.jpg (upscaled, with a little
seeded noise so it compresses like a camera photo rather than a smooth upscale). Every row is
decode → operation → JPEG (quality 85) encode, median of N runs, all in this one process.
Then, unless --no-server: POST /api/process latency against a gunicorn started here with the
production settings (gunicorn.conf.py), its throughput with 4 concurrent clients (distinct
widths so no result cache helps), and peak memory of one 12 MP request.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

from app import processing  # noqa: E402

QUALITY = 85
WIDTH, HEIGHT = 4032, 3024


def make_source() -> bytes:
    photo = cv2.imread(str(ROOT / "tests" / "data" / "dog.jpg"), cv2.IMREAD_COLOR)
    big = cv2.resize(photo, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(12).normal(0, 4, big.shape)
    big = np.clip(big + noise, 0, 255).astype(np.uint8)
    return cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def medians_ms(fns, repeat: int) -> list[float]:
    """Median ms of each function, run in turn round after round, so a busy neighbour on the
    machine slows every contender alike instead of whichever happened to run then."""
    for fn in fns:
        fn()  # warm up
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, bucket in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return [statistics.median(bucket) * 1000 for bucket in times]


def pillow(data: bytes, transform) -> bytes:
    image = Image.open(io.BytesIO(data))
    image = transform(image)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def pillow_thumbnail(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data))
    image.thumbnail((800, 800))  # uses draft(): reduced JPEG decoding
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def vips_thumbnail(data: bytes) -> bytes:
    import pyvips

    return pyvips.Image.thumbnail_buffer(data, 800).write_to_buffer(f".jpg[Q={QUALITY}]")


def _threshold_128(image):
    return image.convert("L").point(lambda v: 255 if v > 128 else 0)


# (name, our step, Pillow's obvious equivalent)
CASES = [
    (
        "resize to 800 wide",
        {"op": "resize", "width": 800},
        lambda im: im.resize((800, 600), Image.Resampling.LANCZOS),
    ),
    (
        "sharpen r=2 100% t=3",
        {"op": "sharpen", "amount": 1.0, "radius": 2, "threshold": 3},
        lambda im: im.filter(ImageFilter.UnsharpMask(radius=2, percent=100, threshold=3)),
    ),
    ("threshold binary 128", {"op": "threshold", "method": "binary", "value": 128}, _threshold_128),
    ("color gray", {"op": "color", "mode": "gray"}, lambda im: im.convert("L")),
    (
        "blur gaussian sigma 2",
        {"op": "blur", "kind": "gaussian", "size": 13, "sigma": 2},
        lambda im: im.filter(ImageFilter.GaussianBlur(2)),
    ),
    (
        "rotate 30 expand",
        {"op": "rotate", "angle": 30},
        lambda im: im.rotate(30, resample=Image.Resampling.BILINEAR, expand=True),
    ),
]


def ours(data: bytes, steps: list[dict]) -> bytes:
    return processing.run(data, steps, fmt="jpeg", quality=QUALITY).data


def psnr_against_full_decode(data: bytes, encoded: bytes) -> float:
    full = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    got = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
    reference = cv2.resize(full, (got.shape[1], got.shape[0]), interpolation=cv2.INTER_AREA)
    return cv2.PSNR(got, reference)


def in_process(data: bytes, repeat: int) -> float:
    """The per-op table and the resize comparison; returns our resize-to-800 median (ms)."""
    print(f"\nIn-process, {WIDTH}x{HEIGHT} JPEG ({len(data) / 1e6:.1f} MB), decode → op → JPEG q{QUALITY}")
    print(
        f"median of {repeat}, contenders interleaved; OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads), ",
        end="",
    )
    print(f"Pillow {Image.__version__}")
    header = f"{'operation':<24}{'ours ms':>9}{'Pillow ms':>11}{'ours/Pillow':>13}"
    print(header + "\n" + "-" * len(header))
    slower = []
    for name, step, transform in CASES:
        mine, theirs = medians_ms([lambda s=step: ours(data, [s]), lambda t=transform: pillow(data, t)], repeat)
        print(f"{name:<24}{mine:>9.1f}{theirs:>11.1f}{mine / theirs:>12.2f}x")
        if mine >= theirs:
            slower.append(name)
    print("every op faster than its Pillow equivalent:", "yes" if not slower else f"NO ({', '.join(slower)})")

    resize = [{"op": "resize", "width": 800}]
    contenders = [
        ("ours: IMREAD_REDUCED + INTER_AREA", lambda: ours(data, resize), None),
        ("pyvips thumbnail_buffer", lambda: vips_thumbnail(data), 0.9),
        ("Pillow thumbnail (draft)", lambda: pillow_thumbnail(data), 0.8),
        ("Pillow full decode + LANCZOS", lambda: pillow(data, CASES[0][2]), 0.3),
    ]
    times = medians_ms([fn for _, fn, _ in contenders], repeat)
    mine = times[0]
    print(f"\nResize to 800 wide, end to end (our decode is reduced 1/{processing.run(data, resize).reduce})")
    header = f"{'path':<36}{'ms':>8}{'ours/it':>9}{'PSNR dB':>9}  target"
    print(header + "\n" + "-" * len(header))
    for (label, fn, target), ms in zip(contenders, times, strict=True):
        psnr = psnr_against_full_decode(data, fn())
        if target is None:
            print(f"{label:<36}{ms:>8.1f}{'':>9}{psnr:>9.1f}")
        else:
            verdict = "met" if mine / ms <= target else "MISSED"
            print(f"{label:<36}{ms:>8.1f}{mine / ms:>8.2f}x{psnr:>9.1f}  ≤{target}x {verdict}")
    print("(PSNR against a full decode + INTER_AREA to the same size: all are visually equivalent above ~35 dB.)")
    return mine


def peak_memory(data_path: Path) -> None:
    """Peak RSS growth of one 12 MP request per operation, each in a fresh interpreter."""
    print("\nPeak memory of one 12 MP request (fresh process each; VmHWM − RSS before the request)")
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[1]); from app import processing\n"
        "def status(k): return int(next(l.split()[1] for l in open('/proc/self/status') if l.startswith(k)))\n"
        "data = open(sys.argv[2], 'rb').read(); step = json.loads(sys.argv[3])\n"
        "before = status('VmRSS:'); processing.run(data, [step], fmt='jpeg')\n"
        "print((status('VmHWM:') - before) / 1024)\n"
    )
    for name, step, _ in CASES:
        out = subprocess.run(
            [sys.executable, "-c", code, str(ROOT), str(data_path), json.dumps(step)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(f"  {name:<24}{float(out.stdout):>7.0f} MB")


class Client:
    """A keep-alive HTTP client holding the session cookie and CSRF token, as the page's script does."""

    def __init__(self, port: int, cookie: str = "", token: str = ""):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie, self.token = cookie, token
        if not token:
            page = self.request("GET", "/upload").decode()
            self.token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "") -> bytes:
        headers = {"Cookie": self.cookie, "X-CSRFToken": self.token}
        if content_type:
            headers["Content-Type"] = content_type
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
        return payload

    def upload(self, key: str, data: bytes) -> None:
        boundary = "benchboundary"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\n{key}\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="source.jpg"\r\n'
                "Content-Type: image/jpeg\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        self.request("POST", "/api/images", body, f"multipart/form-data; boundary={boundary}")

    def process(self, key: str, width: int) -> bytes:
        ops = json.dumps([{"op": "resize", "width": width}])
        body = urlencode({"source_key": key, "ops": ops, "format": "jpeg", "quality": QUALITY}).encode()
        return self.request("POST", "/api/process", body, "application/x-www-form-urlencoded")


def rss_peak_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line.split()[1] for line in f if line.startswith("VmHWM:")))


def server(data: bytes, tmp: Path, repeat: int) -> None:
    """gunicorn with gunicorn.conf.py (the documented production settings), on a free port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "PORT": str(port),
        "GALLERY_DATA_DIR": str(tmp / "data"),
        "SECRET_KEY": "bench",
        "GALLERY_CACHE": "memory",
        "GALLERY_STORAGE": "local",
        "GALLERY_METADATA": "sqlite",
        "GALLERY_RATE_LIMIT_PROCESS": "off",  # a load test from one address; everything else as deployed
    }
    gunicorn = Path(sys.executable).parent / "gunicorn"
    log = open(tmp / "gunicorn.log", "wb")  # noqa: SIM115  (closed in finally)
    proc = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "--access-logfile", "/dev/null", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        for _ in range(100):
            try:
                client = Client(port)
                break
            except (ConnectionError, OSError):
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start; see its log")
        client.upload("bench/source.jpg", data)
        workers = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        cores = os.cpu_count() or 1
        print(f"\nServer: gunicorn -c gunicorn.conf.py ({len(workers)} worker, gthread), {cores} cores;")
        print("POST /api/process resize to a distinct width (505-900 px) per request, so no result cache helps")

        widths = iter(range(505, 700))  # ≤ 1008 = 4032/4, so every call decodes at 1/4 alike
        local = lambda: ours(data, [{"op": "resize", "width": next(widths)}])  # noqa: E731
        remote = lambda: client.process("bench/source.jpg", next(widths))  # noqa: E731
        single, http_ms = medians_ms([local, remote], repeat * 3)
        ratio = http_ms / single
        print(f"  latency: in-process {single:.1f} ms, over HTTP {http_ms:.1f} ms -> {ratio:.2f}x ", end="")
        print(f"(target ≤1.3x: {'met' if ratio <= 1.3 else 'MISSED'})")

        concurrency, per_client = 4, 25
        clients = [Client(port, client.cookie, client.token) for _ in range(concurrency)]
        start_width = 700

        def work(index: int) -> None:
            for n in range(per_client):
                clients[index].process("bench/source.jpg", start_width + index * per_client + n)

        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(work, range(concurrency)))  # warm-up round: threads and connections
            start_width += concurrency * per_client
            began = time.perf_counter()
            list(pool.map(work, range(concurrency)))
            elapsed = time.perf_counter() - began
        throughput = concurrency * per_client / elapsed
        limit = cores / (single / 1000)
        share = throughput / limit
        print(f"  throughput with {concurrency} concurrent clients: {throughput:.1f} req/s; in-process limit ", end="")
        print(f"{cores} cores / {single:.1f} ms = {limit:.1f} req/s -> {share:.0%} (target ≥70%: ", end="")
        print(f"{'met' if share >= 0.7 else 'MISSED'})")
        print(f"  worker peak RSS after all of it: {max(rss_peak_kb(w) for w in workers) / 1024:.0f} MB")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, choices=range(3, 33), metavar="N (3-32)")
    parser.add_argument("--no-server", action="store_true", help="skip the gunicorn part")
    args = parser.parse_args()
    data = make_source()
    in_process(data, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "source.jpg"
        path.write_bytes(data)
        peak_memory(path)
        if not args.no_server:
            server(data, Path(tmp), args.repeat)


if __name__ == "__main__":
    main()
