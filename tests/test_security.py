"""Security: response headers, cookies, the auth matrix, rate limits, escaping, content types."""

from __future__ import annotations

import base64
import io
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import CSRF_META, make_app, make_image
from markupsafe import escape
from PIL import Image
from werkzeug.security import generate_password_hash

from app.web.common import CONTENT_SECURITY_POLICY

TOKEN = "t0ken-for-tests-0123456789"
PASSWORD = "correct horse battery staple"
PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def build(tmp_path, **settings):
    return make_app(tmp_path, **settings)


def token_of(client, path="/login") -> str:
    return CSRF_META.search(client.get(path).get_data(as_text=True)).group(1)


def upload(client, key, data=None, headers=None, filename="image.png"):
    return client.post(
        "/api/images",
        data={"key": key, "file": (io.BytesIO(data or make_image()), filename)},
        headers=headers or {},
        content_type="multipart/form-data",
    )


def login(client, password=PASSWORD, **kwargs):
    return client.post("/login", data={"password": password, "csrf_token": token_of(client), **kwargs})


# The gallery allows its one machine-made <style> block (tile shapes and colours) by its hash.
STYLE_HASH = re.compile(r" 'sha256-[A-Za-z0-9+/]+=*'(?=;)")


def assert_security_headers(response):
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    if response.request.path == "/gallery":
        policy = STYLE_HASH.sub("", policy, count=1)
    assert policy == CONTENT_SECURITY_POLICY, response.request.path
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


# -- headers -------------------------------------------------------------------------------
def test_csp_allows_no_inline_script_or_framing():
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


def test_templates_have_no_inline_script_or_style():
    """The CSP would block them; keep them out of the templates in the first place."""
    from pathlib import Path

    for template in (Path(__file__).resolve().parents[1] / "templates").glob("*.html"):
        text = template.read_text()
        # Only script files run; a JSON data block (type="application/json", filled by |tojson) is inert.
        assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))[^>]*>", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        # but the gallery's tile shapes and colours: made by app/web/tiles.py, allowed by its hash
        assert text.count("<style") == text.count("<style>{{ styles.css }}</style>") <= 1, template.name


def test_headers_on_every_kind_of_response(tmp_path):
    app = build(
        tmp_path, GALLERY_ADMIN_PASSWORD=PASSWORD, GALLERY_API_TOKENS=TOKEN, GALLERY_RATE_LIMIT_LOGIN="1/minute"
    )
    client = app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert upload(client, "a/photo.png", headers=auth).status_code == 201
    etag = client.get("/images/a/photo.png").headers["ETag"]
    responses = {
        "page": client.get("/"),
        "gallery": client.get("/gallery"),
        "json": client.get("/api/images"),
        "openapi": client.get("/api/openapi.json"),
        "image (fast path)": client.get("/images/a/photo.png"),
        "thumbnail (fast path)": client.get("/thumbs/a/photo.png"),
        "image (Flask, HEAD)": client.head("/images/a/photo.png"),
        "download": client.get("/images/a/photo.png?download=1"),
        "304 (fast path)": client.get("/images/a/photo.png", headers={"If-None-Match": etag}),
        "304 (Flask)": client.get("/images/a/photo.png?download=1", headers={"If-None-Match": etag}),
        "404 image": client.get("/images/missing.png"),
        "404 page": client.get("/browse?key=missing"),
        "404 route": client.get("/no/such/page"),
        "404 JSON": client.get("/api/images/missing"),
        "400 JSON": client.get("/api/images?limit=0"),
        "405": client.put("/api/images", headers=auth),
        "static": client.get("/static/app.css"),
        "401": upload(client, "b.png"),
        "login": client.get("/login"),
    }
    login(client)
    responses["400 CSRF"] = client.post("/cache", data={"action": "clear"})
    responses["redirect"] = client.post("/logout", data={"csrf_token": token_of(client)})
    login(client, "wrong")
    responses["429"] = login(client, "wrong")
    expected = {"304 (fast path)": 304, "304 (Flask)": 304, "401": 401, "405": 405, "redirect": 303, "429": 429}
    for name, response in responses.items():
        status = expected.get(name, 404 if name.startswith("404") else 400 if name.startswith("400") else 200)
        assert response.status_code == status, name
        assert_security_headers(response)


