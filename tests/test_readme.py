"""README.md and docs/ stay true: the configuration table is generated from app/config.py, the README
stays short and links every page of docs/, every relative link and anchor resolves, every path,
setting and make target they name exists, the layout in docs/architecture.md names exactly the
packages under app/, the operation table the registered operations, and the API's curl examples
work as written."""

import io
import re
import shlex
import unicodedata
from pathlib import Path

from conftest import CSRF_META, make_app, make_image

from app.config import OPTIONS
from app.processing import OPS
from app.settings_table import markdown_table

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_LINES = 200  # a newcomer reads it in five minutes (issue 18)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)|<img [^>]*src=\"([^\"]+)\"")


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def without_code(text: str) -> str:
    """The text outside fenced code blocks (a link or heading shown as code is not one)."""
    return re.sub(r"^ *```.*?^ *```", "", text, flags=re.S | re.M)


def links(page: Path) -> list[str]:
    return [a or b for a, b in LINK.findall(without_code(page.read_text()))]


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1 for repeats."""
    found, seen = set(), {}
    for heading in re.findall(r"^#{1,6} +(.+?) *$", without_code(page.read_text()), flags=re.M):
        slug = "".join(c for c in heading.lower() if c in "-_ " or unicodedata.category(c)[0] in "LN").replace(" ", "-")
        found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return found


def test_readme_configuration_table_is_current():
    text = README.read_text()
    start = text.index("<!-- config-table:start -->") + len("<!-- config-table:start -->")
    end = text.index("<!-- config-table:end -->")
    assert text[start:end].strip() == markdown_table(), "run `make docs` to regenerate the README table"


def test_readme_is_short():
    lines = len(README.read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail to a page of docs/"


def test_every_page_of_docs_is_linked_from_the_readme():
    linked = {(README.parent / target.split("#")[0]).resolve() for target in links(README)}
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not missing, f"README.md links no {missing}"


def test_every_relative_link_points_at_something_that_exists():
    broken = []
    for page in pages():
        for target in links(page):
            if re.match(r"[a-z]+:", target):  # https:, mailto:: not ours to check offline
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_make_targets_named_in_the_readme_exist():
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), flags=re.M))
    named = set(re.findall(r"`make ([\w-]+)", README.read_text()))
    assert named and named <= targets, f"README names make targets the Makefile lacks: {named - targets}"


def test_the_architecture_layout_names_exactly_the_packages_under_app():
    text = (DOCS / "architecture.md").read_text()
    section = text[text.index("## Layout") :]
    block = re.search(r"```\n(.*?)```", section, re.S).group(1)
    named = set(re.findall(r"(?<![\w/])(app/(?:\w+/)*)", block))
    packages = {
        f"{folder.relative_to(ROOT).as_posix()}/"
        for folder in [ROOT / "app", *(ROOT / "app").rglob("*")]
        if folder.is_dir() and folder.name != "__pycache__" and any(folder.glob("*.py"))
    }
    assert named == packages, (
        f"missing from docs/architecture.md: {sorted(packages - named)}; gone: {sorted(named - packages)}"
    )


def test_the_operations_table_lists_every_registered_operation():
    text = (DOCS / "features.md").read_text()
    section = text[text.index("## Image Processing") : text.index("## Image Recognition")]
    listed = re.findall(r"^\| `(\w+)` \|", section, flags=re.M)
    assert sorted(listed) == sorted(OPS), "docs/features.md's operation table and app/processing/ops/ differ"


# -- the curl examples of docs/api.md, replayed over HTTPS with the test client --------------------
SITE = "https://gallery.example.com"
API_TOKEN = "readme-token-0123456789"


def curl_examples() -> list[list[str]]:
    """Every curl command of docs/api.md's "With curl", as argument lists (continuations joined)."""
    text = (DOCS / "api.md").read_text()
    section = text[text.index("**With curl**") : text.index("## Errors")]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith("curl "):
                commands.append(shlex.split(line, comments=True))
    return commands


