"""No secret, token, cookie or body reaches the logs, even with the root logger at DEBUG (Zappa's
default level): a whole request cycle on the cloud backends (the secret key read from SSM,
temporary credentials with a session token, a login, an upload with a bearer token, processing,
serving) leaves none of them in what the app, boto3 and urllib3 log."""

from __future__ import annotations

import io
import logging
import uuid

import boto3
import pytest
from conftest import CSRF_META, make_image

from app import SDK_LOGGERS, create_app
from app.runtime.secret_key import ssm_secret

pytest_plugins = ["cloud"]


@pytest.fixture
def secrets(aws, monkeypatch):
    values = {
        "secret_key": "sk-" + uuid.uuid4().hex + uuid.uuid4().hex,
        "session_token": "st-" + uuid.uuid4().hex,
        "access_secret": "as-" + uuid.uuid4().hex,
        "api_token": "tok-" + uuid.uuid4().hex,
        "password": "pw-" + uuid.uuid4().hex,
        "body": "body-" + uuid.uuid4().hex,
    }
    name = f"/gallery-test/{aws['bucket']}/secret-key"
    boto3.client("ssm").put_parameter(Name=name, Value=values["secret_key"], Type="SecureString")
    # Lambda's credentials are temporary ones: every signed request carries the session token.
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", values["access_secret"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", values["session_token"])
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "cloud-image-gallery-dev")
    ssm_secret.cache_clear()
    values["ssm_name"] = name
    yield values
    ssm_secret.cache_clear()


@pytest.fixture
def captured():
    """Everything logged anywhere, at DEBUG, as Zappa's default log level lets through."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    saved = root.level, {name: logging.getLogger(name).level for name in SDK_LOGGERS}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield stream
    root.removeHandler(handler)
    root.setLevel(saved[0])
    for name, level in saved[1].items():
        logging.getLogger(name).setLevel(level)


def request_cycle(aws, secrets) -> str:
    """Login, upload with a bearer token, process, serve; returns the session cookie's value."""
    app = create_app(
        {
            "GALLERY_STORAGE": "s3",
            "GALLERY_METADATA": "dynamodb",
            "GALLERY_S3_BUCKET": aws["bucket"],
            "GALLERY_DYNAMODB_TABLE": aws["table"],
            "GALLERY_RECOGNIZER": "rekognition",
            "GALLERY_CACHE": "none",  # as the dev stage runs (the in-process cache is refused on Lambda)
            "GALLERY_SECRET_KEY_SSM": secrets["ssm_name"],
            "SECRET_KEY": "",
            "GALLERY_ADMIN_PASSWORD": secrets["password"],
            "GALLERY_API_TOKENS": secrets["api_token"],
            "TESTING": True,
        }
    )
    assert app.test_cli_runner().invoke(args=["gallery", "init"]).exit_code == 0
    assert app.secret_key == secrets["secret_key"]
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = CSRF_META.search(page).group(1)
    login = client.post("/login", data={"password": secrets["password"], "csrf_token": csrf})
    assert login.status_code == 303
    cookie = client.get_cookie("session").value

    image = make_image("PNG", size=(80, 60), pnginfo=_text_chunk(secrets["body"]))
    assert secrets["body"].encode() in image
    bearer = {"Authorization": f"Bearer {secrets['api_token']}"}
    upload = client.post(
        "/api/images",
        data={"key": "logs/one.png", "file": (io.BytesIO(image), "one.png")},
        headers=bearer,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.get_json()
    csrf = CSRF_META.search(client.get("/process").get_data(as_text=True)).group(1)
    processed = client.post(
        "/api/process",
        data={"source_key": "logs/one.png", "ops": '[{"op": "rotate", "angle": 90}]', "format": "png"},
        headers={"X-CSRFToken": csrf},
    )
    assert processed.status_code == 200, processed.get_json()
    assert client.get("/images/logs/one.png").data == image
    assert client.post("/api/recognize", data={"source_key": "logs/one.png"}, headers=bearer).status_code == 200
    return cookie


def _text_chunk(text: str):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", text)
    return info


def leaked(log: str, secrets: dict, cookie: str) -> list[str]:
    watched = {name: secrets[name] for name in ("secret_key", "session_token", "access_secret", "api_token")}
    watched |= {"password": secrets["password"], "cookie": cookie, "body": secrets["body"]}
    return [name for name, value in watched.items() if value in log]


def test_a_request_cycle_logs_no_secret_token_cookie_or_body(aws, secrets, captured):
    cookie = request_cycle(aws, secrets)
    assert leaked(captured.getvalue(), secrets, cookie) == []


def test_the_check_would_see_a_leak(aws, secrets, captured):
    """The same cycle with botocore explicitly at DEBUG (what Zappa's default did to every logger):
    the session token and the body appear, so the check above looks at the right place."""
    logging.getLogger("botocore").setLevel(logging.DEBUG)
    cookie = request_cycle(aws, secrets)
    assert {"session_token", "secret_key"} <= set(leaked(captured.getvalue(), secrets, cookie))