def test_session_cookie_flags(tmp_path):
    client = build(tmp_path).test_client()
    cookie = client.get("/upload").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP on a laptop: a Secure cookie would never come back
    https = client.get("/upload", base_url="https://gallery.example").headers["Set-Cookie"]
    assert "Secure" in https and "HttpOnly" in https


def test_secure_cookies_forced_and_behind_a_proxy(tmp_path):
    forced = build(tmp_path, GALLERY_SECURE_COOKIES=True).test_client()
    assert "Secure" in forced.get("/upload").headers["Set-Cookie"]
    proxied = build(tmp_path, GALLERY_PROXY_COUNT=1, GALLERY_API_TOKENS="t").test_client()  # writes need a credential
    cookie = proxied.get("/upload", headers={"X-Forwarded-Proto": "https"}).headers["Set-Cookie"]
    assert "Secure" in cookie
    # Without a trusted proxy the header is ignored (anyone could send it).
    direct = build(tmp_path).test_client()
    assert "Secure" not in direct.get("/upload", headers={"X-Forwarded-Proto": "https"}).headers["Set-Cookie"]


# -- the auth matrix -----------------------------------------------------------------------
READS = [
    ("page", "/gallery"),
    ("page", "/browse?key=seed.png"),
    ("page", "/cache"),
    ("json", "/api/images"),
    ("json", "/api/images/seed.png"),
    ("json", "/api/openapi.json"),
    ("media", "/images/seed.png"),
    ("media", "/thumbs/seed.png"),
]


def write_requests(client, identity):
    """Every kind of write; a session sends its CSRF token, a bearer client none."""
    headers = {"Authorization": f"Bearer {TOKEN}"} if identity == "bearer" else {}
    if identity == "session":
        headers["X-CSRFToken"] = token_of(client, "/")
    form_token = {"csrf_token": headers.get("X-CSRFToken", "")}
    yield "api upload", upload(client, "new.png", headers=headers), (201,)
    yield "api delete", client.delete("/api/images/seed.png", headers=headers), (204,)
    upload(client, "seed.png", headers={"Authorization": f"Bearer {TOKEN}"})
    yield "page delete", client.post("/delete/seed.png", data=form_token, headers=headers), (303,)
    yield "cache clear (page)", client.post("/cache", data={"action": "clear", **form_token}, headers=headers), (303,)
    yield "cache clear (api)", client.post("/api/cache/clear", headers=headers), (200,)
    files = {"file": (io.BytesIO(make_image()), "form.png"), **form_token}
    yield "page upload", client.post("/upload", data=files, headers=headers), (200,)


