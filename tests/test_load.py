"""The quick mode of bench/load.py: 10 clients for 4 s against gunicorn with the production
settings; zero errors and every uploaded key reads back byte-identical."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[1]


def test_quick_load_has_no_errors_and_loses_nothing():
    run = subprocess.run(
        [sys.executable, "bench/load.py", "--quick", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GALLERY_LABEL_ON_UPLOAD": "0"},  # about load, not detection
    )
    assert run.returncode in (0, 1), run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["errors"] == 0, report["error_samples"]
    assert report["readback_mismatches"] == []
    assert report["uploaded_keys"] > 0
    # Every part of the mix ran, including both sides of the cache and processing.
    assert set(report["routes"]) == {
        "gallery page",
        "browse hit",
        "browse miss",
        "image",
        "thumbnail",
        "image miss",
        "upload",
        "process",
        "cache stats",
    }
    assert all(route["count"] > 0 for route in report["routes"].values())
    assert 0 < report["cache_hit_rate"] < 1
    assert 0 < report["max_rss_mb"] < 1024
