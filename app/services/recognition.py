"""Object detection on an upload or a gallery image, and the labels it leaves on images."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..core.blobs import ORIGINAL, blob_name
from ..core.errors import GalleryError, InvalidParameter
from ..imaging import images
from ..recognition.base import Detector
from ..recognition.shape import DEFAULT_MIN_CONFIDENCE, MAX_MAX_LABELS, check_options, label_names, select
from .images import Images
from .imagework import ImageWork

log = logging.getLogger(__name__)


class Recognition:
    def __init__(
        self, images: Images, work: ImageWork, detector: Detector | Callable[[], Detector], max_upload_bytes: int
    ):
        self.images = images
        self.work = work
        self._detector = detector  # or how to make it: see ``detector``
        self._detector_lock = threading.Lock()
        self.max_upload_bytes = max_upload_bytes

    @property
    def detector(self) -> Detector:
        """The detector, made on first use when the app passed a factory: pages that recognise
        nothing never import it (OpenCV and the model, or the Rekognition client)."""
        if not isinstance(self._detector, Detector):
            with self._detector_lock:
                if not isinstance(self._detector, Detector):
                    self._detector = self._detector()
        return self._detector

    @property
    def detector_name(self) -> str:
        return self.detector.name

    @property
    def detector_model(self) -> str:
        return self.detector.model

    def recognize(self, key: str | None = None, data: bytes | None = None, min_confidence=None, max_labels=None):
        """Detect objects in uploaded ``data`` or in the gallery image ``key``. For a gallery image the
        label names at the default confidence (whatever the caller asked for) go into its metadata."""
        min_confidence, max_labels = check_options(min_confidence, max_labels)
        if (key is None) == (data is None):
            raise InvalidParameter("Give either an image file or the key of a gallery image.")
        if data is not None:
            images.check_size(data, self.max_upload_bytes)
            return self.detect(data, min_confidence, max_labels)
        record = self.images.get_record(key)
        floor = min(min_confidence, DEFAULT_MIN_CONFIDENCE)
        ref = self.images.blobs.external_ref(blob_name(ORIGINAL, record))
        if ref is not None and self.detector.can_read(ref, record.content_type, record.bytes):
            # The detector reads the stored object itself; its bytes never pass through us.
            result, version = self.detector.detect_stored(ref, floor, MAX_MAX_LABELS), record.version
        else:
            blob = self.images.get_original(record.key)
            result, version = self.detect(blob.data, floor, MAX_MAX_LABELS), blob.version
        stored = label_names(select(result, DEFAULT_MIN_CONFIDENCE, MAX_MAX_LABELS))
        self.images.metadata.set_labels(record.key, stored, version=version)  # not if replaced meanwhile
        return select(result, min_confidence, max_labels)

    def detect(self, data: bytes, min_confidence, max_labels) -> dict:
        """The detector on ``data``, its local decoding under the work budget."""
        detector = self.detector
        prepared = self.work.prepare_for(detector, data)
        return detector.detect_prepared(prepared, min_confidence, max_labels)

    def labels_for_upload(self, data: bytes) -> list[str] | None:
        """Label names for a new upload (GALLERY_LABEL_ON_UPLOAD), or None when detection failed:
        that must not lose the upload, so it is logged and the image is stored not labelled
        (``gallery label --missing`` tries again)."""
        try:
            return label_names(self.detect(data, DEFAULT_MIN_CONFIDENCE, MAX_MAX_LABELS))
        except GalleryError as exc:
            log.warning("Labelling the upload failed: %s", exc.message)
            return None

    def label_missing(self):
        """Label every image not labelled yet, one at a time; yields ``(key, error or None)``.
        Each success is stored at once, so an interrupted run resumes where it stopped; a failed
        image stays unlabelled for the next run."""
        after = None
        while True:
            keys, after = self.images.metadata.unlabelled(limit=100, after=after)
            for key in keys:
                try:
                    self.recognize(key=key)
                    yield key, None
                except GalleryError as exc:  # e.g. replaced or deleted meanwhile, or the detector failed
                    yield key, exc
            if after is None:
                return
