"""A private gallery behind the CDN: media URLs on pages and in the API are CloudFront signed URLs
(one custom policy per period over the distribution) that verify with the public key; start-up says what to set when the key is missing."""

from __future__ import annotations

import base64
import html
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import rsa
from conftest import make_image
from test_cdn import CDN, page_resources, s3_app
from test_security import PASSWORD, login

from app import create_app
from app.runtime import cdn_key
from app.runtime.cdn_key import CdnKeyUnavailable, private_key_from_pem
from app.runtime.cdn_signing import CdnUrlSigner

pytest_plugins = ["cloud"]

KEY_PAIR_ID = "K2JCJMDEHXQW5F"


@pytest.fixture(scope="module")
def keys():
    return rsa.newkeys(1024)  # CloudFront takes 2048-bit keys; 1024 is as good a test and faster


def cloudfront_b64decode(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def verified(url: str, public: rsa.PublicKey) -> int:
    """The URL's expiry, after checking its signature over the policy it carries, and that the
    policy grants this URL (the distribution's ``/*``) and nothing else."""
    parts = urlsplit(url)
    params = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert set(params) >= {"Policy", "Signature", "Key-Pair-Id"} and params["Key-Pair-Id"] == KEY_PAIR_ID
    policy = cloudfront_b64decode(params["Policy"])
    assert rsa.verify(policy, cloudfront_b64decode(params["Signature"]), public) == "SHA-1"
    (statement,) = json.loads(policy)["Statement"]
    assert statement["Resource"] == f"{parts.scheme}://{parts.netloc}/*"
    assert set(statement["Condition"]) == {"DateLessThan"}
    return statement["Condition"]["DateLessThan"]["AWS:EpochTime"]


def test_expiry_is_rounded_up_to_whole_periods(keys):
    now = [1_700_000_000.0]
    signer = CdnUrlSigner(KEY_PAIR_ID, keys[1], minutes=60, clock=lambda: now[0])
    first = signer.sign(f"{CDN}/thumbs/a.png/v1")
    expires = verified(first, keys[0])
    assert 3600 <= expires - now[0] <= 7200 and expires % 3600 == 0
    now[0] += 600  # later in the same period: the same URL (browser copies and the memo stay good)
    assert signer.sign(f"{CDN}/thumbs/a.png/v1") == first
    now[0] = expires - 3600  # the next period: a new expiry, again at least an hour away
    assert verified(signer.sign(f"{CDN}/thumbs/a.png/v1"), keys[0]) == expires + 3600


def test_a_tampered_policy_does_not_verify(keys):
    signed = CdnUrlSigner(KEY_PAIR_ID, keys[1], minutes=60).sign(f"{CDN}/display/a.png/v1")
    query = parse_qs(urlsplit(signed).query)
    policy = json.loads(cloudfront_b64decode(query["Policy"][0]))
    policy["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"] += 86400  # a day longer
    forged = base64.b64encode(json.dumps(policy, separators=(",", ":")).encode()).decode()
    forged = forged.replace("+", "-").replace("=", "_").replace("/", "~")
    with pytest.raises(rsa.VerificationError):
        verified(signed.replace(query["Policy"][0], forged), keys[0])


def test_one_signature_a_period_serves_every_url(keys, monkeypatch):
    signatures = []
    real_sign = rsa.sign
    monkeypatch.setattr(rsa, "sign", lambda *args: signatures.append(1) or real_sign(*args))
    signer = CdnUrlSigner(KEY_PAIR_ID, keys[1], minutes=60)
    urls = [signer.sign(f"{CDN}/{variant}/p{n}.jpg/v{n}") for n in range(48) for variant in ("thumbs", "display")]
    assert len(signatures) == 1 and len(set(urls)) == 96
    for url in urls[:3]:
        verified(url, keys[0])


def test_pkcs8_keys_load_like_pkcs1(keys):
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    pkcs1 = keys[1].save_pkcs1()
    loaded = serialization.load_pem_private_key(pkcs1, password=None)
    pkcs8 = loaded.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    assert "BEGIN PRIVATE KEY" in pkcs8
    assert private_key_from_pem(pkcs8, "test") == keys[1] == private_key_from_pem(pkcs1.decode(), "test")
    with pytest.raises(CdnKeyUnavailable, match="does not hold an RSA private key"):
        private_key_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "test")


def private(aws, tmp_path, **extra):
    app = s3_app(
        aws,
        tmp_path,
        GALLERY_MEDIA_URL=CDN,
        GALLERY_PUBLIC_READ="0",
        GALLERY_ADMIN_PASSWORD=PASSWORD,
        GALLERY_PAGE_SIZE=3,
        **extra,
    )
    assert app.test_cli_runner().invoke(args=["gallery", "init"]).exit_code == 0
    return app


