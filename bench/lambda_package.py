"""Build the Lambda package as Zappa would and report its size against Lambda's limits.

Installs requirements-lambda.txt for CPython 3.12 on manylinux x86_64 (the Lambda runtime in
zappa_settings.json) into artifacts/lambda/package, compiles it with python3.12 when there is one
(as a 3.12 virtualenv's pip does, so Lambda imports bytecode instead of compiling at every cold
start), adds the project files, applies the stage's ``exclude`` / ``exclude_glob`` from
zappa_settings.json, then prints the unzipped size against where it must fit (with slim_handler:
the stage's ephemeral storage, where the archive is unpacked; else Lambda's 250 MB), the zipped
size and the largest parts. Needs PyPI access for the wheels.

    python bench/lambda_package.py [--stage production] [--keep]

tests/test_lambda_handler.py builds the same package from these functions and drives it through
Zappa's handler under Python 3.12.
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "artifacts" / "lambda"
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
PLATFORM = ["--platform", "manylinux_2_28_x86_64", "--implementation", "cp", "--python-version", "3.12"]
# Zappa's own dependencies published only as source; pure Python, so a locally built wheel fits any platform.
SDIST_ONLY = ["placebo<0.10"]
PROJECT = ["app", "templates", "static", "wsgi.py"]
# Packages whose .py files are read as text (OpenCV's loader execs its config*.py; Zappa copies its handler.py
# to the package root, the entry point Lambda imports): sources stay.
KEEP_SOURCES = ["cv2", "zappa", "handler.py", "zappa_settings.py"]


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


def install(target: Path, wheels: Path) -> None:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), *SDIST_ONLY], check=True)
    subprocess.run(
        [*pip, "install", "--no-compile", "--target", str(target), *PLATFORM, "--only-binary=:all:"]
        + ["--find-links", str(wheels), "-r", str(ROOT / "requirements-lambda.txt")],
        check=True,
    )
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts live outside site-packages


def compile_bytecode(target: Path, python: str) -> None:
    """What pip does in a python3.12 virtualenv: ``__pycache__/*.cpython-312.pyc`` beside every module."""
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(target)], check=False, capture_output=True)


def build_libraries(target: Path, config: dict, python: str | None) -> None:
    """The installed requirements as the stage ships them."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as wheels:
        install(target, Path(wheels))
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
        "AWS_EVENT_MAPPING": {
            e["event_source"]["arn"]: e["function"]
            for e in config.get("events", [])
            if e.get("event_source", {}).get("arn") and e.get("function")
        },
        "AWS_BOT_EVENT_MAPPING": {},
        "COGNITO_TRIGGER_MAPPING": {},
        "ADDITIONAL_TEXT_MIMETYPES": config.get("additional_text_mimetypes", []),
    }
    if config.get("remote_env"):
        values["REMOTE_ENV"] = config["remote_env"]
    return "# Generated by Zappa\n" + "".join(f"{name}={value!r}\n" for name, value in values.items())


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="production")
    parser.add_argument("--keep", action="store_true", help="keep artifacts/lambda/package for inspection")
    args = parser.parse_args()
    config = stage_settings(args.stage)
    python = find_python312()

    target = OUT / "package"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    try:
        with tempfile.TemporaryDirectory() as wheels:
            install(target, Path(wheels))
        add_project(target)
        # What `zappa package` adds at the root: its handler and the stage's settings module.
        shutil.copy(target / "zappa" / "handler.py", target / "handler.py")
        (target / "zappa_settings.py").write_text(settings_module(config, args.stage))
        if python:
            compile_bytecode(target, python)
            sourceless(target)
        before = tree_size(target)
        removed = apply_excludes(target, config.get("exclude", []), config.get("exclude_glob", []))
        unzipped = tree_size(target)
        zipped = zip_size(target, OUT / f"{args.stage}.zip")
    except BaseException:  # a failed build leaves nothing behind
        shutil.rmtree(OUT, ignore_errors=True)
        raise

    parts = sorted(((tree_size(p), p.name) for p in target.iterdir()), reverse=True)
    if config.get("slim_handler"):  # the archive is unpacked into /tmp: the stage's ephemeral storage bounds it
        limit = config.get("ephemeral_storage", {}).get("Size", 512) * 1024 * 1024
        where = f"the stage's {mb(limit)} of /tmp, where slim_handler unpacks it"
    else:
        limit, where = LAMBDA_UNZIPPED_LIMIT, "Lambda's 250 MB limit"
    print(
        f"Lambda package for stage '{args.stage}' (runtime {config.get('runtime')}, slim_handler={config.get('slim_handler')})"
    )
    print(f"  bytecode            : {'cpython-312, compiled by ' + python if python else 'none (no python3.12 here)'}")
    print(f"  installed + project : {mb(before)}")
    print(f"  removed by excludes : {mb(removed)}")
    print(f"  unzipped            : {mb(unzipped)}  ({unzipped / limit:.0%} of {where})")
    print(f"  zipped              : {mb(zipped)}")
    print("  largest parts       : " + ", ".join(f"{name} {mb(size)}" for size, name in parts[:8]))
    if not args.keep:
        shutil.rmtree(target)
    fits = unzipped < limit
    print("  verdict             : " + ("fits" if fits else "TOO LARGE"))
    return 0 if fits else 1


if __name__ == "__main__":
    sys.exit(main())
