"""Never-lose-a-photo benchmark: what keeping history costs, how fast a restore is, and a ZIP of a
selection streamed by gunicorn.

Run: .venv/bin/python bench/history.py [--rounds 20] [--zip-rounds 3]

- Upload cost: the same 2 MP JPEGs uploaded (new keys, and replacing a key) to two apps in this
  process, one keeping history (GALLERY_RETENTION_DAYS=30, the default) and one keeping nothing
  (0), in interleaved rounds; server time of POST /api/images through the WSGI app, medians.
  Target: history kept <= 1.1x.
- Restore latency: POST /api/images/<key>/versions/<version>/restore, toggling between two
  versions; server time, median and p95.
- ZIP download: 200 (and 50) ~1 MB JPEGs generated once into a temporary folder and stored, then
  POST /api/images/zip against gunicorn with the shipped config (gunicorn.conf.py), a fresh server
  per download; throughput over loopback and the worker's peak RSS (VmHWM in /proc/<pid>/status)
  before and after. Target: the peak does not grow with the ZIP's size.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
from PIL import Image
from werkzeug.test import EnvironBuilder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import AUTH, TOKEN, Server  # noqa: E402 - gunicorn with the shipped config, as bench/load.py runs it

from app import create_app  # noqa: E402

PHOTO = Path(__file__).resolve().parents[1] / "tests" / "data" / "dog.jpg"
MB = 1024 * 1024


def photos(count: int, size=(1632, 1224), quality: int = 95):
    """``count`` distinct 2 MP JPEGs of about 1 MB: a committed photo upscaled, with its own
    grain each (grain is what makes real photos that large)."""
    base = np.asarray(Image.open(PHOTO).convert("RGB").resize(size, Image.Resampling.LANCZOS)).astype(np.int16)
    for seed in range(count):
        grain = np.random.default_rng(seed).integers(-14, 15, base.shape, dtype=np.int16)
        out = io.BytesIO()
        Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=quality)
        yield out.getvalue()


def call(app, method: str, path: str, **kwargs) -> tuple[float, int, bytes]:
    """One request through the WSGI app, as gunicorn calls it: (ms, status, body)."""
    environ = EnvironBuilder(path=path, method=method, headers=AUTH, **kwargs).get_environ()
    status = []
    start = time.perf_counter()
    body = b"".join(app.wsgi_app(environ, lambda s, h, exc_info=None: status.append(s)))
    elapsed = (time.perf_counter() - start) * 1000
    return elapsed, int(status[0].split()[0]), body


def upload(app, key: str, data: bytes) -> float:
    ms, status, body = call(app, "POST", "/api/images", data={"key": key, "file": (io.BytesIO(data), "p.jpg")})
    assert status in (200, 201), body[:200]
    return ms


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def upload_and_restore(rounds: int, tmp: str, sample: list[bytes]) -> dict:
    apps = {
        days: create_app(
            {
                "GALLERY_DATA_DIR": f"{tmp}/retention-{days}",
                "SECRET_KEY": "bench",
                "GALLERY_API_TOKENS": TOKEN,
                "GALLERY_RETENTION_DAYS": days,
            }
        )
        for days in (30, 0)
    }
    times = {(days, kind): [] for days in apps for kind in ("new", "replace")}
    for app in apps.values():  # warm-up: imports, first decode, SQLite file
        upload(app, "warm.jpg", sample[0])
    for i in range(rounds):
        order = list(apps.items()) if i % 2 == 0 else list(apps.items())[::-1]
        for days, app in order:
            times[days, "new"].append(upload(app, f"new/{i}.jpg", sample[i % len(sample)]))
            times[days, "replace"].append(upload(app, "same.jpg", sample[(i + 1) % len(sample)]))
    medians = {k: statistics.median(v) for k, v in times.items()}

    kept = apps[30]
    gallery = kept.extensions["services"]
    current, earlier = gallery.history.versions("same.jpg")
    versions = [earlier[0].record.version, current.version]  # restoring one makes the other an earlier one
    restores = []
    for i in range(max(rounds * 3, 50)):
        ms, status, body = call(kept, "POST", f"/api/images/same.jpg/versions/{versions[i % 2]}/restore", json={})
        assert status == 200, body[:200]
        restores.append(ms)
    return {
        "upload": medians,
        "history_versions": len(gallery.history.versions("same.jpg")[1]),
        "restore_median": statistics.median(restores),
        "restore_p95": percentile(restores, 0.95),
        "restores": len(restores),
    }


def vm(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise LookupError(field)


def zip_download(data_dir: str, keys: list[str]) -> dict:
    """A fresh gunicorn on ``data_dir``; its worker's peak RSS before and after one ZIP of ``keys``."""
    server = Server(data_dir, cache_mb=64)
    try:
        worker = server.worker_pids()[-1]
        requests.get(server.base + "/api/images?limit=1", timeout=10).raise_for_status()  # routes warm
        before = vm(worker, "VmHWM")
        start = time.perf_counter()
        size = 0
        with requests.post(
            server.base + "/api/images/zip", json={"keys": keys}, headers=AUTH, stream=True, timeout=120
        ) as response:
            response.raise_for_status()
            for chunk in response.iter_content(MB):
                size += len(chunk)
        elapsed = time.perf_counter() - start
        return {"bytes": size, "seconds": elapsed, "hwm_before": before, "hwm_after": vm(worker, "VmHWM")}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="upload rounds per configuration")
    parser.add_argument("--zip-rounds", type=int, default=3, help="downloads per ZIP size")
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()
    sizes = sorted({max(1, args.images // 4), args.images})

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp, "photos")
        folder.mkdir()
        for i, data in enumerate(photos(args.images)):  # generated once, then read from disk
            (folder / f"{i:03d}.jpg").write_bytes(data)
        files = sorted(folder.iterdir())
        sample = [files[i].read_bytes() for i in range(4)]
        history = upload_and_restore(args.rounds, tmp, sample)

        data_dir = f"{tmp}/zip"
        store = create_app({"GALLERY_DATA_DIR": data_dir, "SECRET_KEY": "bench"}).extensions["services"]
        keys = [store.library.upload(f"zip/{path.name}", path.read_bytes())[0].key for path in files]
        total_mb = sum(path.stat().st_size for path in files) / MB
        runs = {n: [] for n in sizes}
        for _ in range(args.zip_rounds):  # interleaved: 50, 200, 50, 200...
            for n in sizes:
                runs[n].append(zip_download(data_dir, keys[:n]))

    up = history["upload"]
    print(f"photos: {args.images} × 2 MP JPEG, {total_mb / args.images:.2f} MB each on average")
    print(f"\nupload (POST /api/images, server time, median of {args.rounds} interleaved rounds)")
    print(f"{'':24} {'history kept (30 d)':>20} {'nothing kept (0)':>18} {'ratio':>7}  target")
    for kind, label in (("new", "new key"), ("replace", "replacing a key")):
        kept, none = up[30, kind], up[0, kind]
        print(f"{label:24} {kept:17.1f} ms {none:15.1f} ms {kept / none:6.2f}x  <= 1.10x")
    print(f"(the kept key ends with {history['history_versions']} earlier versions)")
    print(f"\nrestore (POST /api/images/<key>/versions/<v>/restore, server time, {history['restores']} restores)")
    print(f"median {history['restore_median']:.2f} ms   p95 {history['restore_p95']:.2f} ms")
    print(f"\nZIP download (POST /api/images/zip, gunicorn.conf.py on loopback, median of {args.zip_rounds})")
    print(f"{'images':>6} {'ZIP MB':>8} {'MB/s':>8} {'peak RSS before':>16} {'after':>8} {'growth':>8}")
    growth = {}
    for n, results in runs.items():
        median = {k: statistics.median(r[k] for r in results) for k in results[0]}
        growth[n] = statistics.median(r["hwm_after"] - r["hwm_before"] for r in results)
        print(
            f"{n:6d} {median['bytes'] / MB:8.1f} {median['bytes'] / MB / median['seconds']:8.1f}"
            f" {median['hwm_before']:13.1f} MB {median['hwm_after']:5.1f} MB {growth[n]:5.1f} MB"
        )
    small, large = sizes[0], sizes[-1]
    ratio_ok = all(up[30, kind] / up[0, kind] <= 1.1 for kind in ("new", "replace"))
    # "Does not grow with the ZIP": 4x the archive may not add more than one photo's worth (or 2 MB).
    flat = growth[large] - growth[small] <= max(2.0, 2 * total_mb / args.images)
    print(f"\npeak RSS growth {small} → {large} images: {growth[small]:.1f} → {growth[large]:.1f} MB")
    print("targets met" if ratio_ok and flat else "TARGETS MISSED")


if __name__ == "__main__":
    main()
