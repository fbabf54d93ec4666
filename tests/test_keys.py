"""Key rules: 1–255 characters of ``A-Z a-z 0-9 . _ - /``, no leading or trailing '/', no empty,
'.' or '..' segment. The property tests compare ``validate_key`` with the grammar written out
independently here, over both random text and keys built to be valid."""

from __future__ import annotations

import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.core.errors import InvalidKey
from app.core.keys import MAX_KEY_LENGTH, is_valid_key, validate_key, validate_prefix

ALLOWED = set(string.ascii_letters + string.digits + "._-/")
# Characters that look allowed to a Unicode-aware matcher but are not in the grammar.
LOOKALIKES = "\u0661\u00e9\u212a\u017f\uff21\u2024\u2044\u2215 \t\n\\%*?:"


def grammar(key: str) -> bool:
    """The issue's key grammar, stated directly."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        return False
    if any(ch not in ALLOWED for ch in key):
        return False
    # A leading or trailing '/' makes an empty first or last segment.
    return all(segment not in ("", ".", "..") for segment in key.split("/"))


near_keys = st.text(alphabet=st.sampled_from(sorted(ALLOWED) + list(LOOKALIKES)), max_size=300)
segment = st.text(alphabet=st.sampled_from(sorted(ALLOWED - {"/"})), min_size=1, max_size=20).filter(
    lambda s: s not in (".", "..")
)
valid_keys = st.lists(segment, min_size=1, max_size=12).map("/".join).filter(lambda k: len(k) <= MAX_KEY_LENGTH)


@settings(max_examples=400, deadline=None)
@given(st.one_of(near_keys, st.text(max_size=300)))
@example("a" * 255)
@example("a" * 256)
@example("a/./b")
@example("a/../b")
@example("..a/b..")
@example("a\n")
@example("\u212a")  # Kelvin sign: matches 'k' only under case-insensitive Unicode rules
def test_validate_key_accepts_exactly_the_grammar(key):
    if grammar(key):
        assert validate_key(key) == key
        assert is_valid_key(key)
    else:
        with pytest.raises(InvalidKey) as raised:
            validate_key(key)
        assert raised.value.status == 400
        assert raised.value.message
        assert not is_valid_key(key)


@settings(max_examples=200, deadline=None)
@given(valid_keys)
def test_every_key_built_from_the_grammar_is_accepted(key):
    assert validate_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "a/",
        "a//b",
        ".",
        "..",
        "a/./b",
        "a b",
        "a%2fb",
        "ümlaut",
        "a" * 256,
        "",
    ],
)
def test_bad_keys_are_rejected_with_a_clear_message(key):
    with pytest.raises(InvalidKey) as raised:
        validate_key(key)
    assert raised.value.code == "invalid_key"
    assert len(raised.value.message) > 10


@pytest.mark.parametrize("key", [None, 5, b"abc", ["a"]])
def test_non_strings_are_rejected(key):
    with pytest.raises(InvalidKey):
        validate_key(key)


@pytest.mark.parametrize("key", ["a", "A", "a/b", "holidays/2024/beach.jpg", "...", ".a/b.", "a" * 255, "_-."])
def test_good_keys_are_returned_unchanged(key):
    assert validate_key(key) == key


def test_message_names_the_disallowed_characters():
    with pytest.raises(InvalidKey) as raised:
        validate_key("bad key?")
    assert "' '" in raised.value.message and "'?'" in raised.value.message


@pytest.mark.parametrize("prefix", [None, "", "a", "a/", "holidays/2024_", "_"])
def test_validate_prefix_accepts_runs_of_allowed_characters(prefix):
    assert validate_prefix(prefix) == (prefix or "")


@pytest.mark.parametrize("prefix", ["a%", "a b", "<script>", "a" * 256, 7])
def test_validate_prefix_rejects_others(prefix):
    with pytest.raises(InvalidKey):
        validate_prefix(prefix)
