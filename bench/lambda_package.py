"""Build the Lambda package as Zappa would, offline from a wheelhouse, and report its size against
Lambda's limits (and, with ``--cold-start`` / ``--write-docs``, its cold start).

Two steps, so only the first needs the package index:

    python bench/lambda_package.py --download     # make wheelhouse: every pinned wheel into wheelhouse/
    python bench/lambda_package.py [--stage production] [--keep] [--cold-start] [--write-docs]

The build installs requirements-lambda.txt (every distribution the package holds, pinned) for
CPython 3.12 on manylinux x86_64 (the Lambda runtime in zappa_settings.json) with
``pip install --no-index --find-links wheelhouse`` and no pip configuration, checks the package
holds exactly the pinned versions, compiles it with python3.12 when there is one (as a 3.12
virtualenv's pip does, so Lambda imports bytecode instead of compiling at every cold start), adds
the project files and what ``zappa package`` adds (its handler and the stage's settings module),
applies the stage's ``exclude`` / ``exclude_glob`` and zips it, all in a temporary directory:
only a complete archive that fits is moved to artifacts/lambda/<stage>.zip, for
``zappa update <stage> --zip s3://…`` (docs/operations.md). A build that fails leaves nothing.

``--cold-start`` runs the built package through Zappa's handler under Python 3.12 against a moto
server (tests/lambda_driver.py, as tests/test_lambda_handler.py does): five new processes
answering ``GET /``. ``--write-docs`` does that too and rewrites the marked block in
docs/benchmarks.md with the figures measured.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import glob
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "artifacts" / "lambda"
WHEELHOUSE = ROOT / "wheelhouse"
REQUIREMENTS = ROOT / "requirements-lambda.txt"
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
DOCS_BLOCK = ("<!-- lambda-package:start -->", "<!-- lambda-package:end -->")
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
# manylinux_2_28 first (what numpy and OpenCV publish), then 2_17, all orjson publishes: pip takes
# no older manylinux tag than the one named, and the Lambda runtime (glibc 2.34) runs both.
TARGET = ["--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64"]
TARGET += ["--implementation", "cp", "--python-version", "3.12"]
TARGET += ["--only-binary=:all:"]
# Zappa's own dependencies published only as source; pure Python, so a locally built wheel fits any platform.
SDIST_ONLY = ["placebo"]
PROJECT = ["app", "templates", "static", "wsgi.py"]
# Packages whose .py files are read as text (OpenCV's loader execs its config*.py; Zappa copies its handler.py
# to the package root, the entry point Lambda imports): sources stay.
KEEP_SOURCES = ["cv2", "zappa", "handler.py", "zappa_settings.py"]
COLD_STARTS = 5  # new containers measured; the figure is their median


class BuildError(Exception):
    """A build that cannot go on; its message is one line for the operator."""


class MissingWheel(BuildError):
    pass


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path | None = None) -> dict[str, str]:
    """``name==version`` lines of a requirements file, by normalized name."""
    found = {}
    for line in (path or REQUIREMENTS).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line)
            if not match:
                raise BuildError(f"{(path or REQUIREMENTS).name}: '{line}' is not pinned as name==version")
            found[normalized(match[1])] = match[2]
    return found


def stage_settings(stage: str) -> dict:
    settings = json.loads((ROOT / "zappa_settings.json").read_text())
    config = dict(settings[stage])
    while "extends" in config:  # Zappa's `extends` is a shallow merge
        parent = dict(settings[config.pop("extends")])
        parent.update(config)
        config = parent
    return config


def find_python312() -> str | None:
    """$PYTHON312 (``.ci/run`` sets it), python3.12 on PATH (not a pyenv shim, which may refuse to
    run it), else one installed by pyenv."""
    if os.environ.get("PYTHON312"):
        return os.environ["PYTHON312"]
    found = shutil.which("python3.12")
    if found and "/shims/" not in found:
        return found
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    candidates = sorted(glob.glob(os.path.join(root, "versions", "3.12*", "bin", "python3.12")))
    return candidates[-1] if candidates else None


def pip(*args: str) -> list[str]:
    return [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args]


def download_wheelhouse() -> None:
    """Every pinned wheel for the Lambda's platform into ``wheelhouse``, from the configured index:
    the only step that downloads. Source-only pins are built into wheels once, here."""
    wheelhouse = WHEELHOUSE
    wheelhouse.mkdir(parents=True, exist_ok=True)
    pinned = pins()
    sources = [f"{name}=={pinned[normalized(name)]}" for name in SDIST_ONLY]
    subprocess.run(pip("wheel", "--no-deps", "-w", str(wheelhouse), *sources), check=True)
    subprocess.run(
        pip("download", "-d", str(wheelhouse), "--find-links", str(wheelhouse), *TARGET, "-r", str(REQUIREMENTS)),
        check=True,
    )


def offline() -> dict[str, str]:
    """The environment for pip with no index: no PIP_* variables and no pip configuration file, so
    nothing but ``--find-links`` is consulted (a configured index or find-links would be)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": os.devnull}


