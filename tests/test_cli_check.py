"""``flask --app wsgi gallery check``: the stored originals that an upload would now refuse
(stored before the structure checks existed) are listed, and the command exits 1."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import make_image

from app.core.blobs import ORIGINAL, blob_name

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))
import make_corpus as corpus  # noqa: E402


def test_check_passes_a_gallery_of_good_images(app, gallery):
    gallery.library.upload("good.png", make_image())
    result = app.test_cli_runner().invoke(args=["gallery", "check"])
    assert result.exit_code == 0, result.output
    assert "checked 1 image(s); 0 would now be refused" in result.output


def test_check_lists_originals_that_would_now_be_refused(app, gallery):
    gallery.library.upload("good.png", make_image())
    gallery.library.upload("old/pages.tif", make_image("TIFF"))
    gallery.library.upload("old/padded.jpg", make_image("JPEG"))
    # As if stored before the checks: the originals' bytes replaced behind the gallery's back.
    for key, data in (("old/pages.tif", corpus.tiff_pages(1500)), ("old/padded.jpg", corpus.jpeg_padded(5000))):
        record = gallery.metadata.get(key)
        gallery.blobs.put(blob_name(ORIGINAL, record), data, record.content_type)
    result = app.test_cli_runner().invoke(args=["gallery", "check"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert "old/pages.tif: The image has more than 1,000 frames; at most 1,000 are accepted." in lines
    assert any(line.startswith("old/padded.jpg: The JPEG file has more than 4,000 segments") for line in lines)
    assert not any(line.startswith("good.png") for line in lines)
    assert lines[-1] == "checked 3 image(s); 2 would now be refused"
