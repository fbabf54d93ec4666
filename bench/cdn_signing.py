"""Signed CDN URLs: what signing a private gallery page's media costs (GALLERY_PUBLIC_READ=0 with
GALLERY_MEDIA_URL), first in a period (every URL signed) and again (the process's memo).

Run: .venv/bin/python bench/cdn_signing.py [--photos 48] [--rounds 3]

A gallery page names three rendition URLs per photo (thumbnail, 2x thumbnail, and the display
rendition the viewer opens); they share the period's one policy, signed with a 2048-bit RSA key
(CloudFront's size) by the pure-Python ``rsa`` package through botocore's ``CloudFrontSigner``, as
the app does. Printed beside it: what one signature per URL (a canned policy) would cost.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rsa  # noqa: E402

from app.runtime.cdn_signing import CdnUrlSigner  # noqa: E402
from app.web.cdn import CDN_VARIANTS, MediaUrls  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    _, key = rsa.newkeys(2048)
    photos = [SimpleNamespace(blob_key="", key=f"album/{n}.jpg", version=f"{n:032x}") for n in range(args.photos)]
    cold, warm = [], []
    for _ in range(args.rounds):
        urls = MediaUrls("https://d111111abcdef8.cloudfront.net", CdnUrlSigner("K1", key, 60).sign)
        for times in (cold, warm):
            start = time.perf_counter()
            for photo in photos:
                for variant in CDN_VARIANTS:
                    urls.on_cdn(variant, photo)
            times.append(time.perf_counter() - start)
    count = args.photos * len(CDN_VARIANTS)
    first = statistics.median(cold)
    start = time.perf_counter()
    for _ in range(5):
        rsa.sign(b"a canned policy names one URL", key, "SHA-1")
    one = (time.perf_counter() - start) / 5
    print(
        f"{args.photos} photos, {count} URLs: first view in a period {first * 1000:.0f} ms, again "
        f"{statistics.median(warm) * 1000:.2f} ms (median of {args.rounds}); one signature "
        f"{one * 1000:.1f} ms, so a canned policy per URL would take {count * one * 1000:.0f} ms "
        f"({count * one / first:.0f}x)"
    )


if __name__ == "__main__":
    main()