def install(target: Path) -> None:
    """requirements-lambda.txt into ``target`` from the wheelhouse alone, then checks what landed."""
    wheelhouse = WHEELHOUSE
    if not wheelhouse.is_dir():
        raise MissingWheel(f"no {wheelhouse.name}/ to build from: run `make wheelhouse` (the one step that downloads)")
    command = pip("install", "--no-index", "--find-links", str(wheelhouse), "--no-compile", "--target", str(target))
    done = subprocess.run(
        [*command, *TARGET, "-r", str(REQUIREMENTS)], env=offline(), capture_output=True, text=True, check=False
    )
    if done.returncode:
        missing = re.search(r"No matching distribution found for (\S+)", done.stderr)
        if missing:
            raise MissingWheel(
                f"{wheelhouse.name}/ has no cp312 manylinux x86_64 wheel of {missing[1]}: run `make wheelhouse`"
            )
        raise BuildError("pip install from the wheelhouse failed: " + " | ".join(done.stderr.strip().splitlines()))
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts live outside site-packages
    check_pins(target)


def installed(target: Path) -> list[tuple[str, str]]:
    """(normalized name, version) of every distribution in ``target``, from its ``*.dist-info``."""
    return sorted(
        (
            normalized(info.name[: -len(".dist-info")].rsplit("-", 1)[0]),
            info.name[: -len(".dist-info")].rsplit("-", 1)[1],
        )
        for info in target.glob("*.dist-info")
    )


def check_pins(target: Path) -> None:
    """The package holds exactly the pinned distributions, each once at its pinned version: what is
    pinned is what runs (one boto3, one botocore)."""
    pinned, held = pins(), installed(target)
    names = [name for name, _ in held]
    wrong = [f"two versions of {name}" for name in sorted(set(names)) if names.count(name) > 1]
    for name, version in held:
        if name not in pinned:
            wrong.append(f"{name} {version} is not pinned (add {name}=={version} to {REQUIREMENTS.name})")
        elif pinned[name] != version:
            wrong.append(f"{name} is {version}, pinned {pinned[name]}")
    wrong += [f"{name}=={version} is pinned but not installed" for name, version in pinned.items() if name not in names]
    if wrong:
        raise BuildError("the package does not match " + REQUIREMENTS.name + ": " + "; ".join(wrong))


def compile_bytecode(target: Path, python: str) -> None:
    """What pip does in a python3.12 virtualenv: ``__pycache__/*.cpython-312.pyc`` beside every module."""
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(target)], check=False, capture_output=True)


def build_libraries(target: Path, config: dict, python: str | None) -> None:
    """The installed requirements as the stage ships them."""
    target.mkdir(parents=True, exist_ok=True)
    install(target)
    apply_excludes(target, config.get("exclude", []), config.get("exclude_glob", []))
    if python:
        compile_bytecode(target, python)
        sourceless(target)


