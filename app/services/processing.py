"""Processing pipelines: full runs (optionally saved to the gallery) and live previews.

Everything is validated, and the work priced against the budget, before any pixel is touched.
Results are cached under (source sha256, normalised steps, format, quality).
"""

from __future__ import annotations

import hashlib
import re

from .. import processing
from ..cache.base import Cache
from ..core.conflicts import check_on_conflict
from ..core.errors import InvalidParameter, NotFound
from ..core.keys import validate_key
from ..imaging import exif, images
from .images import Images
from .imagework import ImageWork
from .library import Library

CACHE_UPLOAD_RESULTS_ABOVE = 0.25  # estimated CPU seconds: cheaper results of uploads are not cached
SHA256 = re.compile(r"[0-9a-f]{64}")
EITHER = "Give either an image file or the key of a gallery image."


class Processing:
    def __init__(self, images: Images, work: ImageWork, library: Library, max_upload_bytes: int, max_pixels: int):
        self.images = images
        self.cache: Cache = images.cache
        self.work = work
        self.library = library  # saves results
        self.max_upload_bytes = max_upload_bytes
        self.max_pixels = max_pixels

    def process(self, ops, key=None, data=None, fmt=None, quality=None, save_as=None, on_conflict=None, on_run=None):
        """Run a pipeline on uploaded ``data`` or the gallery image ``key``; with ``save_as`` the result
        is stored with its provenance. ``on_run()`` is called before any decoding (a run, or storing a
        cached result), so a caller can charge real work only: a result answered from the cache alone
        does not call it. Returns ``(Rendered, record or None, replaced)``."""
        steps = processing.normalize_ops(ops)
        fmt, quality = processing.normalize_output(fmt, quality)
        save_as = None if save_as is None else validate_key(save_as)
        on_conflict = check_on_conflict(on_conflict)
        if (key is None) == (data is None):
            raise InvalidParameter(EITHER)

        def charge(cached: bool) -> None:
            if on_run is not None and (not cached or save_as is not None):
                on_run()

        if data is not None:
            images.check_size(data, self.max_upload_bytes)
            job, cost = self.work.plan_pipeline(data, steps, fmt, quality)
            # Hashing an upload costs about as much as a cheap pipeline on it, and an upload is rarely
            # sent twice: only a costly result, or one being saved (its provenance names the source's
            # hash), goes through the cache.
            source_sha256 = ckey = raw = None
            if save_as is not None or cost.seconds > CACHE_UPLOAD_RESULTS_ABOVE:
                source_sha256 = hashlib.sha256(data).hexdigest()
                ckey = processing.result_cache_key(source_sha256, steps, fmt, quality)
                raw = self.cache.get(ckey)
            charge(raw is not None)
            if raw is not None:
                rendered = processing.Rendered.unpack(raw)
            else:
                rendered = processing.Rendered.of(self.work.run_pipeline(data, job, cost))
                if ckey is not None:
                    self.cache.set(ckey, rendered.pack())
        else:  # the record's hash names the result, so a cache hit never reads the source bytes
            source = self.images.get_record(key)
            source_sha256, source_version = source.sha256, source.version
            ckey = processing.result_cache_key(source_sha256, steps, fmt, quality)
            raw = self.cache.get(ckey)
            charge(raw is not None)
            if raw is not None:
                rendered = processing.Rendered.unpack(raw)
            else:
                blob = self.images.get_original(key)
                if blob.etag != source_sha256:  # replaced meanwhile: name the result after what we read
                    source_sha256, source_version = blob.etag, blob.version  # an original's etag is its sha256
                    ckey = processing.result_cache_key(source_sha256, steps, fmt, quality)
                job, cost = self.work.plan_pipeline(blob.data, steps, fmt, quality)
                rendered = processing.Rendered.of(self.work.run_pipeline(blob.data, job, cost))
                self.cache.set(ckey, rendered.pack())
        if save_as is None:
            return rendered, None, False
        provenance = {"source_key": key, "source_sha256": source_sha256, "ops": steps}
        if key is not None:
            provenance["source_version"] = source_version
        taken = self._taken(source if key is not None else None, data)
        if taken[0] or taken[1]:  # recorded, so the edit says where its date and camera come from
            provenance["taken_at"], provenance["camera"] = taken
        # The key names what it holds: an edit of chelsea.heic saved as JPEG is chelsea-edit.jpg.
        record, replaced = self.library.upload(
            processing.output_key(save_as, rendered.format),
            rendered.data,
            provenance=provenance,
            on_conflict=on_conflict,
            taken=taken,
        )
        return rendered, record, replaced

    def _taken(self, source, data: bytes | None) -> tuple[str | None, dict]:
        """When the source photo was taken and its camera facts (not its size): what an edit keeps."""
        if source is None:  # an upload: its header's EXIF (the pipeline has checked the file already)
            image, _ = images.open_checked(data, self.max_pixels)
            with image:
                taken_at, facts = exif.read(image, *image.size)
        else:
            taken_at, facts = source.taken_at, source.exif
        return taken_at, {k: v for k, v in (facts or {}).items() if k not in ("width", "height")}

    def preview(self, ops, key=None, data=None, source_sha256=None, fmt=None, quality=None, on_run=None):
        """``process`` at display size, for a live preview: the steps run on the source's rendition
        (made once, cached by the source's sha256; see processing.preview) and nothing is saved.
        ``source_sha256`` names an upload previewed before, so it need not be sent again.
        ``on_run()`` as for ``process``: called only when work is about to be done.
        Returns ``(PreviewResult, source sha256)``."""
        from ..processing import preview as previews  # OpenCV loads on first use (cold starts)

        steps = processing.normalize_ops(ops)
        fmt, quality = processing.normalize_output(fmt, quality)
        if sum(x is not None for x in (key, data, source_sha256)) != 1:
            raise InvalidParameter(EITHER)
        if data is not None:
            images.check_size(data, self.max_upload_bytes)
            sha256 = hashlib.sha256(data).hexdigest()
        elif key is not None:
            sha256 = self.images.get_record(key).sha256
        elif not SHA256.fullmatch(str(source_sha256)):
            raise InvalidParameter("source_sha256 must be 64 lowercase hexadecimal digits.")
        else:
            sha256 = source_sha256
        raw = self.cache.get(previews.preview_cache_key(sha256, steps, fmt, quality))
        if raw is not None:
            return previews.PreviewResult.unpack(raw), sha256
        if on_run is not None:
            on_run()
        sha256, rendition = self._rendition(sha256, key, data)
        shown = self.work.run_preview(rendition, steps, fmt, quality)
        self.cache.set(previews.preview_cache_key(sha256, steps, fmt, quality), shown.pack())
        return shown, sha256

    def _rendition(self, sha256: str, key: str | None, data: bytes | None):
        from ..processing import preview as previews

        raw = self.cache.get(previews.rendition_cache_key(sha256))
        if raw is not None:
            return sha256, previews.Rendition.unpack(raw)
        if key is None and data is None:
            raise NotFound("The image shown before is no longer at hand; choose the file again.")
        if data is None:
            blob = self.images.get_original(key)
            sha256, data = blob.etag, blob.data  # an original's etag is its sha256 (replaced meanwhile?)
        rendition = self.work.preview_rendition(data)
        self.cache.set(previews.rendition_cache_key(sha256), rendition.pack())
        return sha256, rendition
