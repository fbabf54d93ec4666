"""The README's configuration table is generated from app/config.py and must be current."""

import io
import re
import shlex
from pathlib import Path

from conftest import CSRF_META, make_app, make_image

from app.config import markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_configuration_table_is_current():
    text = README.read_text()
    start = text.index("<!-- config-table:start -->") + len("<!-- config-table:start -->")
    end = text.index("<!-- config-table:end -->")
    assert text[start:end].strip() == markdown_table(), "run `make docs` to regenerate the README table"


# -- the curl examples of "JSON API", replayed over HTTPS with the test client -------------------
SITE = "https://gallery.example.com"
API_TOKEN = "readme-token-0123456789"


def curl_examples() -> list[list[str]]:
    """Every curl command in the JSON API section, as argument lists (continuations joined)."""
    text = README.read_text()
    section = text[text.index("**Writes need a CSRF token**") : text.index("## Deploying to AWS")]
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