def replay(client, argv: list[str], variables: dict[str, str], tmp_path):
    """What curl would send, sent by the Flask test client (which keeps cookies like ``-c/-b jar``)."""
    expand = lambda arg: re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], arg)  # noqa: E731
    args, headers, form, url = iter(argv[1:]), {}, {}, None
    for arg in args:
        if arg == "-s":
            continue
        if arg == ">":  # the output goes to a file: the test reads the response instead
            break
        if arg in ("-c", "-b"):
            next(args)  # the cookie jar: the test client keeps cookies itself
        elif arg == "-H":
            name, _, value = expand(next(args)).partition(": ")
            headers[name] = value
        elif arg == "-e":
            headers["Referer"] = expand(next(args))
        elif arg == "-F":
            name, _, value = expand(next(args)).partition("=")
            form[name] = (io.BytesIO((tmp_path / value[1:]).read_bytes()), value[1:]) if value[:1] == "@" else value
        else:
            url = expand(arg)
    assert url and url.startswith(SITE), argv
    path = url[len(SITE) :]
    if form:
        return client.post(path, data=form, headers=headers, base_url=SITE, content_type="multipart/form-data")
    return client.get(path, headers=headers, base_url=SITE)


def test_the_curl_examples_work_as_written_over_https(tmp_path):
    (tmp_path / "beach.jpg").write_bytes(make_image("JPEG"))
    cookie_way, bearer_way = curl_examples()[:2], curl_examples()[2:]
    assert len(cookie_way) == 2 and len(bearer_way) == 1

    open_app = make_app(tmp_path / "open")
    client = open_app.test_client()
    page = replay(client, cookie_way[0], {"site": SITE}, tmp_path)
    token = CSRF_META.search(page.get_data(as_text=True)).group(1)  # what the grep line extracts
    stored = replay(client, cookie_way[1], {"site": SITE, "token": token}, tmp_path)
    assert stored.status_code == 201, stored.get_json()
    # Flask-WTF's strict referrer check stays on for HTTPS: the example's -e is what passes it.
    referer = cookie_way[1].index("-e")
    no_referer = cookie_way[1][:referer] + cookie_way[1][referer + 2 :]
    refused = replay(client, no_referer, {"site": SITE, "token": token}, tmp_path)
    assert refused.status_code == 400 and "referrer" in refused.get_json()["error"]["message"].lower()

    protected = make_app(tmp_path / "protected", GALLERY_API_TOKENS=API_TOKEN)
    stored = replay(protected.test_client(), bearer_way[0], {"site": SITE, "GALLERY_TOKEN": API_TOKEN}, tmp_path)
    assert stored.status_code == 201, stored.get_json()


def test_every_path_the_docs_name_exists():
    """A file or folder written as code (`app/runtime/work.py`, `tests/test_x.py::test_y`, a glob) is there."""
    path = re.compile(r"(?<![\w/.-])((?:app|bench|tests|deploy|static|templates|docs)/[\w./*-]*\w/?)")
    missing = []
    for page in pages():
        for span in re.findall(r"`([^`\n]+)`", without_code(page.read_text())):
            missing += [f"{page.name}: {p}" for p in path.findall(span) if not any(ROOT.glob(p.rstrip("/")))]
    assert not missing, "\n".join(missing)


def test_every_setting_the_docs_name_is_declared():
    """A `GALLERY_*` variable in the README or docs/ is an option of app/config.py (`GALLERY_RATE_LIMIT_*`:
    some are; `$GALLERY_TOKEN`, a shell variable of an example, is not a setting)."""
    declared = {option.name for option in OPTIONS}
    unknown = set()
    for page in pages():
        for name, wildcard in re.findall(r"(?<!\$)\b(GALLERY_[A-Z0-9_]*[A-Z0-9])(_\*)?", page.read_text()):
            if not (any(d.startswith(name + "_") for d in declared) if wildcard else name in declared):
                unknown.add(f"{page.name}: {name}{wildcard}")
    assert not unknown, "\n".join(sorted(unknown))


def test_the_longest_first_modules_exist():
    """conftest.LONGEST_FIRST and LAST order the run by module name: a renamed or removed module would
    silently fall back to the end of the queue."""
    from conftest import LAST, LONGEST_FIRST

    missing = [name for name in LONGEST_FIRST + LAST if not (Path(__file__).parent / f"{name}.py").is_file()]
    assert missing == []
