"""Settings: read once from the environment into a frozen, typed object; templates see only what they show."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import make_app
from flask import template_rendered

from app.config import OPTIONS, Settings, StartupError, load_settings
from app.core.units import MB, format_mb
from app.imaging import images
from app.imaging.images import check_size
from app.settings_table import markdown_table


def test_environment_values_are_parsed_to_their_types():
    settings = load_settings(
        environ={
            "GALLERY_MAX_UPLOAD_MB": "1.5",
            "GALLERY_PAGE_SIZE": " 12 ",
            "GALLERY_PUBLIC_READ": "0",
            "PORT": "9000",
        }
    )
    assert (settings.max_upload_mb, settings.page_size, settings.public_read, settings.port) == (1.5, 12, False, 9000)
    assert settings.max_upload_bytes == int(1.5 * MB)
    assert settings.storage == "local" and settings.host == "127.0.0.1"  # defaults
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.storage = "s3"


def test_empty_means_default_and_aws_default_region_is_honoured():
    settings = load_settings(environ={"GALLERY_THUMB_SIZE": "", "AWS_DEFAULT_REGION": "eu-west-1"})
    assert settings.thumb_size == 360 and settings.aws_region == "eu-west-1"


def test_overrides_win_and_may_be_typed_values_or_strings():
    settings = load_settings({"GALLERY_CACHE": "memcached", "GALLERY_PAGE_SIZE": 3, "GALLERY_THREADS": "2"}, environ={})
    assert (settings.cache, settings.page_size, settings.threads) == ("memcached", 3, 2)


def test_a_bad_value_stops_start_up_naming_the_variable():
    with pytest.raises(SystemExit, match="GALLERY_MAX_PIXELS='many' is not valid: not a whole number"):
        load_settings(environ={"GALLERY_MAX_PIXELS": "many"})


def refused(overrides: dict | None = None, environ: dict | None = None) -> list[str]:
    with pytest.raises(StartupError) as failed:
        load_settings(overrides, environ=environ or {})
    assert str(failed.value).splitlines()[1:] == [f"- {problem}" for problem in failed.value.problems]
    return failed.value.problems


@pytest.mark.parametrize("word", ["1", "true", "True", "YES", "on", " On "])
def test_booleans_accept_the_usual_spellings_of_true(word):
    assert load_settings(environ={"GALLERY_MEMCACHED_TLS": word}).memcached_tls is True


@pytest.mark.parametrize("word", ["0", "false", "FALSE", "no", "off", "Off"])
def test_booleans_accept_the_usual_spellings_of_false(word):
    assert load_settings(environ={"GALLERY_PUBLIC_READ": word}).public_read is False


@pytest.mark.parametrize("word", ["ture", "y", "2", "enabled", "nope", "-1"])
def test_anything_else_is_not_a_boolean(word):
    [problem] = refused(environ={"GALLERY_MEMCACHED_TLS": word})
    assert problem.startswith(f"GALLERY_MEMCACHED_TLS={word!r} is not valid: not a boolean: use 1/0, true/false")


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("GALLERY_STORAGE", "S3", "not one of: local, s3"),
        ("GALLERY_METADATA", "dynamo", "not one of: sqlite, dynamodb"),
        ("GALLERY_CACHE", "memcahced", "not one of: memory, memcached, none"),
        ("GALLERY_RECOGNIZER", "aws", "not one of: local, rekognition"),
        ("GALLERY_DISPLAY_FORMAT", "png", "not one of: webp, jpeg"),
        ("GALLERY_CACHE_POLICY", "lfu", "not one of: lru, random"),
        ("GALLERY_PAGE_SIZE", "12.5", "not a whole number"),
        ("GALLERY_PAGE_SIZE", "0", "below the smallest value, 1"),
        ("PORT", "80a", "not a whole number"),
        ("PORT", "70000", "above the largest value, 65535"),
        ("GALLERY_MAX_UPLOAD_MB", "25MB", "not a number"),
        ("GALLERY_MAX_UPLOAD_MB", "-1", "below the smallest value, 0"),
        ("GALLERY_WORK_BUDGET", "nan", "not a finite number"),
        ("GALLERY_SESSION_HOURS", "inf", "not a finite number"),
        ("GALLERY_RATE_LIMIT_LOGIN", "ten/minute", "couldn't parse rate limit string"),
        ("GALLERY_RATE_LIMIT_UPLOAD", "5/fortnight", "fortnight"),
    ],
)
def test_a_value_outside_what_the_option_takes_is_refused(name, value, says):
    [problem] = refused(environ={name: value})
    assert problem.startswith(f"{name}={value!r} is not valid: ") and says in problem


def test_every_problem_is_listed_at_once():
    problems = refused(
        {"GALLERY_PAGE_SIZE": "many"},
        environ={"GALLERY_MEMCACHED_TLS": "ture", "GALLERY_CACHE": "memcahced", "GALLERY_WORKERS": "two"},
    )
    assert [p.split("=")[0] for p in problems] == [
        "GALLERY_CACHE",
        "GALLERY_PAGE_SIZE",
        "GALLERY_MEMCACHED_TLS",
        "GALLERY_WORKERS",
    ]


def test_choices_rate_limits_and_bounds_accept_what_they_document():
    settings = load_settings(
        environ={
            "GALLERY_CACHE": "none",
            "GALLERY_DISPLAY_FORMAT": "jpeg",
            "GALLERY_RATE_LIMIT_LOGIN": "off",
            "GALLERY_RATE_LIMIT_PROCESS": "5 per second;100/hour",
            "GALLERY_DISPLAY_SIZE": "0",
            "PORT": "0",
        }
    )
    assert (settings.cache, settings.display_format, settings.rate_limit_login) == ("none", "jpeg", "off")
    assert (settings.display_size, settings.port) == (0, 0)


def test_every_default_is_a_value_its_option_accepts():
    for option in OPTIONS:
        assert option.read(option.default) == option.default, option.name
    display_format = next(o for o in OPTIONS if o.name == "GALLERY_DISPLAY_FORMAT")
    assert display_format.choices == images.DISPLAY_FORMATS  # the choices the encoder has


def test_overrides_of_the_right_python_type_pass_and_others_are_named():
    settings = load_settings({"GALLERY_MAX_UPLOAD_MB": 1, "GALLERY_MEMCACHED_TLS": True}, environ={})
    assert (settings.max_upload_mb, settings.memcached_tls) == (1, True)
    problems = refused({"GALLERY_PAGE_SIZE": 2.5, "GALLERY_THREADS": True, "GALLERY_CACHE": None})
    assert problems == [
        "GALLERY_CACHE=None is not valid: text is needed, not a Python NoneType.",
        "GALLERY_PAGE_SIZE=2.5 is not valid: a whole number is needed, not a Python float.",
        "GALLERY_THREADS=True is not valid: a whole number is needed, not a Python bool.",
    ]


def test_the_readme_table_shows_each_options_choices():
    table = markdown_table()
    assert "| `GALLERY_CACHE` | `memory` |" in table and "One of `memory`, `memcached`, `none`." in table
    assert "One of `webp`, `jpeg`." in table and "`1`/`0` (or true/false, yes/no, on/off)." in table


def test_every_field_is_one_documented_option():
    assert [o.attr for o in OPTIONS] == [f.name for f in dataclasses.fields(Settings)]
    assert {"HOST", "PORT", "GALLERY_WORKERS", "GALLERY_THREADS", "FORWARDED_ALLOW_IPS"} <= {o.name for o in OPTIONS}
    assert all(o.description and o.group for o in OPTIONS)


def test_templates_never_see_secrets(tmp_path):
    app = make_app(
        tmp_path, SECRET_KEY="s3cr3t-key", GALLERY_ADMIN_PASSWORD="pa55word", GALLERY_API_TOKENS="t0ken-1,t0ken-2"
    )
    contexts = []
    with template_rendered.connected_to(lambda sender, template, context, **_: contexts.append(context), app):
        client = app.test_client()
        for path in ("/", "/upload", "/login", "/gallery", "/cache", "/no-such-page"):
            client.get(path)
    assert contexts
    for context in contexts:
        assert "config" not in context and "settings" not in context
        shown = repr(sorted((k, repr(v)) for k, v in context.items() if k not in ("request", "session", "g")))
        for secret in ("s3cr3t-key", "pa55word", "t0ken-1"):
            assert secret not in shown


def test_sizes_read_the_same_everywhere(client):
    """MB is 1024 × 1024 bytes in settings, limits and messages alike."""
    assert format_mb(25 * MB) == "25 MB" and format_mb(26.2 * MB) == "26.2 MB" and format_mb(0.05 * MB) == "0.05 MB"
    with pytest.raises(Exception, match="the limit is 25 MB"):
        check_size(b"x" * (25 * MB + 1), 25 * MB)
    assert "up to 25 MB and" in client.get("/upload").get_data(as_text=True)
