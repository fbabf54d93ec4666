"""The shape the code keeps as it grows: small modules and classes with one job each
(issue "one clear house": no module in app/ over 500 lines, no class over 300)."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 300


def modules():
    return sorted(APP.rglob("*.py"))


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(APP)): n for p in modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these modules (lines): {long}"


def test_no_class_is_over_300_lines():
    long = {}
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and (n := node.end_lineno - node.lineno + 1) > MAX_CLASS_LINES:
                long[f"{path.relative_to(APP)}:{node.name}"] = n
    assert not long, f"split these classes (lines): {long}"


def test_the_old_centre_is_gone():
    for gone in ("gallery.py", "buffered_worker.py", "web/openapi.py"):
        assert not (APP / gone).exists(), gone
