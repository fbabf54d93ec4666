"""Pages show, and their scripts enforce, the limits the server checks: rendered from the code."""

from __future__ import annotations

import re

from app.core import keys
from app.imaging import formats
from app.processing import MAX_STEPS
from app.recognition import shape


def attributes(page: str, name: str) -> set[str]:
    return set(re.findall(rf'\b{name}="([^"]*)"', page))


def test_key_fields_follow_the_key_length(client, monkeypatch):
    monkeypatch.setattr(keys, "MAX_KEY_LENGTH", 77)
    for path in ("/upload", "/browse", "/gallery", "/process", "/recognize"):
        assert attributes(client.get(path).get_data(as_text=True), "maxlength") & {"77"}, path
    upload = client.get("/upload").get_data(as_text=True)
    assert r'pattern="[A-Za-z0-9._\-\/]{1,77}"' in upload


def test_file_fields_accept_the_format_table(client):
    accept = formats.ACCEPT
    for path in ("/upload", "/process", "/recognize"):
        assert attributes(client.get(path).get_data(as_text=True), "accept") == {accept}, path
    assert formats.ACCEPTED in client.get("/upload").get_data(as_text=True)


def test_process_page_carries_the_step_limit_and_extensions(client):
    page = client.get("/process").get_data(as_text=True)
    assert f'data-max-steps="{MAX_STEPS}"' in page
    assert {'data-extension=".jpg"', 'data-extension=".png"', 'data-extension=".webp"'} <= set(
        re.findall(r'data-extension="[^"]*"', page)
    )


def test_confidence_slider_follows_the_recognition_bounds(client, monkeypatch):
    monkeypatch.setattr(shape, "MIN_CONFIDENCE_RANGE", (5.0, 95.0))
    page = client.get("/recognize").get_data(as_text=True)
    assert 'type="range" min="5" max="95"' in page
