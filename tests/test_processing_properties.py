"""Property tests (Hypothesis) for the processing parameter validators in app/processing.py:
every value inside a parameter's range is accepted as itself, every value outside is refused
with a message naming the parameter and its range, and nothing ever raises anything else."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import InvalidParameter
from app.processing import MAX_STEPS, OPS, normalize_ops, normalize_output, normalize_step
from app.processing.params import NAMED_COLORS

PARAMS = [(op, param) for op, spec in OPS.items() for param in spec.params]
IDS = [f"{op}.{param.name}" for op, param in PARAMS]
# Resize needs one size; give it one the parameter under test does not clash with.
BASE = {"resize": {"width": 10}, "blur": {"kind": "box"}}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


def step_with(op: str, name: str, value) -> dict:
    step = {"op": op, **BASE.get(op, {})}
    if op == "resize" and name in ("width", "height", "scale"):
        step = {"op": op}
    step[name] = value
    return step


def inside(param):
    if param.kind == "int":
        values = st.integers(int(param.lo), int(param.hi))
        return values.filter(lambda v: v % 2 == 1) if param.odd else values
    if param.kind == "float":
        return st.floats(param.lo, param.hi, allow_nan=False)
    if param.kind == "choice":
        return st.sampled_from(param.choices)
    if param.kind == "bool":
        return st.booleans()
    return st.from_regex(r"#[0-9a-f]{8}", fullmatch=True)


def outside(param):
    if param.kind in ("int", "float"):
        below = st.floats(max_value=param.lo, exclude_max=True) | st.integers(max_value=math.floor(param.lo) - 1)
        above = st.floats(min_value=param.hi, exclude_min=True) | st.integers(min_value=math.ceil(param.hi) + 1)
        return below | above | st.just(float("nan")) | st.just(float("inf")) | st.booleans()
    if param.kind == "choice":
        # Blank means "the default", by design, so it is not out of range.
        return st.text(max_size=12).filter(lambda t: t.strip() and t.strip().lower() not in param.choices)
    if param.kind == "bool":
        return st.text(max_size=6).filter(
            lambda t: t.strip().lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off", "")
        )
    return st.text(max_size=12).filter(
        lambda t: not t.strip().startswith("#") and t.strip().lower() not in NAMED_COLORS and t.strip()
    )


def applicable(op, param, step):
    """Parameters that only make sense together (blur kind vs size) are checked as a pair."""
    try:
        return normalize_step(step)
    except InvalidParameter as exc:
        assert param.name in str(exc) or "size must be" in str(exc), str(exc)
        return None


@pytest.mark.parametrize(("op", "param"), PARAMS, ids=IDS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_values_inside_the_range_are_kept(op, param, data):
    value = data.draw(inside(param))
    step = applicable(op, param, step_with(op, param.name, value))
    if step is None:
        return
    got = step[param.name]
    assert got == (pytest.approx(value) if param.kind == "float" else value)
    assert normalize_step(step) == step, "normalising is idempotent"
    assert normalize_step(json.loads(json.dumps(step))) == step, "survives a JSON round trip"


@pytest.mark.parametrize(("op", "param"), PARAMS, ids=IDS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_values_outside_the_range_are_refused_by_name(op, param, data):
    value = data.draw(outside(param))
    with pytest.raises(InvalidParameter) as refused:
        normalize_step(step_with(op, param.name, value))
    message = refused.value.message
    assert message.startswith(f"Step 1 ({op}): {param.name} must be"), message
    assert param.range_text() in message


@settings(max_examples=300, deadline=None)
@given(
    ops=json_values
    | st.text(max_size=40)
    | st.lists(
        st.dictionaries(st.sampled_from(["op", *sorted({p.name for _, p in PARAMS})]), json_values, max_size=4),
        max_size=MAX_STEPS + 2,
    )
)
def test_any_pipeline_is_normalised_or_refused_cleanly(ops):
    try:
        steps = normalize_ops(ops)
    except InvalidParameter as exc:
        assert exc.status == 400 and len(exc.message) > 10
        return
    assert isinstance(steps, list) and len(steps) <= MAX_STEPS
    assert normalize_ops(json.dumps(steps)) == steps


@settings(max_examples=200, deadline=None)
@given(fmt=json_values | st.sampled_from(["jpeg", "jpg", "png", "webp", "JPEG ", ""]), quality=json_values)
def test_output_options_are_normalised_or_refused_cleanly(fmt, quality):
    try:
        result_fmt, result_quality = normalize_output(fmt, quality)
    except InvalidParameter as exc:
        assert exc.message.startswith(("format must be", "Output: quality must be")), exc.message
        return
    assert result_fmt in (None, "jpeg", "png", "webp")
    assert result_quality is None or 1 <= result_quality <= 100
    if result_fmt == "png":
        assert result_quality is None
