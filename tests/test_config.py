"""Settings: read once from the environment into a frozen, typed object; templates see only what they show."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import make_app
from flask import template_rendered

from app.config import OPTIONS, Settings, load_settings
from app.core.units import MB, format_mb
from app.imaging.images import check_size


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
    with pytest.raises(SystemExit, match="GALLERY_MAX_PIXELS='many'"):
        load_settings(environ={"GALLERY_MAX_PIXELS": "many"})


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
