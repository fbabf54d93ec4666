"""On Lambda the app refuses the in-process cache at start-up, with every problem named at once."""

from __future__ import annotations

import pytest
from conftest import make_app

from app.runtime import startup


@pytest.fixture
def on_lambda(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "cloud-image-gallery-dev")


def test_the_in_process_cache_is_refused_on_lambda(on_lambda, tmp_path):
    with pytest.raises(SystemExit) as refused:
        make_app(tmp_path, GALLERY_CACHE="memory", GALLERY_API_TOKENS="t0ken")
    message = str(refused.value)
    assert "GALLERY_CACHE=memory" in message and "GALLERY_CACHE=memcached" in message and "none" in message


@pytest.mark.parametrize("cache", ["memcached", "none"])
def test_a_shared_cache_or_none_starts_on_lambda(on_lambda, tmp_path, cache):
    app = make_app(tmp_path, GALLERY_CACHE=cache, GALLERY_API_TOKENS="t0ken")
    assert app.extensions["services"].cache.kind == cache


def test_every_problem_is_reported_at_once(on_lambda, tmp_path, monkeypatch):
    monkeypatch.setattr(startup, "CHECKS", [*startup.CHECKS, lambda settings, environ: ["GALLERY_OTHER is wrong too."]])
    with pytest.raises(SystemExit) as refused:
        make_app(tmp_path, GALLERY_CACHE="memory", GALLERY_API_TOKENS="t0ken")
    assert str(refused.value).count("\n- ") == 2 and "GALLERY_OTHER" in str(refused.value)


def test_off_lambda_the_in_process_cache_is_the_default(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    assert make_app(tmp_path).extensions["services"].cache.kind == "memory"
