"""EXIF facts and the date taken read at upload (app/exif.py), and month/day headings (app/timeline.py)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, TiffImagePlugin

from app.core import timeline
from app.imaging import exif, images
from app.metadata.base import UNDATED_SHIFT, ImageRecord

CORPUS = Path(__file__).parent / "corpus" / "files"
R = TiffImagePlugin.IFDRational


def camera_exif(taken="2023:07:14 18:30:05", offset="+02:00", orientation=1, gps=True) -> Image.Exif:
    """EXIF as a camera writes it: IFD0, the Exif sub-IFD and (here) a GPS position."""
    tags = Image.Exif()
    tags[0x010F] = "Canon"
    tags[0x0110] = "Canon EOS R5"
    tags[0x0112] = orientation
    tags[0x0132] = "2024:01:01 00:00:00"  # DateTime: when the file was last edited, not taken
    sub = tags.get_ifd(0x8769)
    if taken:
        sub[0x9003] = taken
    if offset:
        sub[0x9011] = offset
    sub[0x829A] = R(1, 125)
    sub[0x829D] = R(28, 10)
    sub[0x8827] = 400
    sub[0x920A] = R(35, 1)
    sub[0xA434] = "RF24-105mm F4 L IS USM"
    if gps:
        position = tags.get_ifd(0x8825)
        position[1], position[2] = "N", (R(52, 1), R(31, 1), R(12, 1))
        position[3], position[4] = "E", (R(13, 1), R(24, 1), R(36, 1))
    return tags


def exif_photo(fmt="JPEG", size=(800, 600), **kwargs) -> bytes:
    """A small photo with camera EXIF (HEIF needs the EXIF as bytes to write its rotation box)."""
    image = Image.open(Path(__file__).parent / "data" / "dog.jpg").convert("RGB").resize(size)
    out = io.BytesIO()
    image.save(out, fmt, exif=camera_exif(**kwargs).tobytes())
    return out.getvalue()


def test_a_cameras_facts_are_read_under_stable_names():
    analysed = images.analyse(exif_photo(), 50_000_000, 360)
    assert analysed.taken_at == "2023-07-14T18:30:05+02:00"
    assert analysed.exif == {
        "make": "Canon",
        "model": "Canon EOS R5",
        "lens": "RF24-105mm F4 L IS USM",
        "exposure": "1/125 s",
        "aperture": "f/2.8",
        "iso": 400,
        "focal_length": "35 mm",
        "width": 800,
        "height": 600,
    }
    assert set(analysed.exif) <= set(exif.FIELDS)


def test_no_location_is_kept():
    analysed = images.analyse(exif_photo(), 50_000_000, 360, display_size=400)
    kept = json.dumps([analysed.exif, analysed.taken_at])
    assert "52" not in kept and "GPS" not in kept.upper()
    for rendition in (analysed.display, analysed.thumb2x, analysed.thumbnail):
        served = Image.open(io.BytesIO(rendition))
        assert not served.getexif() and "exif" not in served.info and "icc_profile" not in served.info


@pytest.mark.parametrize(
    ("taken", "offset", "expected"),
    [
        ("2023:07:14 18:30:05", "", "2023-07-14T18:30:05"),  # no offset: the camera's wall clock
        ("2023-07-14 18:30:05", "-05:00", "2023-07-14T18:30:05-05:00"),
        ("2023:07:14 18:30:05\x00", "bogus", "2023-07-14T18:30:05"),
        ("0000:00:00 00:00:00", "", None),  # what cameras write when the clock was never set
        ("2023:02:30 10:00:00", "", None),
        ("yesterday", "", None),
        (None, None, None),
    ],
)
def test_date_taken(taken, offset, expected):
    assert images.analyse(exif_photo(taken=taken, offset=offset), 50_000_000, 64).taken_at == expected


def test_facts_without_exif_are_the_dimensions():
    out = io.BytesIO()
    Image.new("RGB", (30, 20)).save(out, "PNG")
    analysed = images.analyse(out.getvalue(), 50_000_000, 64)
    assert analysed.taken_at is None and analysed.exif == {"width": 30, "height": 20}


@pytest.mark.parametrize("name", ["exif-garbage.jpg", "exif-huge-count.jpg", "exif-ifd-loop.jpg"])
def test_hostile_exif_gives_fewer_facts_not_an_error(name):
    analysed = images.analyse((CORPUS / name).read_bytes(), 50_000_000, 64)
    assert {"width", "height"} <= set(analysed.exif) <= set(exif.FIELDS)
    json.dumps(analysed.exif)  # storable as it is


def test_long_exposures_apertures_and_odd_text():
    tags = Image.Exif()
    tags[0x010F] = b"NIKON <b>CORPORATION</b>\x00\x00"
    tags[0x0110] = "NIKON D750" + "x" * 500
    sub = tags.get_ifd(0x8769)
    sub[0x829A], sub[0x829D], sub[0x920A] = R(5, 2), R(8, 1), R(0, 0)
    out = io.BytesIO()
    Image.new("RGB", (40, 30)).save(out, "JPEG", exif=tags)
    facts = images.analyse(out.getvalue(), 50_000_000, 64).exif
    assert facts["make"] == "NIKON bCORPORATION/b" and len(facts["model"]) == exif.MAX_TEXT
    assert (facts["exposure"], facts["aperture"]) == ("2.5 s", "f/8")
    assert "focal_length" not in facts  # 0/0


def test_summary_rows():
    facts = images.analyse(exif_photo(), 50_000_000, 64).exif
    assert exif.summary(facts) == [
        ("Camera", "Canon EOS R5"),
        ("Lens", "RF24-105mm F4 L IS USM"),
        ("Exposure", "1/125 s · f/2.8 · ISO 400 · 35 mm"),
    ]
    assert exif.summary({"make": "Apple", "model": "iPhone 15 Pro"}) == [("Camera", "Apple iPhone 15 Pro")]
    assert exif.summary({"width": 1, "height": 1}) == []


# -- timeline ----------------------------------------------------------------------------------
def record(key: str, uploaded: str, taken_at: str | None = None) -> ImageRecord:
    t = datetime.fromisoformat(uploaded).replace(tzinfo=UTC).timestamp()
    return ImageRecord(key, "image/jpeg", 1, 1, 1, "0" * 64, t, t, taken_at=taken_at)


def test_taken_time_falls_back_to_the_upload():
    uploaded = datetime(2024, 5, 1, 10, tzinfo=UTC).timestamp()
    assert record("a", "2024-05-01T10:00:00").taken_time() == uploaded + UNDATED_SHIFT  # after every date
    assert record("a", "2024-05-01T10:00:00", "2020-01-02T03:04:05").taken_time() == 1577934245.0
    assert record("a", "2024-05-01T10:00:00", "2020-01-02T05:04:05+02:00").taken_time() == 1577934245.0
    assert record("a", "2024-05-01T10:00:00", "garbage").taken() is None
    assert record("a", "2024-05-01T10:00:00", "garbage").taken_month() == "undated"
    assert record("a", "2024-05-01T10:00:00", "2020-01-31T23:30:00-05:00").taken_month() == "2020-01"  # camera's date
    assert (
        record("a", "2024-05-01T10:00:00", "0001-01-01T00:00:00").taken_time()
        > record("b", "9999-12-31T00:00:00").taken_time()
    )


def test_groups_by_month_and_day():
    page = [
        record("a", "2024-05-03T10:00:00", "2023-12-31T23:30:00"),
        record("b", "2024-05-03T09:00:00", "2023-12-31T08:00:00+09:00"),  # the camera's own date counts
        record("d", "2024-05-01T09:00:00", "2023-11-05T12:00:00"),
        record("c", "2024-05-02T09:00:00"),  # no date taken: at the end, under "Date unknown"
    ]
    by_month = timeline.groups(page, "taken", "month")
    assert [(g.key, g.heading, [r.key for r in g.records]) for g in by_month] == [
        ("2023-12", "December 2023", ["a", "b"]),
        ("2023-11", "November 2023", ["d"]),
        ("undated", "Date unknown", ["c"]),
    ]
    by_day = timeline.groups(page, "uploaded", "day")
    assert [(g.key, g.heading, len(g.records)) for g in by_day] == [
        ("2024-05-03", "Friday 3 May 2024", 2),
        ("2024-05-01", "Wednesday 1 May 2024", 1),
        ("2024-05-02", "Thursday 2 May 2024", 1),
    ]
    assert timeline.groups([], "taken") == []
    with pytest.raises(ValueError):
        timeline.groups(page, "taken", "year")
