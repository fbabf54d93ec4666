"""Object detectors: ``local`` (bundled SSD MobileNet via OpenCV DNN, default) and ``rekognition``.

Both return Rekognition ``DetectLabels``-shaped results (see ``shape.py``).
"""


def create_detector(settings: dict):
    kind = settings["GALLERY_RECOGNIZER"]
    if kind == "local":
        from .local import LocalDetector

        return LocalDetector(max_pixels=settings["GALLERY_MAX_PIXELS"])
    if kind == "rekognition":
        from .rekognition import RekognitionDetector

        return RekognitionDetector(settings["AWS_REGION"], max_pixels=settings["GALLERY_MAX_PIXELS"])
    raise SystemExit(f"GALLERY_RECOGNIZER={kind!r} is not one of: local, rekognition")
