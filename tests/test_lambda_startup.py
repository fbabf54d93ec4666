"""On AWS Lambda the app refuses to start without a stable secret key (SECRET_KEY or an SSM
SecureString named by GALLERY_SECRET_KEY_SSM) and says how to fix it; every container then signs
with the same key, so a form rendered by one container is accepted by another."""

from __future__ import annotations

import io

import boto3
import pytest
from conftest import CSRF_META, make_app, make_image

from app.config import load_settings
from app.runtime import startup
from app.runtime.secret_key import ssm_secret

pytest_plugins = ["cloud"]

KEY = "0123456789abcdef" * 4
# What the other start-up checks want on Lambda, so these tests see only the secret key's.
LAMBDA_OK = {"GALLERY_CACHE": "none", "GALLERY_ALLOW_ANONYMOUS_WRITES": "1"}


@pytest.fixture
def on_lambda(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "cloud-image-gallery-dev")
    ssm_secret.cache_clear()
    yield
    ssm_secret.cache_clear()


def test_lambda_without_a_secret_key_refuses_to_start_and_names_the_fix(tmp_path, on_lambda):
    with pytest.raises(SystemExit) as exc:
        make_app(tmp_path, SECRET_KEY="", **LAMBDA_OK)
    message = str(exc.value)
    assert "GALLERY_SECRET_KEY_SSM" in message and "SECRET_KEY" in message and "SecureString" in message


def test_off_lambda_a_generated_key_is_still_fine(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    app = make_app(tmp_path, SECRET_KEY="")
    assert len(app.secret_key) == 64


def test_run_reports_every_problem_at_once(monkeypatch):
    checks = [lambda s, e: ["first problem"], lambda s, e: [], lambda s, e: ["second problem"]]
    monkeypatch.setattr(startup, "CHECKS", checks)
    with pytest.raises(SystemExit) as exc:
        startup.run_checks(load_settings({}, environ={}), {})
    assert "- first problem\n- second problem" in str(exc.value)


def test_the_key_comes_from_ssm_and_two_containers_accept_each_others_forms(tmp_path, aws, on_lambda):
    name = f"/gallery-test/{aws['bucket']}/secret-key"
    boto3.client("ssm").put_parameter(Name=name, Value=KEY, Type="SecureString")
    apps = [make_app(tmp_path / str(i), SECRET_KEY="", GALLERY_SECRET_KEY_SSM=name, **LAMBDA_OK) for i in (0, 1)]
    assert [app.secret_key for app in apps] == [KEY, KEY]
    for app in apps:
        app.config["WTF_CSRF_ENABLED"] = True
    first, second = (app.test_client() for app in apps)
    token = CSRF_META.search(first.get("/upload").get_data(as_text=True)).group(1)
    second.set_cookie("session", first.get_cookie("session").value)
    response = second.post(
        "/api/images",
        data={"key": "shared.png", "file": (io.BytesIO(make_image("PNG")), "a.png")},
        headers={"X-CSRFToken": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()


def test_a_missing_or_short_ssm_parameter_is_named_with_its_fix(tmp_path, aws, on_lambda):
    missing = f"/gallery-test/{aws['bucket']}/missing"
    with pytest.raises(SystemExit) as exc:
        make_app(tmp_path, SECRET_KEY="", GALLERY_SECRET_KEY_SSM=missing, **LAMBDA_OK)
    assert f"GALLERY_SECRET_KEY_SSM={missing} could not be read (ParameterNotFound)" in str(exc.value)
    assert "aws ssm put-parameter --type SecureString" in str(exc.value)

    short = f"/gallery-test/{aws['bucket']}/short"
    boto3.client("ssm").put_parameter(Name=short, Value="too-short", Type="SecureString")
    with pytest.raises(SystemExit, match="at least 32 random"):
        make_app(tmp_path, SECRET_KEY="", GALLERY_SECRET_KEY_SSM=short, **LAMBDA_OK)
