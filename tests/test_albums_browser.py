"""Albums, smart albums, favourites and the viewer's context in Debian's headless Chromium against
gunicorn: an album made from a selection of 5, one more added from the viewer, a cover chosen and
the order changed by hand; the filter label=cat saved as a smart album, which shows a new cat photo
after its upload; a heart on a tile and one from the viewer (``h``), then the Favourites filter;
and ←/→ past the first page of a search staying inside the search."""

from __future__ import annotations

import io

import pytest
import requests
from conftest import CSRF_META
from PIL import Image
from playwright import sync_api
from servers import ROOT, gunicorn
from test_browser import Console

from app.metadata.sqlite import SqliteMetadataStore

pytestmark = pytest.mark.browser

PAGE = 48  # GALLERY_PAGE_SIZE's default
CATS = 50  # more than a page of search results
SAMPLES = ["dog.jpg", "horses.jpg", "person.jpg"]


def jpeg(n: int) -> bytes:
    image = Image.open(ROOT / "tests" / "data" / SAMPLES[n % 3]).convert("RGB").resize((240 + n % 5 * 40, 180))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


class Site:
    def __init__(self, base: str, store: SqliteMetadataStore):
        self.base = base
        self.store = store
        self.session = requests.Session()
        self.token = CSRF_META.search(self.session.get(f"{base}/upload", timeout=10).text).group(1)

    def upload(self, key: str, n: int) -> None:
        answer = self.session.post(
            f"{self.base}/api/images",
            data={"key": key},
            files={"file": (key, jpeg(n))},
            headers={"X-CSRFToken": self.token},
            timeout=60,
        )
        assert answer.status_code == 201, answer.text

    def get(self, path: str, **query) -> dict:
        answer = self.session.get(f"{self.base}{path}", params=query, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """gunicorn seeded with 50 photos whose keys say cat and 10 others (a/…); labels go straight
    into the store, as detection would put them."""
    data, logs = tmp_path_factory.mktemp("albums-data"), tmp_path_factory.mktemp("albums-log")
    with gunicorn(
        data,
        logs / "gunicorn.log",
        GALLERY_RATE_LIMIT_UPLOAD="off",
        GALLERY_LABEL_ON_UPLOAD="false",
        SECRET_KEY="albums-test",
    ) as base:
        site = Site(base, SqliteMetadataStore(str(data / "gallery.sqlite3")))
        for n in range(CATS + 10):  # interleaved, so a page of everything mixes both
            site.upload(f"cat/cat-{n:02d}.jpg" if n % 6 else f"a/other-{n:02d}.jpg", n)
        for n in range(10):
            site.upload(f"cat/cat-x{n}.jpg", n)
        yield site


@pytest.fixture
def page(fresh_page):
    fresh_page.console = Console(fresh_page)
    yield fresh_page
    assert fresh_page.console.errors == []


def viewer_open(page) -> None:
    page.wait_for_selector(".pswp--ready")  # the opening animation has ended: keys count


def open_key(page) -> str:
    return page.evaluate("decodeURIComponent(location.hash.replace('#photo=', ''))")


def tile_keys(page) -> list[str]:
    return page.locator("a.tile-key").evaluate_all("links => links.map(a => a.title)")


def tile(page, key: str):
    return page.locator(f'li.tile:has(a.tile-key[title="{key}"])')


def test_album_from_a_selection_viewer_cover_and_order(site, page):
    page.goto(site.base + "/gallery?prefix=a/")
    chosen = tile_keys(page)[:5]
    for key in chosen:
        page.check(f'input[name="keys"][value="{key}"]')
    page.fill('input[name="new_album"]', "Trip")
    page.click('button[value="album"]')
    page.wait_for_url("**/albums/*")
    assert page.inner_text("#album-name") == "Trip"
    assert page.inner_text("#album-count") == "5"
    album = page.url.rsplit("/", 1)[1]

    # One more from the viewer, opened on the gallery.
    page.goto(site.base + "/gallery?prefix=a/")
    extra = tile_keys(page)[6]
    tile(page, extra).locator("a.tile-photo").click()
    viewer_open(page)
    assert open_key(page) == extra
    page.select_option(".pswp__album select", label="Trip")
    sync_api.expect(page.locator(".pswp__album select")).to_have_attribute("title", "Added to Trip")
    assert [item["key"] for item in site.get("/api/images", album=album)["items"]].count(extra) == 1
    page.keyboard.press("Escape")

    # A cover, then the order by hand: the last photo moved to the front.
    page.goto(f"{site.base}/albums/{album}")
    assert page.inner_text("#album-count") == "6"
    shown = tile_keys(page)
    tile(page, shown[2]).locator('button:has-text("Cover")').click()
    page.wait_for_url(f"**/albums/{album}")
    assert page.inner_text("#album-cover") == shown[2]
    page.check(f'input[name="keys"][value="{shown[-1]}"]')
    page.click('button[value="front"]')
    page.wait_for_url(f"**/albums/{album}")
    assert tile_keys(page) == [shown[-1], *shown[:-1]]
    assert site.get(f"/api/albums/{album}")["sort"] == "manual"

    # The Albums page shows it with its count and cover.
    page.goto(site.base + "/albums")
    card = page.locator(f'li.album-card[data-album="{album}"]')
    assert card.locator(".album-count").inner_text() == "6"
    assert shown[2] in card.locator("img").get_attribute("src")


def test_smart_album_from_the_filter_shows_a_new_cat(site, page):
    for n in (1, 2, 3):
        site.store.set_labels(f"cat/cat-{n:02d}.jpg", ["cat"])
    page.goto(site.base + "/gallery?label=cat")
    assert len(tile_keys(page)) == 3
    page.fill('.save-smart input[name="name"]', "Cats")
    page.click('button:has-text("Save as smart album")')
    page.wait_for_url("**/albums/*")
    assert sorted(tile_keys(page)) == [f"cat/cat-{n:02d}.jpg" for n in (1, 2, 3)]
    site.upload("cat/new-cat.jpg", 7)
    site.store.set_labels("cat/new-cat.jpg", ["cat"])
    page.reload()
    assert "cat/new-cat.jpg" in tile_keys(page) and len(tile_keys(page)) == 4
    page.goto(site.base + "/albums")
    assert page.locator("li.album-card", has_text="Cats").locator("small").inner_text() == "Smart album"


def test_favourite_from_a_tile_and_the_viewer_then_filter(site, page):
    page.goto(site.base + "/gallery?prefix=a/")
    first, second = tile_keys(page)[:2]
    tile(page, first).locator("button.heart").click()
    page.wait_for_load_state()
    sync_api.expect(tile(page, first).locator("button.heart")).to_have_attribute("aria-pressed", "true")
    tile(page, second).locator("a.tile-photo").click()
    viewer_open(page)
    page.keyboard.press("h")
    sync_api.expect(page.locator(".pswp__button--heart-button")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Escape")
    page.goto(site.base + "/gallery")
    page.check('input[name="favourite"]')
    page.click('form.filters button[type="submit"]')
    page.wait_for_url("**favourite=1**")
    assert sorted(tile_keys(page)) == sorted([first, second])


def test_the_viewer_pages_on_inside_a_search(site, page):
    page.goto(site.base + "/gallery?q=cat")
    tiles = page.locator("a.tile-photo")
    sync_api.expect(tiles).to_have_count(PAGE)
    tiles.nth(PAGE - 2).click()
    viewer_open(page)
    seen = [open_key(page)]
    for _ in range(6):  # past the end of the first page: the next ones come through the API
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"!location.hash.endsWith({seen[-1].replace('/', '%2F')!r})")
        seen.append(open_key(page))
    assert len(set(seen)) == 7
    assert all(key.startswith("cat/") for key in seen), seen
