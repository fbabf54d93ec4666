"""CloudFront signed URLs for a private gallery's media behind the CDN: one custom policy per
period granting the whole distribution (``https://<cdn>/*``) until the period's end.

CloudFront checks the RSA-SHA1 signature of the policy with the public key of the distribution's
trusted key group (``Key-Pair-Id`` names it). botocore's ``CloudFrontSigner`` builds the policy
and the query; the pure-Python ``rsa`` package signs (no compiled ``cryptography`` wheel in the
Lambda package), which takes ~30 ms per 2048-bit signature. A canned policy (one per URL) would
cost that for each of a page's ~150 rendition URLs, seconds per page in every new period and
process; one wildcard policy costs it once. What the wildcard gives up: a leaked query opens any
rendition whose URL is known until it expires, not one object. Rendition names carry their
version's random id, so a URL is known only to someone who was shown it (as with CloudFront's
signed cookies, which use the same kind of policy).

Expiry is rounded up: every URL made during one period of ``GALLERY_CDN_URL_MINUTES`` expires at
the end of the period after it, so it works for at least one period and at most two, and the same
photo has the same URL on every page for a whole period (a browser revalidates its copy instead
of downloading it again). CloudFront's cache key leaves the query string out, so the CDN's own
copy is shared by every URL of an object whatever its signature.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import rsa
from botocore.signers import CloudFrontSigner


class CdnUrlSigner:
    def __init__(
        self, key_pair_id: str, private_key: rsa.PrivateKey, minutes: int, clock: Callable[[], float] = time.time
    ):
        self.period = minutes * 60
        self.clock = clock
        self._signer = CloudFrontSigner(key_pair_id, lambda message: rsa.sign(message, private_key, "SHA-1"))
        self._grant = functools.lru_cache(maxsize=8)(self._make_grant)

    def expires(self) -> int:
        """The end of the period after the current one (epoch seconds)."""
        return (int(self.clock()) // self.period + 2) * self.period

    def sign(self, url: str) -> str:
        """``url`` with ``Policy``, ``Signature`` and ``Key-Pair-Id`` (the period's grant)."""
        parts = urlsplit(url)
        grant = self._grant(f"{parts.scheme}://{parts.netloc}/*", self.expires())
        return f"{url}{'&' if parts.query else '?'}{grant}"

    def _make_grant(self, resource: str, expires: int) -> str:
        policy = self._signer.build_policy(resource, datetime.fromtimestamp(expires, UTC))
        return self._signer.generate_presigned_url(resource, policy=policy).split("?", 1)[1]
