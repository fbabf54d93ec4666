"""A CDN in front of media: with GALLERY_MEDIA_URL a gallery page view is one request to the app
(counted through the WSGI app); thumbnails, display renditions and static files come from the
CDN, under names that exist in the bucket once `gallery init --cdn` has run."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import quote, unquote, urlsplit

import boto3
import pytest
from conftest import make_image

from app import create_app

pytest_plugins = ["cloud"]

CDN = "https://d111111abcdef8.cloudfront.net"


def s3_app(aws, tmp_path, **extra):
    return create_app(
        {
            "GALLERY_DATA_DIR": str(tmp_path / "data"),
            "GALLERY_STORAGE": "s3",
            "GALLERY_S3_BUCKET": aws["bucket"],
            "GALLERY_S3_PREFIX": "g/",
            "GALLERY_METADATA": "dynamodb",
            "GALLERY_DYNAMODB_TABLE": aws["table"],
            "GALLERY_LABEL_ON_UPLOAD": False,
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            **extra,
        }
    )


class Counting:
    """WSGI middleware counting the requests that reach the app (on Lambda: invocations)."""

    def __init__(self, app):
        self.app, self.paths = app, []

    def __call__(self, environ, start_response):
        self.paths.append(environ["PATH_INFO"])
        return self.app(environ, start_response)


def page_resources(html: str) -> list[str]:
    """Everything a browser fetches for the page: src, srcset candidates, stylesheet and icon links."""
    found = re.findall(r'\bsrc="([^"]+)"', html)
    for srcset in re.findall(r'\bsrcset="([^"]+)"', html):
        found += [candidate.split()[0] for candidate in srcset.split(",")]
    found += re.findall(r'<link rel="(?:stylesheet|icon)" href="([^"]+)"', html)
    return found


def view(app, path: str) -> tuple[list[str], list[str]]:
    """A browser's view of ``path``: (requests that reached the app, resources on other origins)."""
    counter = Counting(app.wsgi_app)
    app.wsgi_app = counter
    client = app.test_client()
    page = client.get(path)
    assert page.status_code == 200
    elsewhere = []
    for url in page_resources(page.get_data(as_text=True)):
        if urlsplit(url).netloc:
            elsewhere.append(url)
        else:
            assert client.get(url).status_code in (200, 304), url
    return counter.paths, elsewhere


@pytest.fixture
def seeded(aws, tmp_path):
    plain = s3_app(aws, tmp_path)
    assert plain.test_cli_runner().invoke(args=["gallery", "init"]).exit_code == 0
    for n in range(6):
        plain.extensions["services"].library.upload(f"cdn/{n}.png", make_image(size=(400, 300), color=(n, 9, 9)))
    return plain


def test_without_a_cdn_every_thumbnail_is_an_app_request(seeded):
    requests, _ = view(seeded, "/gallery")
    media = [p for p in requests if p.startswith(("/thumbs", "/display"))]
    static = [p for p in requests if p.startswith("/static/")]
    print(f"\nwithout a CDN: {len(requests)} app requests: the page, {len(media)} media, {len(static)} static")
    assert len(media) >= 6


def test_a_gallery_page_view_under_the_cdn_is_one_app_request(aws, seeded, tmp_path):
    app = s3_app(aws, tmp_path, GALLERY_MEDIA_URL=CDN)
    init = app.test_cli_runner().invoke(args=["gallery", "init", "--cdn"])
    assert init.exit_code == 0, init.output
    assert "AWS::CloudFront::Distribution" in init.output and "OriginAccessControl" in init.output

    requests, elsewhere = view(app, "/gallery")
    assert requests == ["/gallery"]
    assert len([u for u in elsewhere if "/thumbs" in u]) >= 6 and any("/static/" in u for u in elsewhere)
    # Each CDN URL names an object in the bucket (CloudFront's origin path is the prefix).
    s3 = boto3.client("s3")
    for url in elsewhere:
        assert url.startswith(CDN + "/")
        s3.head_object(Bucket=aws["bucket"], Key="g/" + unquote(urlsplit(url).path.lstrip("/")))
    csp = app.test_client().get("/gallery").headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert all(CDN in directives[name] for name in ("img-src", "script-src", "style-src"))


def test_scrolling_the_gallery_and_paging_the_viewer_fetch_media_from_the_cdn(aws, seeded, tmp_path):
    """The next page timeline.js fetches as you scroll, the photos the viewer opens (each tile's
    data-photo) and the API pages the viewer fetches as it pages on: renditions on the CDN."""
    app = s3_app(aws, tmp_path, GALLERY_MEDIA_URL=CDN, GALLERY_PAGE_SIZE=3)
    client = app.test_client()
    first = client.get("/gallery").get_data(as_text=True)
    next_page = html.unescape(re.search(r'<a rel="next" href="([^"]+)"', first).group(1))

    requests, elsewhere = view(app, next_page)  # the scroll: one app request
    assert requests == [urlsplit(next_page).path] and len({u for u in elsewhere if "/thumbs/" in u}) == 3
    scrolled = client.get(next_page).get_data(as_text=True)
    photos = [json.loads(html.unescape(raw)) for raw in re.findall(r"data-photo='([^']+)'", scrolled)]
    assert len(photos) == 3
    for photo in photos:
        assert photo["thumb_url"].startswith(CDN + "/thumbs/") and photo["display_url"].startswith(CDN + "/display/")
        assert photo["large_url"].startswith("/large/")  # made by the app on the first zoom

    page = client.get("/api/images?limit=2").get_json()
    items = page["items"] + client.get(f"/api/images?limit=2&cursor={page['next_cursor']}").get_json()["items"]
    for item in items:
        version_path = f"{quote(item['key'])}/{item['version']}"
        assert item["thumb_url"] == f"{CDN}/thumbs/{version_path}"
        assert item["thumb2x_url"] == f"{CDN}/thumbs2x/{version_path}"
        assert item["display_url"] == f"{CDN}/display/{version_path}"
        assert item["url"].startswith("/images/")  # originals stay the app's (or a presigned redirect)
        assert client.get(item["large_url"]).status_code == 200


def test_the_cdn_needs_s3(tmp_path):
    with pytest.raises(SystemExit) as refused:
        create_app({"GALLERY_DATA_DIR": str(tmp_path), "GALLERY_MEDIA_URL": CDN, "SECRET_KEY": "s"})
    assert "GALLERY_STORAGE=s3" in str(refused.value)
