"""A cold start loads only what its first page needs: OpenCV, numpy and the detector are imported
when an image is first processed or recognised, not by the home page (on Lambda that import was
most of a cold start)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
from app import create_app
app = create_app({"GALLERY_DATA_DIR": sys.argv[1], "SECRET_KEY": "x", "GALLERY_RECOGNIZER": sys.argv[2]})
heavy = ("cv2", "numpy", "app.processing.codec", "app.recognition.local", "app.recognition.rekognition")
loaded = {}
for path in ("/", "/gallery", "/upload", "/process", "/healthz"):
    assert app.test_client().get(path).status_code == 200, path
    loaded[path] = [name for name in heavy if name in sys.modules]
print(json.dumps(loaded))
"""


def test_pages_load_neither_opencv_nor_the_detector(tmp_path):
    for recognizer in ("local", "rekognition"):
        env = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "PATH": "/usr/bin:/bin"}
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(tmp_path / recognizer), recognizer],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == dict.fromkeys(("/", "/gallery", "/upload", "/process", "/healthz"), [])


def test_the_operations_name_the_same_flags_they_validate():
    import cv2

    from app.processing import OPS
    from app.processing.ops import resize, threshold

    assert OPS["resize"].param("interpolation").choices == ("auto", *resize.INTERPOLATIONS)
    assert set(OPS["threshold"].param("method").choices) == {*threshold.FIXED, "otsu", *threshold.ADAPTIVE}
    flags = [*resize.INTERPOLATIONS.values(), *threshold.FIXED.values(), *threshold.ADAPTIVE.values()]
    assert all(isinstance(getattr(cv2, flag, None), int) for flag in flags)