@pytest.mark.parametrize("public_read", [True, False])
@pytest.mark.parametrize("identity", ["anonymous", "session", "bearer"])
def test_auth_matrix(tmp_path, public_read, identity):
    app = build(tmp_path, GALLERY_ADMIN_PASSWORD=PASSWORD, GALLERY_API_TOKENS=TOKEN, GALLERY_PUBLIC_READ=public_read)
    client = app.test_client()
    assert upload(client, "seed.png", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 201
    if identity == "session":
        assert login(client).status_code == 303
    headers = {"Authorization": f"Bearer {TOKEN}"} if identity == "bearer" else {}
    gallery = app.extensions["services"]

    for kind, path in READS:
        response = client.get(path, headers=headers)
        if public_read or identity != "anonymous":
            assert response.status_code == 200, (path, response.status_code)
        elif kind == "page" or kind == "media":
            assert response.status_code == 302, path
            assert response.headers["Location"].startswith("/login?next=")
        else:
            assert response.status_code == 401, path
            assert response.json["error"]["code"] == "unauthorized"
            assert "Bearer" in response.json["error"]["message"]

    for name, response, allowed in write_requests(client, identity):
        if identity == "anonymous":
            assert response.status_code == 401, name
            assert "log in" in response.get_data(as_text=True), name
        else:
            assert response.status_code in allowed, (name, response.status_code, response.get_data(as_text=True)[:300])
    keys = sorted(record.key for record in gallery.catalog.list()[0])
    assert keys == (["seed.png"] if identity == "anonymous" else ["form.png", "new.png"])

    for open_path in ("/login", "/static/app.css", "/healthz"):
        assert client.get(open_path).status_code == 200, open_path


def test_session_writes_still_need_the_csrf_token(tmp_path):
    client = build(tmp_path, GALLERY_ADMIN_PASSWORD=PASSWORD).test_client()
    login(client)
    response = upload(client, "x.png")
    assert response.status_code == 400 and response.json["error"]["code"] == "csrf_failed"


def test_wrong_or_unconfigured_bearer_tokens(tmp_path):
    protected = build(tmp_path, GALLERY_API_TOKENS=TOKEN).test_client()
    bad = upload(protected, "x.png", headers={"Authorization": "Bearer not-the-token"})
    assert bad.status_code == 401 and bad.json["error"]["message"] == "The API token is not valid."
    assert bad.headers["WWW-Authenticate"].startswith("Bearer")
    assert protected.get("/api/images", headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 401
    assert protected.get("/api/images", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 200
    # With no protection configured a bearer header grants nothing, not even a CSRF exemption.
    open_app = build(tmp_path / "open").test_client()
    response = upload(open_app, "x.png", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400 and response.json["error"]["code"] == "csrf_failed"


@pytest.mark.parametrize(
    "cursor",
    [
        "[" * 2000,  # was a 500 (RecursionError) when cursors were plain JSON
        "[" * 2000 + ".sig",
        base64.urlsafe_b64encode(b"[" * 2000).decode() + ".c2ln",
        "x" * 5000,
    ],
)
def test_made_up_cursors_are_a_clean_400(client, cursor):
    for path in ("/api/images", "/api/trash"):
        response = client.get(path, query_string={"cursor": cursor})
        assert response.status_code == 400, path
        assert response.json["error"]["message"].startswith("The cursor is not valid")
    assert client.get("/gallery", query_string={"cursor": cursor}).status_code == 400


def test_a_wrong_bearer_token_is_refused_on_images_too(tmp_path):
    app = build(tmp_path, GALLERY_API_TOKENS=TOKEN)
    client = app.test_client()
    assert upload(client, "x.png", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 201
    for path in ("/gallery", "/images/x.png", "/thumbs/x.png", "/api/images/x.png"):
        for _ in range(2):  # a miss, then what the fast path would answer from the cache
            wrong = client.get(path, headers={"Authorization": "Bearer wrong"})
            assert wrong.status_code == 401, path
            assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
            assert client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200, path
            assert client.get(path).status_code == 200, path  # public reads need nothing


def test_login_with_password_hash_and_logout(tmp_path):
    client = build(tmp_path, GALLERY_ADMIN_PASSWORD_HASH=generate_password_hash(PASSWORD)).test_client()
    assert "Log in" in client.get("/").get_data(as_text=True)
    wrong = login(client, "nope")
    assert wrong.status_code == 401 and "Wrong password." in wrong.get_data(as_text=True)
    assert login(client, next="/gallery").headers["Location"] == "/gallery"
    page = client.get("/upload").get_data(as_text=True)
    assert "Log out" in page
    token = CSRF_META.search(page).group(1)
    assert upload(client, "ok.png", headers={"X-CSRFToken": token}).status_code == 201
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert upload(client, "again.png", headers={"X-CSRFToken": token}).status_code == 401


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "",
        "/gallery\r\nSet-Cookie: session=forged",  # a header split was a 500
        "/gallery\nx",
        "/\x7f",
    ],
)
def test_login_never_redirects_off_site(tmp_path, target):
    client = build(tmp_path, GALLERY_ADMIN_PASSWORD=PASSWORD).test_client()
    assert login(client, next=target).headers["Location"] == "/"


def test_private_reads_need_a_credential(tmp_path):
    with pytest.raises(SystemExit, match="GALLERY_PUBLIC_READ=0 needs"):
        build(tmp_path, GALLERY_PUBLIC_READ=False)


def test_without_a_password_nothing_changes(tmp_path):
    client = build(tmp_path).test_client()
    assert "Log in" not in client.get("/").get_data(as_text=True)
    token = token_of(client, "/upload")
    assert upload(client, "free.png", headers={"X-CSRFToken": token}).status_code == 201


# -- rate limits ---------------------------------------------------------------------------
def test_recognition_is_rate_limited_per_client(tmp_path):
    client = build(tmp_path, GALLERY_RATE_LIMIT_RECOGNIZE="3/minute").test_client()
    token = token_of(client, "/recognize")
    # Requests without an image are refused quickly (400) but still count: the limit guards the
    # server's work per client, whatever the answer.
    statuses = [client.post("/api/recognize", headers={"X-CSRFToken": token}).status_code for _ in range(2)]
    statuses.append(client.post("/recognize", data={"csrf_token": token}).status_code)  # the page shares the budget
    assert statuses == [400, 400, 400]
    limited = client.post("/api/recognize", headers={"X-CSRFToken": token})
    assert limited.status_code == 429
    assert limited.json["error"]["code"] == "rate_limited"
    assert limited.json["error"]["message"].startswith(
        "Too many recognition runs from your address: the limit is 3 per 1 minute."
    )
    assert int(limited.headers["Retry-After"]) > 0
    page = client.post("/recognize", data={"csrf_token": token})
    assert page.status_code == 429 and "Too many recognition runs" in page.get_data(as_text=True)
    # Another client has its own budget; reading the page is never limited.
    other = client.post("/api/recognize", headers={"X-CSRFToken": token}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 400
    assert client.get("/recognize").status_code == 200


def process(client, token, width, **extra):
    """One /api/process run of the stored seed.png (a new width is a new result: a real run)."""
    ops = f'[{{"op": "resize", "width": {width}}}]'
    return client.post(
        "/api/process", data={"source_key": "seed.png", "ops": ops, **extra}, headers={"X-CSRFToken": token}
    )


def seeded(tmp_path, **settings):
    app = build(tmp_path, **settings)
    client = app.test_client()
    token = token_of(client, "/process")
    assert upload(client, "seed.png", headers={"X-CSRFToken": token}).status_code == 201
    return app, client, token


def test_processing_counts_real_runs_only(tmp_path):
    app, client, token = seeded(tmp_path, GALLERY_RATE_LIMIT_PROCESS="2/minute")
    # Refused before any work (400) and answered from the cache: free.
    assert [client.post("/api/process", headers={"X-CSRFToken": token}).status_code for _ in range(3)] == [400] * 3
    first = [process(client, token, 30), process(client, token, 30), process(client, token, 30)]
    assert [(r.status_code, r.headers["X-Cache"]) for r in first] == [(200, "miss"), (200, "hit"), (200, "hit")]
    assert process(client, token, 31).status_code == 200  # the second real run
    limited = process(client, token, 32)
    assert limited.status_code == 429 and limited.json["error"]["code"] == "rate_limited"
    assert limited.json["error"]["message"].startswith(
        "Too many processing runs from your address: the limit is 2 per 1 minute."
    )
    assert int(limited.headers["Retry-After"]) > 0
    # Spent: no new run, no save (storing decodes the result again), but cached results still come.
    assert process(client, token, 30, save_as="copy.png").status_code == 429
    assert process(client, token, 31).headers["X-Cache"] == "hit"
    # The page shares the budget; another client has its own.
    page = client.post(
        "/process",
        data={"csrf_token": token, "source_key": "seed.png", "steps-0-op": "resize", "steps-0-width": "33"},
    )
    assert page.status_code == 429 and "Too many processing runs" in page.get_data(as_text=True)
    elsewhere = client.post(
        "/api/process",
        data={"source_key": "seed.png", "ops": '[{"op": "resize", "width": 34}]'},
        headers={"X-CSRFToken": token},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert elsewhere.status_code == 200


def test_concurrent_runs_cannot_overdraw_the_budget(tmp_path):
    app, client, token = seeded(tmp_path, GALLERY_RATE_LIMIT_PROCESS="3/minute", WTF_CSRF_ENABLED=False)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda width: process(app.test_client(), "", width).status_code, range(40, 48)))
    assert sorted(statuses) == [200] * 3 + [429] * 5


def test_only_the_no_javascript_step_edit_is_free(tmp_path):
    app, client, token = seeded(
        tmp_path, GALLERY_RATE_LIMIT_PROCESS="2/minute", GALLERY_RATE_LIMIT_RECOGNIZE="1/minute"
    )
    form = {"csrf_token": token, "steps-0-op": "resize", "steps-0-width": "100", "new_op": "blur", "edit": "add"}
    assert [client.post("/process", data=form).status_code for _ in range(4)] == [200] * 4
    # An "edit" field buys nothing on the routes that work.
    assert [process(client, token, w, edit="1").status_code for w in (50, 51, 52)] == [200, 200, 429]
    recognize = [
        client.post("/api/recognize", data={"edit": "1"}, headers={"X-CSRFToken": token}).status_code for _ in range(2)
    ]
    assert recognize == [400, 429]


def test_each_app_reads_its_own_limits_and_off_disables_one(tmp_path):
    runs = {}
    for name, limit in (("limited", "2/minute"), ("unlimited", "off")):
        app, client, token = seeded(tmp_path / name, GALLERY_RATE_LIMIT_PROCESS=limit)
        runs[name] = [process(client, token, width).status_code for width in (20, 21, 22, 23)]
    assert runs == {"limited": [200, 200, 429, 429], "unlimited": [200] * 4}


def test_uploads_have_a_budget_counted_in_files(tmp_path):
    client = build(tmp_path, GALLERY_RATE_LIMIT_UPLOAD="4/minute").test_client()
    token = token_of(client, "/upload")
    headers = {"X-CSRFToken": token}
    assert [upload(client, f"a{i}.png", headers=headers).status_code for i in range(2)] == [201, 201]
    files = [(io.BytesIO(make_image()), "b1.png"), (io.BytesIO(make_image()), "b2.png")]
    assert client.post("/upload", data={"csrf_token": token, "file": files}).status_code == 200  # 2 files: 4
    limited = upload(client, "c.png", headers=headers)
    assert limited.status_code == 429
    assert limited.json["error"]["message"].startswith("Too many uploaded files from your address")
    assert int(limited.headers["Retry-After"]) > 0
    page = client.post("/upload", data={"csrf_token": token, "file": (io.BytesIO(make_image()), "d.png")})
    assert page.status_code == 429
    # Reading is never limited, nor is another client.
    assert client.get("/api/images").status_code == 200
    other = client.post(
        "/api/images",
        data={"key": "f.png", "file": (io.BytesIO(make_image()), "f.png")},
        headers=headers,
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert other.status_code == 201


def test_login_is_rate_limited(tmp_path):
    client = build(tmp_path, GALLERY_ADMIN_PASSWORD=PASSWORD, GALLERY_RATE_LIMIT_LOGIN="2/minute").test_client()
    assert [login(client, "guess").status_code for _ in range(2)] == [401, 401]
    limited = login(client, PASSWORD)  # even the right password waits: guessing must not pay off
    assert limited.status_code == 429 and "Too many login attempts" in limited.get_data(as_text=True)
    assert client.get("/login").status_code == 200


# -- escaping ------------------------------------------------------------------------------
def assert_escaped(body: str, text: str = PAYLOAD):
    assert text not in body
    assert str(escape(text)) in body, "the text should be shown, escaped"


def test_user_text_is_escaped_everywhere(tmp_path, api):
    client, gallery = api.client, api.client.application.extensions["services"]
    assert api.upload("safe/key.png", make_image()).status_code == 201
    gallery.metadata.set_labels("safe/key.png", [PAYLOAD])
    assert_escaped(client.get("/browse?key=safe/key.png").get_data(as_text=True))
    assert_escaped(client.get("/gallery").get_data(as_text=True))  # label list
    assert_escaped(client.get("/gallery", query_string={"label": PAYLOAD}).get_data(as_text=True))
    assert_escaped(client.get("/gallery", query_string={"deleted": PAYLOAD}).get_data(as_text=True))
    missing = client.get("/browse", query_string={"key": PAYLOAD})
    assert missing.status_code == 200 and 'id="browse-matches"' in missing.get_data(as_text=True)  # by its label
    assert_escaped(missing.get_data(as_text=True))
    bad_prefix = client.get("/gallery", query_string={"prefix": PAYLOAD})
    assert bad_prefix.status_code == 400 and PAYLOAD not in bad_prefix.get_data(as_text=True)
    assert_escaped(client.get("/recognize", query_string={"source_key": PAYLOAD}).get_data(as_text=True))
    recognize = client.post("/recognize", data={"source_key": PAYLOAD, "csrf_token": api.token})
    assert recognize.status_code == 400
    assert_escaped(recognize.get_data(as_text=True))
    delete = client.get("/delete/" + PAYLOAD)
    assert delete.status_code in (400, 404) and PAYLOAD not in delete.get_data(as_text=True)


def test_file_names_and_exif_are_escaped(client, api):
    image = Image.new("RGB", (40, 30), (10, 200, 30))
    exif = Image.Exif()
    exif[0x010E] = PAYLOAD  # ImageDescription
    exif[0x010F] = PAYLOAD  # Make
    exif[0x0110] = PAYLOAD  # Model
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    files = [
        (io.BytesIO(out.getvalue()), f"{PAYLOAD}.jpg"),
        (io.BytesIO(b"<svg onload=alert(1)>"), f"{PAYLOAD}.png"),
    ]
    response = client.post("/upload", data={"file": files, "csrf_token": api.token}, content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Some uploads failed" in body
    assert PAYLOAD not in body and "<svg" not in body
    keys = [record.key for record in client.application.extensions["services"].catalog.list()[0]]
    assert len(keys) == 1 and re.fullmatch(r"[A-Za-z0-9._-]+", keys[0])
    for path in ("/gallery", f"/browse?key={keys[0]}", f"/api/images/{keys[0]}", "/process", "/recognize"):
        assert PAYLOAD not in client.get(path).get_data(as_text=True), path


# -- content types -------------------------------------------------------------------------
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'


def test_svg_uploads_are_refused(client, api):
    response = api.upload("vector.svg", SVG, filename="vector.svg")
    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_media_type"
    assert "JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC or AVIF" in response.json["error"]["message"]
    form = client.post(
        "/upload",
        data={"file": (io.BytesIO(SVG), "vector.svg"), "csrf_token": api.token},
        content_type="multipart/form-data",
    )
    assert form.status_code == 415 and "not a supported image" in form.get_data(as_text=True)
    assert client.get("/api/images").json["items"] == []


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp"), ("BMP", "image/bmp")],
)
def test_served_images_carry_their_stored_content_type(client, api, fmt, content_type):
    # The key's extension lies on purpose: the type comes from the bytes, never the name.
    key = "misleading.svg.html"
    assert api.upload(key, make_image(fmt), filename="x.html").json["content_type"] == content_type
    for response in (
        client.get(f"/images/{key}"),
        client.head(f"/images/{key}"),
        client.get(f"/images/{key}?download=1"),
    ):
        assert response.headers["Content-Type"] == content_type
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    download = client.get(f"/images/{key}?download=1")
    assert download.headers["Content-Disposition"] == 'attachment; filename="misleading.svg.html"'
    assert client.get(f"/thumbs/{key}").headers["Content-Type"] == "image/webp"


def test_csrf_can_be_switched_off_for_benchmarks_as_flask_wtf_documents(tmp_path):
    client = build(tmp_path, WTF_CSRF_ENABLED=False).test_client()
    response = client.post("/api/images", data={"key": "k.png", "file": (io.BytesIO(make_image()), "k.png")})
    assert response.status_code == 201


def test_upload_page_says_a_login_is_needed_before_the_user_tries(tmp_path):
    client = build(tmp_path, GALLERY_ADMIN_PASSWORD=PASSWORD).test_client()
    assert "Uploading needs a login" in client.get("/upload").get_data(as_text=True)
    open_client = build(tmp_path / "open").test_client()
    assert "Uploading needs a login" not in open_client.get("/upload").get_data(as_text=True)
