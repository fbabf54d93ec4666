"""Secrets out of files: zappa_settings.json holds no password hash or token; both shipped stages
start on Lambda once the documented ``aws ssm put-parameter`` steps are done (against moto's
SSM), read the password hash and the API tokens from SSM, and say which step is missing when not."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from werkzeug.security import check_password_hash, generate_password_hash

from app import create_app
from app.runtime.secret_key import ssm_secret

pytest_plugins = ["cloud"]

ROOT = Path(__file__).resolve().parents[1]
SECRET_NAMES = ("SECRET_KEY", "GALLERY_ADMIN_PASSWORD", "GALLERY_ADMIN_PASSWORD_HASH", "GALLERY_API_TOKENS")


def stage_environment(stage: str) -> dict[str, str]:
    """The stage's environment as Zappa builds it (``extends`` copies the parent's keys)."""
    stages = json.loads((ROOT / "zappa_settings.json").read_text())
    settings = dict(stages[stage])
    while "extends" in settings:
        parent = stages[settings.pop("extends")]
        settings = {**parent, **settings}
    return settings["environment_variables"]


def test_zappa_settings_hold_no_password_hash_or_token():
    text = (ROOT / "zappa_settings.json").read_text()
    for marker in ("pbkdf2:", "scrypt:", "Bearer"):
        assert marker not in text
    for stage in ("dev", "production"):
        environment = stage_environment(stage)
        assert not set(SECRET_NAMES) & set(environment)
        assert {"GALLERY_SECRET_KEY_SSM", "GALLERY_ADMIN_PASSWORD_HASH_SSM", "GALLERY_API_TOKENS_SSM"} <= set(
            environment
        )


@pytest.fixture
def lambda_stage(aws, monkeypatch, tmp_path):
    """Run a stage's environment as a Lambda container would, against moto."""
    ssm_secret.cache_clear()

    def start(stage: str):
        for name, value in stage_environment(stage).items():
            monkeypatch.setenv(name, value)
        for name in SECRET_NAMES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", f"cloud-image-gallery-{stage}")
        return create_app({"GALLERY_DATA_DIR": str(tmp_path / stage), "TESTING": True})

    yield start
    ssm_secret.cache_clear()


def put_parameters(stage: str) -> tuple[str, str]:
    """The checklist's three `aws ssm put-parameter` steps (docs/operations.md)."""
    ssm, base = boto3.client("ssm"), f"/cloud-image-gallery/{stage}"
    password_hash, token = generate_password_hash("correct horse"), f"{stage}-token-" + "x" * 32
    ssm.put_parameter(Name=f"{base}/secret-key", Value="k" * 64, Type="SecureString", Overwrite=True)
    ssm.put_parameter(Name=f"{base}/admin-password-hash", Value=password_hash, Type="SecureString", Overwrite=True)
    ssm.put_parameter(Name=f"{base}/api-tokens", Value=token, Type="SecureString", Overwrite=True)
    return password_hash, token


@pytest.mark.parametrize("stage", ["dev", "production"])
def test_each_stage_starts_after_the_ssm_steps(lambda_stage, aws, stage):
    _, token = put_parameters(stage)
    app = lambda_stage(stage)
    settings = app.extensions["settings"]
    assert check_password_hash(settings.admin_password_hash, "correct horse")
    assert settings.api_tokens == token and app.secret_key == "k" * 64
    # The token from SSM is what a script's write is checked against.
    client = app.test_client()
    refused = client.delete("/api/images/none.png", headers={"Authorization": "Bearer wrong"})
    allowed = client.delete("/api/images/none.png", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code in (401, 403) and allowed.status_code != refused.status_code


def test_a_missing_parameter_names_the_put_parameter_step(lambda_stage, aws):
    ssm = boto3.client("ssm")  # moto's server is shared: start from the first step only
    ssm.delete_parameters(Names=[f"/cloud-image-gallery/dev/{n}" for n in ("admin-password-hash", "api-tokens")])
    ssm.put_parameter(Name="/cloud-image-gallery/dev/secret-key", Value="k" * 64, Type="SecureString", Overwrite=True)
    with pytest.raises(SystemExit) as refused:
        lambda_stage("dev")
    message = str(refused.value)
    for name in ("admin-password-hash", "api-tokens"):
        assert f"aws ssm put-parameter --type SecureString --name /cloud-image-gallery/dev/{name}" in message
    assert "GALLERY_ADMIN_PASSWORD_HASH_SSM" in message and "GALLERY_API_TOKENS_SSM" in message
