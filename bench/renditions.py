"""Renditions benchmark: what the display rendition costs at upload, and what it saves a phone.

Run: .venv/bin/python bench/renditions.py [--repeat 5]

1. Upload cost, per 12 MP photo (4000×3000 JPEG): the decode-and-renditions step of an upload
   (``images.analyse``) as before renditions (a 1x thumbnail from a 1/8-scale decode) beside what
   it does now (display rendition, 2x and 1x thumbnails, dominant colour, EXIF), without the
   display rendition, and with a JPEG one; median CPU ms of this process (steady on a shared
   machine) and median wall ms.
2. Bytes to view a 24 MP JPEG (6000×4000) on a phone (390 px wide, 3 device pixels per px): the
   Browse page's images as a browser picks them from srcset/sizes, beside what the page loaded
   before renditions (the original). The gallery tile the user came from is counted too.
Target (issue 13): ≤ 500 KB to view the 24 MP photo on a phone.
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app
from app.imaging import images  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "tests" / "data" / "dog.jpg"
PHONE_WIDTH, PHONE_DPR = 390, 3


def photo(size: tuple[int, int], fmt: str = "JPEG", quality: int = 92) -> bytes:
    """A camera-like photo: a real picture upscaled, with sensor-like grain so it compresses like one."""
    image = Image.open(PHOTO).convert("RGB").resize(size, Image.Resampling.BICUBIC)
    grain = np.random.default_rng(7).normal(0, 6, (size[1], size[0], 3))
    pixels = np.clip(np.asarray(image, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, fmt, quality=quality)
    return out.getvalue()


def median_ms(fn, repeat: int) -> tuple[float, float]:
    """Median (CPU ms, wall ms) of ``repeat`` calls."""
    cpu, wall = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return statistics.median(cpu), statistics.median(wall)


def before_renditions(data: bytes) -> None:
    """The upload's decode before renditions existed: header checks, then a 360 px thumbnail."""
    image = images.open_image(data, 50_000_000)
    images.shrink(image, images.header_orientation(image), 360)


# -- what a browser fetches ------------------------------------------------------------------------
def chosen(img_tag: str) -> str:
    """The URL a browser takes from an <img>'s srcset and sizes on the phone (the smallest candidate
    at least as wide as needed, else the widest), or its src."""
    srcset = re.search(r'srcset="([^"]*)"', img_tag)
    if not srcset:
        return re.search(r'src="([^"]*)"', img_tag).group(1)
    width = PHONE_WIDTH
    for part in re.search(r'sizes="([^"]*)"', img_tag).group(1).split(","):
        query = re.fullmatch(r"\s*\(max-width: (\d+)px\)\s+(\d+)vw\s*", part)
        if query and int(query.group(1)) >= PHONE_WIDTH:
            width = PHONE_WIDTH * int(query.group(2)) // 100
            break
        if not query:
            width = int(re.search(r"(\d+)px", part).group(1))
            break
    needed = width * PHONE_DPR
    candidates = sorted((int(w), url) for url, w in re.findall(r"(\S+) (\d+)w", srcset.group(1)))
    return next((url for w, url in candidates if w >= needed), candidates[-1][1]).replace("&amp;", "&")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    twelve = photo((4000, 3000))
    rows = {
        "before renditions (1x thumbnail, 1/8-scale decode)": lambda: before_renditions(twelve),
        "2x + 1x thumbnails, colour, EXIF (no display)": lambda: images.analyse(twelve, 50_000_000, 360),
        "+ display 1920 px WebP (the default)": lambda: images.analyse(twelve, 50_000_000, 360, display_size=1920),
        "+ display 1920 px JPEG": lambda: images.analyse(
            twelve, 50_000_000, 360, display_size=1920, display_format="jpeg"
        ),
    }
    cost = {name: median_ms(fn, args.repeat) for name, fn in rows.items()}
    print(f"1. Upload cost per 12 MP photo ({len(twelve) / 1048576:.1f} MB JPEG), median of {args.repeat}")
    print(f"   {'':52} {'CPU ms':>8} {'wall ms':>8}")
    for name, (cpu, wall) in cost.items():
        print(f"   {name:52} {cpu:8.0f} {wall:8.0f}")
    (before, _), (without, _), (webp, _), (jpeg, _) = cost.values()
    print(
        f"   the display rendition adds {webp - without:.0f} ms CPU (JPEG: {jpeg - without:.0f}); "
        f"all renditions add {webp - before:.0f} ms CPU per upload"
    )

    big = photo((6000, 4000), quality=95)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"GALLERY_DATA_DIR": tmp, "SECRET_KEY": "bench", "GALLERY_MAX_UPLOAD_MB": 64})
        gallery, client = app.extensions["services"], app.test_client()
        record, _ = gallery.library.upload("camera/IMG_0001.jpg", big)
        grid = client.get("/gallery").get_data(as_text=True)
        tile = re.search(r"<img [^>]*IMG_0001[^>]*>", grid).group(0)
        page = client.get("/browse?key=camera/IMG_0001.jpg").get_data(as_text=True)
        main_img = re.search(r'<figure class="detail-image">\s*(<img[^>]*>)', page).group(1)
        fetched = {name: client.get(chosen(tag)) for name, tag in (("tile", tile), ("photo", main_img))}
        thumb_bytes = len(client.get(f"/thumbs/{record.key}").data)
        html = len(page.encode())
        as_jpeg = images.analyse(big, 50_000_000, 360, display_size=1920, display_format="jpeg").display
        now_bytes = html + sum(len(r.data) for r in fetched.values())
        before_bytes = html + thumb_bytes + record.bytes
    print()
    print(
        f"2. Bytes to view a 24 MP JPEG ({record.bytes / 1048576:.1f} MB) on a {PHONE_WIDTH} px phone at {PHONE_DPR}x"
    )
    print(f"   {'':36} {'before renditions':>18} {'now':>18}")
    print(f"   {'gallery tile':36} {thumb_bytes / 1024:15.0f} KB {len(fetched['tile'].data) / 1024:15.0f} KB")
    photo_now = f"{len(fetched['photo'].data) / 1024:.0f} KB"
    print(f"   {'the photo on Browse':36} {record.bytes / 1024:15.0f} KB {photo_now:>18}")
    print(f"   {'  (as JPEG, GALLERY_DISPLAY_FORMAT=jpeg)':36} {'':18} {len(as_jpeg) / 1024:15.0f} KB")
    print(f"   {'page HTML':36} {html / 1024:15.0f} KB {html / 1024:15.0f} KB")
    print(f"   {'total':36} {before_bytes / 1024:15.0f} KB {now_bytes / 1024:15.0f} KB")
    kinds = ", ".join(f"{name}: {r.request.path}" for name, r in fetched.items())
    print(f"   fetched now: {kinds}")
    print(
        f"   {before_bytes / now_bytes:.0f}x fewer bytes; target <= 500 KB: {'met' if now_bytes <= 500 * 1024 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
