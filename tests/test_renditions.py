"""Display renditions and 2x thumbnails: made at upload from one decode, served by /display and
/thumbs2x like the originals, shown by the pages, and made for older images by ``gallery renditions``."""

from __future__ import annotations

import hashlib
import io
import re
import struct

import pytest
from conftest import is_stored, make_app, make_image
from PIL import Image
from test_exif import exif_photo

from app.core.blobs import DISPLAY, ORIGINAL, RENDITIONS, THUMB, THUMB2X, blob_name
from app.imaging import images
from app.metadata.base import ImageRecord

IMMUTABLE = "public, max-age=31536000, immutable"
LEGACY = {  # what a record stored before renditions existed holds
    "thumb2x_width": 0,
    "thumb2x_height": 0,
    "display_content_type": "",
    "display_width": 0,
    "display_height": 0,
    "color": "",
    "taken_at": None,
    "exif": {},
}


def big_jpeg(size=(4000, 3000), orientation=1) -> bytes:
    image = Image.new("RGB", size, (30, 90, 200))
    image.paste((240, 200, 20), (0, 0, size[0] // 4, size[1] // 4))
    tags = Image.Exif()
    tags[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=tags)
    return out.getvalue()


def test_one_decode_makes_every_rendition(monkeypatch):
    decodes = []
    real = Image._getdecoder

    def counting(*args, **kwargs):
        decodes.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(Image, "_getdecoder", counting)
    analysed = images.analyse(big_jpeg(orientation=6), 50_000_000, 360, display_size=1920)
    assert decodes == ["jpeg"]
    assert (analysed.width, analysed.height) == (3000, 4000)
    assert (analysed.display_width, analysed.display_height) == (1440, 1920)
    assert (analysed.thumb2x_width, analysed.thumb2x_height) == (540, 720)
    assert (analysed.thumb_width, analysed.thumb_height) == (270, 360)
    display = Image.open(io.BytesIO(analysed.display))
    assert display.format == "WEBP" and display.size == (1440, 1920)
    # Upright: the marker stored top-left is top-right after a 90° clockwise turn.
    r, g, b = display.convert("RGB").getpixel((1440 - 20, 20))
    assert r > 200 and g > 150 and b < 100
    red, green, blue = (int(analysed.color[i : i + 2], 16) for i in (1, 3, 5))
    assert blue > 150 and red < 80  # the blue that covers most of it


def test_small_images_are_never_enlarged():
    analysed = images.analyse(make_image("PNG", size=(64, 48)), 50_000_000, 360, display_size=1920)
    assert (analysed.display_width, analysed.display_height) == (64, 48)
    assert (analysed.thumb2x_width, analysed.thumb_width) == (64, 64)
    assert re.fullmatch(r"#[0-9a-f]{6}", analysed.color)


def test_transparency_survives_in_every_rendition():
    analysed = images.analyse(make_image("PNG", size=(80, 60), mode="RGBA"), 50_000_000, 32, display_size=64)
    for data in (analysed.display, analysed.thumb2x, analysed.thumbnail):
        assert Image.open(io.BytesIO(data)).mode == "RGBA"


def s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def wide_gamut_profile(name: bytes = b"Display P3-like") -> bytes:
    """A minimal ICC v2 RGB matrix/TRC profile with Display P3's primaries (D50-adapted), gamma 2.2."""

    def xyz(x, y, z):
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0233) + b"\0\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(name) + 1) + name + bytes(1 + 4 + 4 + 2 + 1 + 67)
    desc += bytes(-len(desc) % 4)
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.5151, 0.2412, -0.0011)),
        (b"gXYZ", xyz(0.2920, 0.6922, 0.0419)),
        (b"bXYZ", xyz(0.1571, 0.0666, 0.7841)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = struct.pack(">I", offset + len(body)) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + bytes(12)
    header += b"acsp" + bytes(16 + 8 + 4) + s15(0.9642) + s15(1.0) + s15(0.8249) + bytes(4 + 16 + 28)
    return header + struct.pack(">I", len(tags)) + table + body


@pytest.mark.parametrize(("profile", "expected"), [(wide_gamut_profile(), (0, 185, 23)), (b"broken", (40, 180, 60))])
def test_renditions_are_srgb(profile, expected):
    """A phone's Display P3 photo is converted (renditions carry no profile, so browsers take them as
    sRGB); a broken profile is ignored."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 180, 60)).save(out, "PNG", icc_profile=profile)
    analysed = images.analyse(out.getvalue(), 50_000_000, 32, display_size=64)
    display = Image.open(io.BytesIO(analysed.display))
    assert "icc_profile" not in display.info
    assert all(abs(a - b) <= 3 for a, b in zip(display.convert("RGB").getpixel((10, 10)), expected, strict=True))


# -- upload, serving -----------------------------------------------------------------------------
@pytest.fixture
def stored(api):
    body = api.upload("trips/cat.jpg", exif_photo(size=(2400, 1800))).get_json()
    return body


def test_upload_stores_and_describes_the_renditions(stored, gallery):
    body = stored
    assert body["display_url"] == f"/display/trips/cat.jpg?v={body['version']}"
    assert body["thumb2x_url"] == f"/thumbs2x/trips/cat.jpg?v={body['version']}"
    assert (body["display_width"], body["display_height"], body["display_content_type"]) == (1920, 1440, "image/webp")
    assert (body["thumb2x_width"], body["thumb2x_height"]) == (720, 540)
    assert re.fullmatch(r"#[0-9a-f]{6}", body["color"])
    assert body["taken_at"] == "2023-07-14T18:30:05+02:00" and body["exif"]["model"] == "Canon EOS R5"
    record = gallery.catalog.get_record("trips/cat.jpg")
    for variant in (ORIGINAL, THUMB, THUMB2X, DISPLAY):
        assert gallery.blobs.get(blob_name(variant, record))


@pytest.mark.parametrize(
    ("path", "variant", "size"), [("/display/", "display", (1920, 1440)), ("/thumbs2x/", "thumb2x", (720, 540))]
)
def test_renditions_are_served_like_originals(client, stored, path, variant, size):
    url = path + "trips/cat.jpg"
    response = client.get(url)
    assert response.status_code == 200 and response.content_type == "image/webp"
    served = Image.open(io.BytesIO(response.data))
    assert served.size == size and not served.getexif()
    etag = response.headers["ETag"]
    assert etag.startswith(f'"{variant}-') and response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "public, no-cache"
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"{url}?v={stored['version']}").headers["Cache-Control"] == IMMUTABLE
    exact = client.get(f"{url}?version={stored['version']}")
    assert exact.data == response.data and exact.headers["Cache-Control"] == IMMUTABLE
    assert client.get(f"{url}?version=nope").status_code == 404
    assert client.get(path + "trips/missing.jpg").status_code == 404


def test_the_fast_path_serves_renditions_from_the_cache(client, gallery, stored, monkeypatch):
    url = f"/display/trips/cat.jpg?v={stored['version']}"  # a versioned URL, as pages use
    first = client.get(url)

    def forbidden(*args):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(gallery.blobs, "get", forbidden)
    monkeypatch.setattr(gallery.metadata, "get", forbidden)
    monkeypatch.setattr(gallery.metadata, "get_version", forbidden)
    assert client.get(url).data == first.data


def test_replacing_and_deleting_drop_every_rendition(api, client, gallery, stored):
    old = gallery.catalog.get_record("trips/cat.jpg")
    before = client.get("/display/trips/cat.jpg").data
    api.upload("trips/cat.jpg", make_image("PNG", size=(300, 100)))
    assert client.get("/display/trips/cat.jpg").data != before  # no stale cache entry
    assert client.get(f"/display/trips/cat.jpg?version={old.version}").data == before  # the history keeps it
    api.delete("trips/cat.jpg")
    assert client.get("/display/trips/cat.jpg").status_code == 404
    gallery.history.empty_trash()
    for variant in (ORIGINAL, THUMB, THUMB2X, DISPLAY):
        assert not is_stored(gallery.blobs, blob_name(variant, old))


def test_browse_shows_the_display_rendition_and_the_facts(client, stored):
    page = client.get("/browse?key=trips/cat.jpg").get_data(as_text=True)
    version = stored["version"]
    img = re.search(r'<figure class="detail-image"[^>]*>\s*<a [^>]*>(<img[^>]*>)', page).group(1)
    assert f'src="/display/trips/cat.jpg?v={version}"' in img
    assert f"/thumbs2x/trips/cat.jpg?v={version} 720w, /display/trips/cat.jpg?v={version} 1920w" in img
    assert 'sizes="' in img and 'width="1920" height="1440"' in img and 'data-color="#' in img
    assert 'src="/images/trips/cat.jpg' not in page  # the original is only linked, for download
    for fact in (
        "2023-07-14 18:30:05+02:00",
        "Canon EOS R5",
        "RF24-105mm F4 L IS USM",
        "1/125 s · f/2.8 · ISO 400 · 35 mm",
    ):
        assert fact in page, fact


def test_grid_thumbnails_carry_a_2x_srcset(client, stored):
    page = client.get("/gallery").get_data(as_text=True)
    version = stored["version"]
    assert f"/thumbs/trips/cat.jpg?v={version} 360w, /thumbs2x/trips/cat.jpg?v={version} 720w" in page
    assert 'sizes="(max-width: 700px) 50vw, 300px"' in page  # justified tiles are up to about 300 px wide


# -- images stored before renditions, and the backfill -----------------------------------------------
def make_legacy(gallery, key: str, data: bytes) -> ImageRecord:
    """An image as an older version stored it: original and thumbnail only."""
    record, _ = gallery.library.upload(key, data)
    assert gallery.metadata.amend(key, record.version, LEGACY)
    for variant in RENDITIONS:
        gallery.blobs.delete(blob_name(variant, record))
    gallery.cache.clear()  # nothing cached from before the legacy shape
    return gallery.catalog.get_record(key)


def test_older_images_fall_back_to_what_they_have(client, gallery):
    record = make_legacy(gallery, "old.jpg", exif_photo())
    body = client.get("/api/images/old.jpg").get_json()
    assert body["display_url"] is None and body["thumb2x_url"] is None and body["exif"] == {}
    missing = client.get("/display/old.jpg")
    assert missing.status_code == 404 and "gallery renditions" in missing.get_data(as_text=True)
    assert client.get("/thumbs2x/old.jpg").status_code == 404
    page = client.get("/browse?key=old.jpg").get_data(as_text=True)
    assert f'src="/images/old.jpg?v={record.version}"' in page
    assert "srcset" not in client.get("/gallery").get_data(as_text=True)


def test_the_renditions_command_backfills_resumably_and_idempotently(tmp_path):
    app = make_app(tmp_path)
    gallery = app.extensions["services"]
    old = [make_legacy(gallery, f"old/{i}.jpg", exif_photo(size=(300 + i, 200))) for i in range(5)]
    gallery.library.upload("new.png", make_image("PNG"))
    runner = app.test_cli_runner()
    calls = []
    real = gallery.admin.add_renditions

    def interrupted(record):  # the operator stops it after two images
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(record.key)
        return real(record)

    gallery.admin.add_renditions = interrupted
    runner.invoke(args=["gallery", "renditions"])
    del gallery.admin.add_renditions
    assert sum(gallery.catalog.get_record(r.key).has_renditions for r in old) == 2
    result = runner.invoke(args=["gallery", "renditions"])
    assert result.exit_code == 0, result.output
    assert "made 3, already had 3" in result.output and "Renditions" in result.output
    for r in old:
        record = gallery.catalog.get_record(r.key)
        assert record.version == r.version and record.display_width == r.width
        assert record.taken_at == "2023-07-14T18:30:05+02:00" and record.exif["make"] == "Canon"
        assert gallery.images.read(DISPLAY, r.key).data[:4] == b"RIFF"
    again = runner.invoke(args=["gallery", "renditions"])
    assert "made 0, already had 6" in again.output


def test_a_backfilled_image_replaced_meanwhile_keeps_no_stray_rendition(gallery):
    old = make_legacy(gallery, "race.jpg", exif_photo())
    real = gallery.metadata.amend

    def replaced_first(key, version, changes):
        gallery.library.upload("race.jpg", make_image("PNG"))
        return real(key, version, changes)

    gallery.metadata.amend = replaced_first
    assert gallery.admin.add_renditions(old) == "gone"
    for variant in RENDITIONS:
        assert not is_stored(gallery.blobs, blob_name(variant, old))
    assert gallery.catalog.get_record("race.jpg").has_renditions  # the new upload made its own


def test_amend_refuses_identity_fields(gallery):
    record, _ = gallery.library.upload("k.png", make_image("PNG"))
    for field in ("key", "version", "labels", "nonsense"):
        with pytest.raises(ValueError):
            gallery.metadata.amend("k.png", record.version, {field: "x"})
    assert not gallery.metadata.amend("k.png", "another-version", {"color": "#000000"})
    assert gallery.metadata.amend("k.png", record.version, {"color": "#000000"})
    assert gallery.catalog.get_record("k.png").color == "#000000"


def test_etags_name_the_variant(gallery, stored):
    sha = hashlib.sha256(gallery.images.read(ORIGINAL, "trips/cat.jpg").data).hexdigest()
    assert gallery.images.read(DISPLAY, "trips/cat.jpg").etag == f"display-{sha}"
    assert gallery.images.read(THUMB2X, "trips/cat.jpg").etag == f"thumb2x-{sha}"


def test_jpeg_display_renditions_and_a_bad_format(tmp_path):
    app = make_app(tmp_path, GALLERY_DISPLAY_FORMAT="jpeg", GALLERY_DISPLAY_SIZE="200")
    gallery, client = app.extensions["services"], app.test_client()
    opaque, _ = gallery.library.upload("opaque.jpg", exif_photo(size=(400, 300)))
    clear, _ = gallery.library.upload("clear.png", make_image("PNG", size=(400, 300), mode="RGBA"))
    assert (opaque.display_content_type, opaque.display_width) == ("image/jpeg", 200)
    assert clear.display_content_type == "image/webp"  # JPEG has no transparency
    served = client.get("/display/opaque.jpg")
    assert served.content_type == "image/jpeg"
    image = Image.open(io.BytesIO(served.data))
    assert not image.getexif() and "icc_profile" not in image.info
    with pytest.raises(SystemExit, match="GALLERY_DISPLAY_FORMAT"):
        make_app(tmp_path, GALLERY_DISPLAY_FORMAT="gif")