def sourceless(target: Path) -> int:
    """Libraries as 3.12 bytecode only: each ``__pycache__/<name>.cpython-312.pyc`` becomes
    ``<name>.pyc`` in place of ``<name>.py``, which CPython imports as it is (the project's own
    files keep their sources, for readable tracebacks). Returns the bytes saved."""
    saved = 0
    for compiled in target.rglob("__pycache__/*.cpython-312.pyc"):
        source = compiled.parent.parent / (compiled.name.split(".")[0] + ".py")
        if source.relative_to(target).parts[0] in PROJECT + KEEP_SOURCES or not source.exists():
            continue
        saved += source.stat().st_size
        compiled.replace(source.with_suffix(".pyc"))
        source.unlink()
    for cache in list(target.rglob("__pycache__")):
        if cache.is_dir() and not any(cache.iterdir()):
            cache.rmdir()
    return saved


def add_project(target: Path) -> None:
    for name in PROJECT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)


def apply_excludes(target: Path, exclude: list[str], exclude_glob: list[str]) -> int:
    """Zappa's rules: ``exclude`` names match at any depth, ``exclude_glob`` from the package root."""
    removed = 0
    for folder, dirs, files in os.walk(target, topdown=True):
        for name in [d for d in dirs if any(fnmatch.fnmatch(d, p) for p in exclude)]:
            removed += tree_size(Path(folder) / name)
            shutil.rmtree(Path(folder) / name)
            dirs.remove(name)
        for name in files:
            if any(fnmatch.fnmatch(name, p) for p in exclude):
                path = Path(folder) / name
                removed += path.stat().st_size
                path.unlink()
    for pattern in exclude_glob:
        for match in glob.glob(os.path.join(target, pattern)):  # as Zappa joins: a trailing "/" matches folders only
            path = Path(match)
            if path.is_dir():
                removed += tree_size(path)
                shutil.rmtree(path)
            elif path.exists():
                removed += path.stat().st_size
                path.unlink()
    return removed


def settings_module(config: dict, stage: str, environment: dict[str, str] | None = None) -> str:
    """The ``zappa_settings.py`` that ``zappa package`` writes into the handler archive, for the
    settings Zappa's handler reads (``ZappaCLI.get_zappa_settings_string``)."""
    module, function = config["app_function"].rsplit(".", 1)
    env = {"AWS_REGION": config["aws_region"], **config.get("environment_variables", {}), **(environment or {})}
    values = {
        "APP_MODULE": module,
        "APP_FUNCTION": function,
        "EXCEPTION_HANDLER": config.get("exception_handler"),
        "DEBUG": config.get("debug", True),  # Zappa's defaults: DEBUG logging of every event
        "LOG_LEVEL": config.get("log_level", "DEBUG"),
        "BINARY_SUPPORT": config.get("binary_support", True),
        "CONTEXT_HEADER_MAPPINGS": config.get("context_header_mappings", {}),
        "DOMAIN": config.get("domain"),
        "BASE_PATH": config.get("base_path"),
        "ENVIRONMENT_VARIABLES": env,
        "API_STAGE": stage,
        "PROJECT_NAME": config["project_name"],
        "SETTINGS_FILE": None,
        "DJANGO_SETTINGS": None,
        # Which function an event from each source runs (Zappa's handler looks S3 events up here).
        "AWS_EVENT_MAPPING": event_mapping(config),
        "AWS_BOT_EVENT_MAPPING": {},
        "COGNITO_TRIGGER_MAPPING": {},
        "ASYNC_RESPONSE_TABLE": config.get("async_response_table", ""),
        "ADDITIONAL_TEXT_MIMETYPES": config.get("additional_text_mimetypes", []),
    }
    if config.get("remote_env"):
        values["REMOTE_ENV"] = config["remote_env"]
    return "# Generated by Zappa\n" + "".join(f"{name}={value!r}\n" for name, value in values.items())


def event_mapping(config: dict) -> dict[str, list[str]]:
    """Zappa 0.63's form: each event source's ARN to the functions it runs."""
    mapping: dict[str, list[str]] = {}
    for event in config.get("events", []):
        arn, function = event.get("event_source", {}).get("arn"), event.get("function")
        if arn and function:
            mapping.setdefault(arn, []).append(function)
    return mapping


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def zip_size(target: Path, archive: Path) -> int:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for path in sorted(target.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(target))
    return archive.stat().st_size


def mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def limit_of(config: dict) -> tuple[int, str]:
    """Where the unzipped package must fit, and how to say it."""
    if config.get("slim_handler"):  # the archive is unpacked into /tmp: the stage's ephemeral storage bounds it
        limit = config.get("ephemeral_storage", {}).get("Size", 512) * 1024 * 1024
        return limit, f"the stage's {mb(limit)} of /tmp, where slim_handler unpacks it"
    return LAMBDA_UNZIPPED_LIMIT, "Lambda's 250 MB"


def publish(built: Path, destination: Path) -> None:
    """``built`` (a file or a folder) becomes ``destination`` whole or not at all: copied beside it
    under a temporary name, then renamed over it."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.partial")
    try:
        if built.is_dir():
            shutil.copytree(built, partial, symlinks=True)
            shutil.rmtree(destination, ignore_errors=True)
        else:
            shutil.copyfile(built, partial)
        os.replace(partial, destination)
    finally:
        if partial.is_dir():
            shutil.rmtree(partial)
        partial.unlink(missing_ok=True)


def build(stage: str, python: str | None, keep: bool = False, cold_start: bool = False) -> dict:
    """The stage's package built in a temporary directory; its archive lands in artifacts/lambda/
    only when complete and within the limit. Returns the figures measured."""
    config = stage_settings(stage)
    limit, where = limit_of(config)
    with tempfile.TemporaryDirectory(prefix="gallery-lambda-") as work:
        target = Path(work) / "package"
        target.mkdir()
        install(target)
        add_project(target)
        # What `zappa package` adds at the root: its handler and the stage's settings module.
        shutil.copy(target / "zappa" / "handler.py", target / "handler.py")
        (target / "zappa_settings.py").write_text(settings_module(config, stage))
        if python:
            compile_bytecode(target, python)
            sourceless(target)
        before = tree_size(target)
        removed = apply_excludes(target, config.get("exclude", []), config.get("exclude_glob", []))
        unzipped = tree_size(target)
        if unzipped >= limit:
            raise BuildError(f"the package is {mb(unzipped)} unzipped, over {where}: nothing written")
        archive = Path(work) / f"{stage}.zip"
        figures = {
            "stage": stage,
            "runtime": config.get("runtime"),
            "slim_handler": config.get("slim_handler"),
            "python": python,
            "before": before,
            "removed": removed,
            "unzipped": unzipped,
            "limit": limit,
            "where": where,
            "zipped": zip_size(target, archive),
            "parts": sorted(((tree_size(p), p.name) for p in target.iterdir()), reverse=True)[:8],
            "archive": OUT / archive.name,
        }
        if keep:
            publish(target, OUT / "package")
        if cold_start:  # after zipping (it adds its own settings and driver), before publishing: a gate too
            figures["cold_start"] = measure_cold_start(target, config, stage, python)
        publish(archive, OUT / archive.name)
    return figures


# --- Cold start: the package through Zappa's handler under Python 3.12 ---------------------------------


def api_gateway_event(
    stage: str,
    method: str,
    path: str,
    body: bytes = b"",
    content_type: str = "",
    token: str = "",
    query: dict | None = None,
) -> dict:
    """An API Gateway REST (v1) proxy event, binary bodies base64-encoded as binary_support sends them."""
    headers = {
        "Host": "abc123.execute-api.us-east-1.amazonaws.com",  # API Gateway's own domain: Zappa adds /<stage>
        "X-Forwarded-Proto": "https",
        "User-Agent": "lambda-test",
    }
    if content_type:
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return {
        "httpMethod": method,
        "path": path,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query,
        "body": base64.b64encode(body).decode() if body else None,
        "isBase64Encoded": bool(body),
        "requestContext": {"stage": stage, "identity": {"sourceIp": "203.0.113.9"}},
    }


def cold_container(python: str, task_root: Path, libraries: Path, events: list[dict], env: dict[str, str]):
    """One new container: a fresh 3.12 process running tests/lambda_driver.py (copied into
    ``task_root``) over ``events``. Returns (its report, its log)."""
    if not (task_root / "lambda_driver.py").exists():
        shutil.copy(ROOT / "tests" / "lambda_driver.py", task_root / "lambda_driver.py")
    events_file, report_file = task_root / "events.json", task_root / f"report-{uuid.uuid4().hex}.json"
    events_file.write_text(json.dumps(events))
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(task_root),
        "PYTHONPATH": f"{task_root}:{libraries}",
        "LAMBDA_TASK_ROOT": str(task_root),
        **env,
    }
    # -S: only the package's own libraries, as on Lambda (no site-packages of the interpreter here).
    done = subprocess.run(
        [python, "-S", "lambda_driver.py", str(events_file), str(report_file)],
        cwd=task_root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = done.stdout + done.stderr
    if done.returncode:
        raise BuildError(f"the handler exited with {done.returncode}: {log}")
    report = json.loads(report_file.read_text())
    report_file.unlink()
    return report, log


def cold_start_medians(reports: list[dict]) -> dict[str, float]:
    """Median over new containers of the import (handler, settings, app) and of the first answer
    (import plus the first request), wall clock and CPU."""
    return {
        f"{what}_{clock}": statistics.median(
            r[f"import_{clock}"] + (r["results"][0][clock] if what == "first" else 0) for r in reports
        )
        for what in ("import", "first")
        for clock in ("seconds", "cpu_seconds")
    }


def measure_cold_start(task_root: Path, config: dict, stage: str, python: str | None) -> dict[str, float]:
    """``GET /`` answered by COLD_STARTS new containers of the built package, against a moto server
    (S3, DynamoDB, SSM; no cache) set up as the operator's checklist does."""
    if not python:
        raise BuildError("measuring the cold start needs python3.12 (the Lambda runtime): pyenv install 3.12")
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    import boto3
    from cloud import MotoServer  # tests/cloud.py: moto_server in a process of its own

    from app import create_app

    server = MotoServer()
    try:
        os.environ.update(server.env())  # the operator's `gallery init` below talks to it too
        os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1"]))  # moto is local
        for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
            os.environ.pop(name, None)
        name = f"gallery-bench-{uuid.uuid4().hex[:10]}"
        boto3.client("ssm").put_parameter(Name=f"/{name}/secret-key", Value=secrets.token_hex(32), Type="SecureString")
        overrides = {
            "GALLERY_S3_BUCKET": name,
            "GALLERY_DYNAMODB_TABLE": name,
            "GALLERY_CACHE": "none",
            "GALLERY_SECRET_KEY_SSM": f"/{name}/secret-key",
            "GALLERY_API_TOKENS": secrets.token_urlsafe(16),
            "GALLERY_API_TOKENS_SSM": "",
            "GALLERY_ADMIN_PASSWORD_HASH_SSM": "",
        }
        setup = create_app({**overrides, "GALLERY_STORAGE": "s3", "GALLERY_METADATA": "dynamodb", "SECRET_KEY": "x"})
        if setup.test_cli_runner().invoke(args=["gallery", "init"]).exit_code:
            raise BuildError("`gallery init` against moto failed")
        (task_root / "zappa_settings.py").write_text(settings_module(config, stage, overrides))
        env = {**server.env(), "AWS_SESSION_TOKEN": "bench", "AWS_LAMBDA_FUNCTION_NAME": f"gallery-{stage}"}
        home = [api_gateway_event(stage, "GET", "/")]
        reports = [cold_container(python, task_root, task_root, home, env)[0] for _ in range(COLD_STARTS)]
    finally:
        server.stop()
    if any(r["results"][0]["response"]["statusCode"] != 200 for r in reports):
        raise BuildError("the home page did not answer 200 through the handler")
    return cold_start_medians(reports)


