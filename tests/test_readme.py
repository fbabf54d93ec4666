"""The README's configuration table is generated from app/config.py and must be current."""

from pathlib import Path

from app.config import markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_configuration_table_is_current():
    text = README.read_text()
    start = text.index("<!-- config-table:start -->") + len("<!-- config-table:start -->")
    end = text.index("<!-- config-table:end -->")
    assert text[start:end].strip() == markdown_table(), "run `make docs` to regenerate the README table"
