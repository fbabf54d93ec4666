"""The crafted containers of issue 23 (tests/corpus ``ATTACK_CASES``): a many-page TIFF, a JPEG
padded with millions of segments, one-byte PNG chunks and GIF blocks, AVIF/HEIC whose header
hides the real picture size, 118-byte TIFFs that gave 500s. Each is refused with a clear 4xx by
every route that reads an image — upload, processing (full and preview), recognition — in well
under a CPU second, and nothing is stored."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import pytest
from test_bad_inputs import CASES, assert_clear_error, corpus_bytes, seeded, snapshot  # noqa: F401

from app.core.errors import BadImage, TooLarge
from app.imaging import heif, structure

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))
import make_corpus as corpus  # noqa: E402

CPU_BOUND = 2.0  # seconds; the refusals measure a few milliseconds (the multipart body costs more)
OPS = json.dumps([{"op": "resize", "width": 8}])
ROUTES = [
    ("upload", "/api/images", {"key": "attack/x"}),
    ("process", "/api/process", {"ops": OPS}),
    ("preview", "/api/process", {"ops": OPS, "preview": "true"}),
    ("recognize", "/api/recognize", {}),
]


@pytest.mark.parametrize("name", corpus.ATTACKS)
def test_each_crafted_file_is_refused_everywhere_in_well_under_a_cpu_second(app, api, seeded, name):  # noqa: F811
    case, data = CASES[name], corpus_bytes(name)
    figures = []
    for route, path, fields in ROUTES:
        body = {**fields, "file": (io.BytesIO(data), name)}
        started = time.process_time()
        response = api.post(path, data=body, content_type="multipart/form-data")
        spent = time.process_time() - started
        figures.append(f"{route} {response.status_code} in {spent * 1000:.0f} ms")
        if route == "recognize" and response.status_code != case.status:
            # recognition words its own refusals (a pixel limit as 422): any clear 4xx
            assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
            assert_clear_error(response, response.status_code, response.json["error"]["code"], "")
        else:
            assert_clear_error(response, case.status, case.code, case.phrase)
        assert spent < CPU_BOUND, (route, spent)
    print(f"{name} ({len(data) / 1e6:.1f} MB): " + ", ".join(figures))
    after = snapshot(app)
    # A file whose header passes (the 118-byte TIFFs fail only when decoded) leaves the preview's
    # cached rendition of the upload behind: a cache entry, not a stored image.
    after["cache"] = [entry for entry in after["cache"] if not entry[0].startswith("rendition:")]
    assert after == seeded


def test_the_structure_walk_itself_stops_at_its_caps():
    """The walks cost what the caps allow, not what the file holds: refusing 25 MB of structure
    reads at most a few hundred thousand headers."""
    for name in ("jpeg-6500000-app-segments.jpg", "png-one-byte-chunks.png", "gif-one-byte-blocks.gif"):
        data = corpus_bytes(name)
        started = time.process_time()
        with pytest.raises(Exception, match="more than"):
            structure.check(data, 50_000_000, 1000)
        assert time.process_time() - started < 0.5, name


def test_real_structure_up_to_the_caps_is_accepted_and_counted():
    structure.check(corpus.tiff_pages(1000), 50_000_000, 1000)
    assert structure.tiff_pages(corpus.tiff_pages(1000), 1000) == 1000
    assert structure.jpeg_segments(corpus.jpeg_padded(300)) == 300 + structure.jpeg_segments(corpus.jpeg())
    assert structure.gif_frames(corpus.gif_frames(5), 50_000_000, 1000) == 5
    assert structure.png_chunks(corpus.png(), 1000) == structure.png_chunks(corpus.png_one_byte_chunks(0), 1000)
    for name in ("gif-5-frames.gif", "gray-16bit.tif", "cmyk.tif", "exif-ifd-loop.jpg", "rgb-16bit.png"):
        structure.check(corpus_bytes(name), 50_000_000, 1000)  # odd but valid: no complaint


def test_a_tiff_page_list_that_loops_is_refused():
    with pytest.raises(BadImage, match="loops back"):
        structure.tiff_pages(corpus.tiff_pages(3, loop=True), 1000)


def test_a_lying_avif_header_is_caught_from_the_av1_sequence_header():
    data = corpus_bytes("avif-lying-ispe.avif")
    with pytest.raises(BadImage, match="2000×2000 pixels, larger than its header says"):
        heif.check(data, 50_000_000)
    with pytest.raises(TooLarge, match="2000×2000 = 4,000,000 pixels"):
        heif.check(data, 1_000_000)


def test_animation_frames_are_counted_from_the_container():
    frames = [corpus.gradient((8, 8)).rotate(90 * i) for i in range(3)]
    webp = corpus.encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=50)
    apng = corpus.encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=50)
    assert structure.webp_frames(webp, 1000) == 3
    for data in (webp, apng, corpus.gif_frames(3)):
        structure.check(data, 50_000_000, 3)
        with pytest.raises(BadImage, match="more than 2 frames"):
            structure.check(data, 50_000_000, 2)