# --- Report ---------------------------------------------------------------------------------------------


def docs_block(figures: dict) -> str:
    """The Markdown that docs/benchmarks.md holds between DOCS_BLOCK's markers."""
    c = figures["cold_start"]
    version = subprocess.run([figures["python"], "--version"], capture_output=True, text=True).stdout.split()[-1]
    parts = ", ".join(f"{name} {mb(size)}" for size, name in figures["parts"][:5])
    return (
        f"Measured {time.strftime('%Y-%m-%d')} by `python bench/lambda_package.py --stage {figures['stage']} "
        f"--write-docs` (CPython {version} bytecode, wheels from `wheelhouse/`): "
        f"**{mb(figures['unzipped'])} unzipped** of {figures['where']} without `slim_handler` "
        f"({figures['unzipped'] / figures['limit']:.0%}), {mb(figures['zipped'])} zipped; largest parts {parts}.\n"
        f"Cold start through Zappa's handler under Python 3.12 (`GET /`, moto S3/DynamoDB/SSM, no cache, "
        f"median of {COLD_STARTS} new processes, not counting AWS fetching and unpacking the archive): "
        f"**first answer {c['first_cpu_seconds']:.2f} s** of CPU, of which import and set-up "
        f"{c['import_cpu_seconds']:.2f} s (targets 2 s and 1 s); wall clock {c['first_seconds']:.2f} s and "
        f"{c['import_seconds']:.2f} s on this machine's shared cores, which other work inflates."
    )


