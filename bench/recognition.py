"""Recognition benchmark: raw ``net.forward()`` vs ``LocalDetector.detect()`` vs ``POST /api/recognize``.

Run: .venv/bin/python bench/recognition.py [--rounds 15]

All three run in one process on the same images, interleaved round by round, so machine noise
hits them alike. "raw forward" is ``setInput`` + ``forward`` on a prepared 300x300 blob: the
network alone. "detect" adds decoding, pre- and post-processing; "API" adds the WSGI request
(multipart parsing, CSRF check, JSON) around it, called in-process like gunicorn calls the app.
Targets (issue 5): API median <= 1.3x the raw forward on the test photos; model load <= 1 s,
once per process; a 12 MP JPEG is never decoded at full size.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.recognition import local  # noqa: E402
from app.recognition.prepare import load_rgb  # noqa: E402

PHOTOS = ["dog.jpg", "person.jpg", "horses.jpg"]
LOAD_SNIPPET = "from app.recognition import local; local.get_net(); print(local.load_seconds)"


def ms(seconds: float) -> float:
    return seconds * 1000.0


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def cold_load_seconds(runs: int = 3) -> list[float]:
    """Model load time in fresh processes (nothing cached in this one)."""
    out = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", LOAD_SNIPPET], cwd=ROOT, capture_output=True, text=True, check=True
        )
        out.append(float(done.stdout.strip()))
    return out


def twelve_megapixels() -> bytes:
    image = (
        Image.open(ROOT / "tests" / "data" / "dog.jpg").convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
    )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    loads = cold_load_seconds()
    print(
        f"model load, fresh process: median {statistics.median(loads):.3f} s (runs: {', '.join(f'{s:.3f}' for s in loads)})"
    )

    real_read, reads = cv2.dnn.readNetFromTensorflow, []
    cv2.dnn.readNetFromTensorflow = lambda *a: reads.append(a) or real_read(*a)  # count loads in this process

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "GALLERY_DATA_DIR": f"{tmp}/data",
                "SECRET_KEY": "bench",
                "TESTING": True,
                "WTF_CSRF_ENABLED": False,
                "GALLERY_RATE_LIMIT_RECOGNIZE": "off",  # one client, many requests: measure, don't throttle
            }
        )
        client = app.test_client()
        detector = app.extensions["services"].recognition.detector
        images = {name: (ROOT / "tests" / "data" / name).read_bytes() for name in PHOTOS}
        images["12 MP (4000x3000)"] = twelve_megapixels()
        net = local.get_net()
        blobs = {
            name: cv2.dnn.blobFromImage(
                cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), size=(300, 300), swapRB=True
            )
            for name, data in images.items()
        }

        def raw(name):
            net.setInput(blobs[name])
            net.forward()

        def api(name):
            response = client.post(
                "/api/recognize", data={"file": (io.BytesIO(images[name]), name)}, content_type="multipart/form-data"
            )
            assert response.status_code == 200, response.get_data(as_text=True)

        for name in images:  # warm-up: first forwards of a cv2.dnn net are slower
            for _ in range(3):
                raw(name), detector.detect(images[name]), api(name)

        times = {name: {"raw": [], "detect": [], "api": []} for name in images}
        for _ in range(args.rounds):
            for name, data in images.items():
                times[name]["raw"].append(timed(lambda n=name: raw(n)))
                times[name]["detect"].append(timed(lambda d=data: detector.detect(d)))
                times[name]["api"].append(timed(lambda n=name: api(n)))

    print(
        f"model loads in this process after {args.rounds * len(images) * 2 + 6 * len(images)} detections: {len(reads)}"
    )
    print()
    print(f"{'image':<20}{'raw forward':>13}{'detect()':>11}{'POST /api':>11}{'detect/raw':>12}{'API/raw':>9}")
    photo_raw, photo_api = [], []
    for name, t in times.items():
        r, d, a = (statistics.median(t[k]) for k in ("raw", "detect", "api"))
        print(f"{name:<20}{ms(r):>10.1f} ms{ms(d):>8.1f} ms{ms(a):>8.1f} ms{d / r:>11.2f}x{a / r:>8.2f}x")
        if name in PHOTOS:
            photo_raw += t["raw"]
            photo_api += t["api"]
    ratio = statistics.median(photo_api) / statistics.median(photo_raw)
    print(f"\ntest photos, all rounds: API median / raw forward median = {ratio:.2f}x (target <= 1.3x)")

    big = images["12 MP (4000x3000)"]
    full = [timed(lambda: cv2.imdecode(np.frombuffer(big, np.uint8), cv2.IMREAD_COLOR)) for _ in range(5)]
    reduced = [timed(lambda: load_rgb(big, local.WORKING_SIDE, 50_000_000)) for _ in range(5)]
    shape = load_rgb(big, local.WORKING_SIDE, 50_000_000).shape
    print(
        f"12 MP JPEG decode: full size {ms(statistics.median(full)):.1f} ms vs detector's reduced decode "
        f"{ms(statistics.median(reduced)):.1f} ms to {shape[1]}x{shape[0]} "
        f"({ms(statistics.median(full)) / ms(statistics.median(reduced)):.1f}x faster)"
    )


if __name__ == "__main__":
    main()
