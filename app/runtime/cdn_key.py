"""The private key that signs CloudFront URLs of a private gallery's media: from an SSM SecureString
(``GALLERY_CDN_PRIVATE_KEY_SSM``, like the secret key) or a PEM file (``GALLERY_CDN_PRIVATE_KEY_FILE``),
read once per process.

The key is an RSA key in PEM: PKCS#1 (``BEGIN RSA PRIVATE KEY``) or PKCS#8 (``BEGIN PRIVATE KEY``,
what ``openssl genrsa`` writes since OpenSSL 3). The pure-Python ``rsa`` package reads the first
only, so PKCS#8 is unwrapped here with ``pyasn1`` (which ``rsa`` itself depends on): no
``cryptography`` in the Lambda package.
"""

from __future__ import annotations

import base64
import functools
import re

import rsa

from ..config import Settings
from .secret_key import SecretUnavailable, ssm_parameter

RSA_ENCRYPTION = "1.2.840.113549.1.1.1"  # the PKCS#8 algorithm of an RSA key
PKCS8 = re.compile(r"-----BEGIN PRIVATE KEY-----(.*?)-----END PRIVATE KEY-----", re.S)
MAKE_KEY = "file://cdn-private.pem"  # what `gallery init --cdn` has the operator generate


class CdnKeyUnavailable(Exception):
    """The signing key could not be read or is not an RSA private key; the message says what to set."""


def private_key_from_pem(pem: str, source: str) -> rsa.PrivateKey:
    """The RSA key in ``pem`` (PKCS#1 or PKCS#8); ``CdnKeyUnavailable`` naming ``source`` otherwise."""
    try:
        wrapped = PKCS8.search(pem)
        if wrapped:
            return rsa.PrivateKey.load_pkcs1(_unwrap_pkcs8(base64.b64decode(wrapped.group(1))), "DER")
        return rsa.PrivateKey.load_pkcs1(pem.encode())
    except Exception as exc:  # rsa and pyasn1 raise a variety of errors for a malformed key
        raise CdnKeyUnavailable(
            f"{source} does not hold an RSA private key in PEM ({type(exc).__name__}): use the key made by "
            "`openssl genrsa -out cdn-private.pem 2048` (see `gallery init --cdn`)."
        ) from None


def _unwrap_pkcs8(der: bytes) -> bytes:
    """The PKCS#1 key inside a PKCS#8 PrivateKeyInfo (version, algorithm, key octets)."""
    from pyasn1.codec.der import decoder

    info, _ = decoder.decode(der)
    if str(info[1][0]) != RSA_ENCRYPTION:
        raise ValueError(f"not an RSA key (algorithm {info[1][0]})")
    return bytes(info[2])


@functools.cache
def _key_from_ssm(name: str, region: str) -> rsa.PrivateKey:
    try:
        pem = ssm_parameter(name, region, "GALLERY_CDN_PRIVATE_KEY_SSM", MAKE_KEY)
    except SecretUnavailable as exc:
        raise CdnKeyUnavailable(str(exc)) from None
    return private_key_from_pem(pem, f"GALLERY_CDN_PRIVATE_KEY_SSM={name}")


@functools.cache
def _key_from_file(path: str) -> rsa.PrivateKey:
    source = f"GALLERY_CDN_PRIVATE_KEY_FILE={path}"
    try:
        with open(path) as f:
            pem = f.read()
    except OSError as exc:
        raise CdnKeyUnavailable(f"{source} cannot be read ({exc.strerror or type(exc).__name__}).") from None
    return private_key_from_pem(pem, source)


def signing_key(settings: Settings) -> rsa.PrivateKey:
    """The private key the settings name (SSM first); ``CdnKeyUnavailable`` when none or unreadable."""
    if settings.cdn_private_key_ssm:
        return _key_from_ssm(settings.cdn_private_key_ssm, settings.aws_region)
    if settings.cdn_private_key_file:
        return _key_from_file(settings.cdn_private_key_file)
    raise CdnKeyUnavailable(
        "No CloudFront signing key: set GALLERY_CDN_PRIVATE_KEY_SSM or GALLERY_CDN_PRIVATE_KEY_FILE."
    )
