"""The app behind a path prefix, as API Gateway serves a Zappa stage (``/dev``), in a real headless
Chromium: upload → browse → process → recognize. Every URL the pages and scripts use must come
from the server (``url_for``): a request outside ``/dev`` gets API Gateway's 403 here, and the
test fails on any. The backends are S3 and DynamoDB on a moto server with the Lambda-sized limits
made tiny, so the direct upload to S3, the staged files of Processing and Recognition and the
redirect of large originals all run in the browser too."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest
from playwright import sync_api
from servers import in_a_thread
from test_browser import PHOTOS, drop_files
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.wrappers import Response

from app import create_app

pytestmark = pytest.mark.browser
pytest_plugins = ["cloud"]

DATA = Path(__file__).parent / "data"
STAGE = "/dev"


def outside_the_stage(environ, start_response):
    """What API Gateway answers for a path that is not under the stage."""
    return Response('{"message":"Missing Authentication Token"}', 403, mimetype="application/json")(
        environ, start_response
    )


@pytest.fixture(scope="module")
def server(moto_server, tmp_path_factory):
    suffix = uuid.uuid4().hex[:10]
    with pytest.MonkeyPatch.context() as patch:
        for name, value in moto_server.env().items():
            patch.setenv(name, value)
        for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
            patch.delenv(name, raising=False)
        app = create_app(
            {
                "GALLERY_STORAGE": "s3",
                "GALLERY_METADATA": "dynamodb",
                "GALLERY_S3_BUCKET": f"gallery-stage-{suffix}",
                "GALLERY_DYNAMODB_TABLE": f"gallery-stage-{suffix}",
                "GALLERY_DATA_DIR": str(tmp_path_factory.mktemp("stage-data")),
                # Every test photo (58-73 KB) counts as large: staged, and redirected to S3.
                "GALLERY_MAX_BODY_MB": "0.05",
                "GALLERY_REDIRECT_OVER_MB": "0.05",
                "SECRET_KEY": "stage-test",
            }
        )
        assert app.test_cli_runner().invoke(args=["gallery", "init"]).exit_code == 0
        seen: list[str] = []

        def recorded(environ, start_response):
            seen.append(environ.get("PATH_INFO", ""))
            return site(environ, start_response)

        site = DispatcherMiddleware(outside_the_stage, {STAGE: app.wsgi_app})
        with in_a_thread(recorded) as base:
            yield {"base": base, "paths": seen, "bucket": f"gallery-stage-{suffix}"}


def test_upload_browse_process_recognize_under_the_stage_prefix(server, browser):
    base, app_url = server["base"], server["base"] + STAGE
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors, outside = [], []
    page.on("console", lambda msg: msg.type == "error" and errors.append(f"{page.url}: {msg.text}"))
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on("request", lambda r: r.url.startswith(base) and not r.url.startswith(app_url) and outside.append(r.url))

    # Upload: straight to S3 through /dev/api/uploads, each with its progress bar.
    page.goto(app_url + "/upload")
    page.fill("#prefix", "trip/")
    drop_files(page, "#dropzone", PHOTOS)
    sync_api.expect(page.locator("#upload-progress .status.ok")).to_have_count(3, timeout=30_000)

    # Browse shows the display rendition; the original (over the redirect threshold) comes from S3
    # through a redirect.
    page.click('#upload-progress a[href="/dev/browse?key=trip%2Fdog.jpg"]')
    page.wait_for_selector("h2.key:has-text('trip/dog.jpg')")
    page.wait_for_function("() => document.querySelector('.detail-image img').complete")
    assert page.eval_on_selector(".detail-image img", "img => img.naturalWidth") == 640
    original = page.request.get(app_url + "/images/trip/dog.jpg", max_redirects=0)
    assert original.status == 302 and not original.headers["location"].startswith(base)

    # Process a file from disk: too large for one request here, so it is staged in S3 first.
    page.goto(app_url + "/process")
    page.set_input_files("#proc-file", str(DATA / "horses.jpg"))
    page.fill('[name="steps-0-width"]', "200")
    page.click('button[name="action"][value="preview"]:not(.default-action)')
    page.wait_for_selector("#proc-result-caption:has-text('200×')")
    page.click('button[name="action"][value="save"]')
    page.wait_for_selector("#proc-saved a")
    page.click("#proc-saved a")
    page.wait_for_url(f"{app_url}/browse?key=*")

    # Recognize a file from disk (staged) and a stored photo by key.
    page.goto(app_url + "/recognize")
    page.set_input_files("#recog-file", str(DATA / "dog.jpg"))
    page.click('form.recog-form button[type="submit"]')
    page.wait_for_selector(".recog-boxes .box", timeout=60_000)
    page.goto(app_url + "/recognize?source_key=trip/person.jpg")
    page.click('form.recog-form button[type="submit"]')
    page.wait_for_selector(".recog-labels", timeout=60_000)

    # And the gallery shows what was stored, thumbnails through the app.
    page.goto(app_url + "/gallery")
    keys = page.eval_on_selector_all(".tile-key", "links => links.map(a => a.textContent.trim())")
    assert {"trip/dog.jpg", "trip/horses.jpg", "trip/person.jpg", "horses-edit.jpg"} <= set(keys)
    context.close()

    assert outside == [] and not [p for p in server["paths"] if not p.startswith(STAGE + "/")]
    assert errors == []
    staged = boto3.client("s3").list_objects_v2(Bucket=server["bucket"], Prefix="uploads/").get("KeyCount", 0)
    assert staged >= 2  # the files staged for processing and recognition (the lifecycle rule expires them)