def test_a_private_gallerys_pages_and_api_carry_signed_cdn_urls(aws, tmp_path, keys):
    key_file = tmp_path / "cdn-private.pem"
    key_file.write_bytes(keys[1].save_pkcs1())
    app = private(aws, tmp_path, GALLERY_CDN_KEY_PAIR_ID=KEY_PAIR_ID, GALLERY_CDN_PRIVATE_KEY_FILE=str(key_file))
    for n in range(4):
        app.extensions["services"].library.upload(f"private/{n}.png", make_image(size=(900, 600), color=(n, 1, 1)))
    client = app.test_client()
    assert client.get("/api/images").status_code in (401, 302)  # reads need a login
    login(client)

    page = client.get("/gallery").get_data(as_text=True)
    media = {html.unescape(u) for u in page_resources(page) if u.startswith(CDN) and "/static/" not in u}
    for raw in re.findall(r"data-photo='([^']+)'", page):  # what the viewer opens
        photo = json.loads(html.unescape(raw))
        media |= {photo["thumb_url"], photo["display_url"]}
    assert len(media) >= 3 * 3  # three photos: thumbnail, 2x thumbnail, display rendition
    for url in media:
        verified(url, keys[0])
    statics = [u for u in page_resources(page) if "/static/" in u]
    assert statics and all(urlsplit(u).query == "" for u in statics)  # not secret: unsigned

    items = client.get("/api/images?limit=4").get_json()["items"]
    for item in items:
        for name in ("thumb_url", "thumb2x_url", "display_url"):
            assert item[name].startswith(f"{CDN}/") and verified(item[name], keys[0])


def test_a_private_cdn_gallery_without_a_key_is_refused_saying_what_to_set(aws, tmp_path):
    with pytest.raises(SystemExit) as refused:
        private(aws, tmp_path)
    message = str(refused.value)
    assert "GALLERY_CDN_KEY_PAIR_ID" in message and "GALLERY_CDN_PRIVATE_KEY_SSM" in message
    with pytest.raises(SystemExit) as refused:
        private(aws, tmp_path, GALLERY_CDN_KEY_PAIR_ID=KEY_PAIR_ID, GALLERY_CDN_PRIVATE_KEY_FILE=str(tmp_path / "none"))
    assert "GALLERY_CDN_PRIVATE_KEY_FILE" in str(refused.value) and "cannot be read" in str(refused.value)


def test_the_signing_key_comes_from_ssm(aws, tmp_path, keys):
    import boto3

    cdn_key._key_from_ssm.cache_clear()  # read once per process: another test's server may have answered
    boto3.client("ssm").put_parameter(
        Name="/gallery/cdn-private-key", Type="SecureString", Value=keys[1].save_pkcs1().decode()
    )
    app = private(
        aws, tmp_path, GALLERY_CDN_KEY_PAIR_ID=KEY_PAIR_ID, GALLERY_CDN_PRIVATE_KEY_SSM="/gallery/cdn-private-key"
    )
    record = app.extensions["services"].library.upload("ssm.png", make_image(size=(64, 48)))[0]
    with app.test_request_context():
        from app.web.cdn import media_url

        verified(media_url("media.thumbnail", record), keys[0])
    with pytest.raises(SystemExit) as refused:
        private(aws, tmp_path, GALLERY_CDN_KEY_PAIR_ID=KEY_PAIR_ID, GALLERY_CDN_PRIVATE_KEY_SSM="/gallery/missing")
    assert "aws ssm put-parameter" in str(refused.value)


def test_public_galleries_need_no_key(tmp_path):
    app = create_app({"GALLERY_DATA_DIR": str(tmp_path), "SECRET_KEY": "s"})
    assert app.extensions["media_urls"].sign is None


def test_init_cdn_for_a_private_gallery_prints_the_key_group_steps(aws, tmp_path):
    app = s3_app(aws, tmp_path, GALLERY_PUBLIC_READ="0", GALLERY_ADMIN_PASSWORD=PASSWORD)  # no CDN yet
    output = app.test_cli_runner().invoke(args=["gallery", "init", "--cdn"]).output
    template, _ = json.JSONDecoder().raw_decode(output, output.index("{", output.index("gallery-cdn.json:")))
    resources = template["Resources"]
    assert resources["SigningKey"]["Type"] == "AWS::CloudFront::PublicKey"
    assert resources["SigningKeys"]["Properties"]["KeyGroupConfig"]["Items"] == [{"Ref": "SigningKey"}]
    config = resources["Media"]["Properties"]["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["TrustedKeyGroups"] == [{"Ref": "SigningKeys"}]
    (static,) = config["CacheBehaviors"]
    assert static["PathPattern"] == "static/*" and "TrustedKeyGroups" not in static  # not secret
    assert template["Outputs"]["KeyPairId"] == {"Value": {"Ref": "SigningKey"}}
    for step in ("openssl genrsa", "PublicKeyPem=", "GALLERY_CDN_KEY_PAIR_ID=", "GALLERY_CDN_PRIVATE_KEY_SSM="):
        assert step in output, step