def write_docs(block: str) -> None:
    start, end = DOCS_BLOCK
    page = BENCHMARKS
    text = page.read_text()
    if start not in text or end not in text:
        raise BuildError(f"{page.name} has no {start} … {end} block to rewrite")
    before, rest = text.split(start, 1)
    page.write_text(before + start + "\n" + block + "\n" + end + rest.split(end, 1)[1])


def report(f: dict) -> None:
    print(f"Lambda package for stage '{f['stage']}' (runtime {f['runtime']}, slim_handler={f['slim_handler']})")
    print(
        f"  bytecode            : {'cpython-312, compiled by ' + f['python'] if f['python'] else 'none (no python3.12 here)'}"
    )
    print(f"  installed + project : {mb(f['before'])}")
    print(f"  removed by excludes : {mb(f['removed'])}")
    print(f"  unzipped            : {mb(f['unzipped'])}  ({f['unzipped'] / f['limit']:.0%} of {f['where']})")
    print(f"  zipped              : {mb(f['zipped'])}  -> {f['archive'].relative_to(ROOT)}")
    print("  largest parts       : " + ", ".join(f"{name} {mb(size)}" for size, name in f["parts"]))
    if "cold_start" in f:
        c = f["cold_start"]
        print(
            f"  cold start (median of {COLD_STARTS}): first answer {c['first_seconds']:.2f} s, import "
            f"{c['import_seconds']:.2f} s (CPU {c['first_cpu_seconds']:.2f} s / {c['import_cpu_seconds']:.2f} s)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--download", action="store_true", help="fill wheelhouse/ from the package index and stop")
    parser.add_argument("--stage", default="production")
    parser.add_argument(
        "--keep", action="store_true", help="also keep the unzipped package as artifacts/lambda/package"
    )
    parser.add_argument("--cold-start", action="store_true", help="measure the cold start (python3.12, moto)")
    parser.add_argument("--write-docs", action="store_true", help="measure and rewrite docs/benchmarks.md's block")
    args = parser.parse_args()
    try:
        if args.download:
            download_wheelhouse()
            print(f"{WHEELHOUSE.relative_to(ROOT)}/: {len(list(WHEELHOUSE.glob('*.whl')))} wheels")
            return 0
        figures = build(args.stage, find_python312(), args.keep, args.cold_start or args.write_docs)
    except BuildError as error:
        print(f"lambda-package: {error}", file=sys.stderr)
        return 1
    report(figures)
    if args.write_docs:
        write_docs(docs_block(figures))
        print(f"  rewrote             : {BENCHMARKS.relative_to(ROOT)} ({DOCS_BLOCK[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
