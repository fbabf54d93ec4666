"""CloudFront signed URLs (canned policy) for a private gallery's media behind the CDN.

A canned policy names one URL and an expiry; CloudFront checks the RSA-SHA1 signature with the
public key of the distribution's trusted key group (``Key-Pair-Id`` names it). botocore's
``CloudFrontSigner`` builds the policy and the URL; the pure-Python ``rsa`` package signs.

Expiry is rounded up: every URL made during one period of ``GALLERY_CDN_URL_MINUTES`` expires at
the end of the period after it, so it works for at least one period and at most two. The same
photo then has the same URL on every page for a whole period: a browser revalidates its copy
(a 304 from the CDN's edge) instead of downloading it again, and a signature is made once per
period and process (``rsa`` takes tens of milliseconds per signature, and a gallery page shows
about three URLs per photo). CloudFront's cache key leaves the query string out, so the CDN's
own copy is shared by every URL of an object whatever its signature.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime

import rsa
from botocore.signers import CloudFrontSigner

SIGNATURES_KEPT = 4096  # signed URLs remembered per process: a few pages' worth of photos, ~2 MB


class CdnUrlSigner:
    def __init__(
        self, key_pair_id: str, private_key: rsa.PrivateKey, minutes: int, clock: Callable[[], float] = time.time
    ):
        self.period = minutes * 60
        self.clock = clock
        self._signer = CloudFrontSigner(key_pair_id, lambda message: rsa.sign(message, private_key, "SHA-1"))
        self._signed = functools.lru_cache(maxsize=SIGNATURES_KEPT)(self._sign)

    def expires(self) -> int:
        """The end of the period after the current one (epoch seconds)."""
        return (int(self.clock()) // self.period + 2) * self.period

    def sign(self, url: str) -> str:
        """``url`` with ``Expires``, ``Signature`` and ``Key-Pair-Id``."""
        return self._signed(url, self.expires())

    def _sign(self, url: str, expires: int) -> str:
        return self._signer.generate_presigned_url(url, date_less_than=datetime.fromtimestamp(expires, UTC))
