"""Uploads that know the library, in a real Chromium against gunicorn: a dropped folder tree keeps
its paths as keys, and a photo already stored is skipped by default with "already in the gallery
as <key>", with Keep both still offered."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests
from playwright import sync_api
from servers import gunicorn
from test_browser import drop_files

pytestmark = pytest.mark.browser

DATA = Path(__file__).parent / "data"
TREE = {"cam1/IMG_0001.jpg": "dog.jpg", "cam1/IMG_0002.jpg": "horses.jpg", "cam 2/IMG_0001.jpg": "person.jpg"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data, logs = tmp_path_factory.mktemp("library-data"), tmp_path_factory.mktemp("library-log")
    with gunicorn(data, logs / "gunicorn.log", SECRET_KEY="browser-test", GALLERY_LABEL_ON_UPLOAD="false") as base:
        yield base


@pytest.fixture(scope="module")
def page_options(page_options):
    return {**page_options, "viewport": {"width": 1280, "height": 900}, "timeout": 30_000}


@pytest.fixture
def page(fresh_page):
    errors = []
    fresh_page.on("pageerror", lambda exc: errors.append(str(exc)))
    fresh_page.errors = errors
    return fresh_page


def folder_tree(root: Path) -> Path:
    for relative, photo in TREE.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DATA / photo, root / relative)
    return root


def drop_folder(page, folder: Path) -> None:
    """A real drop of a folder from the file manager, as Chromium's input layer delivers it."""
    session = page.context.new_cdp_session(page)
    data = {"items": [], "files": [str(folder)], "dragOperationsMask": 1}
    for kind in ("dragEnter", "dragOver", "drop"):
        session.send("Input.dispatchDragEvent", {"type": kind, "x": 200, "y": 200, "data": data})


def keys(server: str, prefix: str) -> list[str]:
    items = requests.get(f"{server}/api/images", params={"prefix": prefix}, timeout=10).json()["items"]
    return sorted(item["key"] for item in items)


def test_a_dropped_folder_keeps_its_paths_and_a_stored_photo_is_skipped(server, page, tmp_path):
    page.goto(server + "/upload")
    drop_folder(page, folder_tree(tmp_path / "holiday"))
    sync_api.expect(page.locator("#upload-progress .status.ok")).to_have_count(3, timeout=60_000)
    assert keys(server, "holiday/") == [
        "holiday/cam-2/IMG_0001.jpg",
        "holiday/cam1/IMG_0001.jpg",
        "holiday/cam1/IMG_0002.jpg",
    ]
    assert "cam 2/IMG_0001.jpg → holiday/cam-2/IMG_0001.jpg" in page.inner_text("#upload-progress")
    assert page.inner_text("#upload-summary") == "3 stored."

    # The same dog again, under another name: skipped by default, and the row says where it is.
    page.goto(server + "/upload")
    drop_files(page, "#dropzone", ["dog.jpg"])
    row = page.locator("#upload-progress li.duplicate")
    sync_api.expect(row).to_contain_text("Already in the gallery as holiday/cam1/IMG_0001.jpg", timeout=30_000)
    sync_api.expect(page.locator("#upload-summary")).to_have_text("0 stored, 1 already in the gallery (skipped).")
    assert requests.get(f"{server}/api/images/dog.jpg", timeout=5).status_code == 404

    # Keep both, after all: stored under its own name.
    row.get_by_role("button", name="Keep both").click()
    sync_api.expect(page.locator("#upload-summary")).to_have_text("1 stored.", timeout=30_000)
    assert requests.get(f"{server}/api/images/dog.jpg", timeout=5).status_code == 200
    assert page.errors == []


def test_the_folder_picker_keeps_paths_too(server, page, tmp_path):
    page.goto(server + "/upload")
    tree = tmp_path / "picked"
    shutil.copy(DATA / "person.jpg", (tree / "people").mkdir(parents=True) or tree / "people" / "p.jpg")
    page.check('input[name="on_duplicate"][value="keep"]')  # the person is stored already
    page.set_input_files("#folder", str(tree))
    sync_api.expect(page.locator("#upload-progress .status.ok")).to_have_count(1, timeout=60_000)
    assert keys(server, "picked/") == ["picked/people/p.jpg"]
    assert page.errors == []
