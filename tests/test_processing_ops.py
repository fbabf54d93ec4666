"""Operations as classes (app/processing/ops/, one module each): a new operation registered from
here goes through normalisation, the schema, pricing, execution, previews and captions with no
other change; nothing outside the operations branches on an operation's name; and previews are
planned on the sizes their steps really produce, never larger than the display."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest

from app import processing as P
from app.core.errors import InvalidParameter, OverBudget
from app.processing import budget
from app.processing.operation import OPS, Operation, register
from app.processing.params import PREVIEW_SIDE, Param
from app.processing.preview import make_rendition, plan_preview, preview_steps, render_preview
from app.web.describe import describe_steps

APP = Path(__file__).resolve().parent.parent / "app"


class Invert(Operation):
    """A throwaway operation, written as a module in app/processing/ops/ would write it."""

    name = "invert"
    help = "Invert the levels, by strength (1: a full negative)."
    params = (Param("strength", "float", 1.0, 0, 1, help="How far towards the negative."),)

    def cpu_ns(self, p: dict) -> float:
        return 1.5

    def memory(self, p: dict) -> float:
        return 2

    def run(self, img, p: dict):
        top = np.iinfo(img.dtype).max
        s = p["strength"]
        return (img * (1 - s) + (top - img.astype(np.float32)) * s).round().astype(img.dtype)

    def caption(self, p: dict) -> str:
        return f"Invert {p['strength']:.0%}"


@pytest.fixture
def invert():
    before = dict(OPS)
    register(Invert)
    yield OPS["invert"]
    OPS.clear()
    OPS.update(before)


def png(img: np.ndarray) -> bytes:
    return cv2.imencode(".png", img)[1].tobytes()


def test_a_new_operation_needs_only_its_own_class(invert):
    bgr = np.random.default_rng(1).integers(0, 256, (120, 160, 3), np.uint8)
    data = png(bgr)
    steps = P.normalize_ops([{"op": "resize", "width": 80}, {"op": "invert", "strength": "0.5"}])
    assert steps[1] == {"op": "invert", "strength": 0.5}
    with pytest.raises(InvalidParameter, match=r"Step 1 \(invert\): strength must be a number from 0 to 1; got 2"):
        P.normalize_ops([{"op": "invert", "strength": 2}])
    with pytest.raises(InvalidParameter, match="unknown parameter 'radius'"):
        P.normalize_ops([{"op": "invert", "radius": 2}])

    schema = {"type": "array", "items": P.step_schema()}
    jsonschema.validate([{"op": "invert", "strength": 0.25}], schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{"op": "invert", "strength": 3}], schema)

    job = P.prepare(data, steps, "png")
    without = budget.estimate(P.prepare(data, steps[:1], "png"), len(data))
    assert budget.estimate(job, len(data)).seconds > without.seconds  # priced at its step
    with pytest.raises(OverBudget, match="would cost"):
        budget.check(job, len(data), 1e-9, 1 << 40)

    result = cv2.imdecode(np.frombuffer(P.execute(data, job).data, np.uint8), cv2.IMREAD_UNCHANGED)
    half = cv2.resize(bgr, (80, 60), interpolation=cv2.INTER_AREA)
    assert np.abs(result.astype(int) - ((half * 0.5 + (255 - half.astype(np.float32)) * 0.5).round())).max() <= 1
    assert np.array_equal(invert(bgr, strength=1), 255 - bgr)

    assert preview_steps(steps, (160, 120), (160, 120), P.DEFAULT_MAX_PIXELS)[1] == steps[1]
    assert describe_steps({"ops": steps}) == ["Resize: width 80 px, fit contain, interpolation auto", "Invert 50%"]


def test_the_cost_of_a_new_operation_is_priced_at_its_step():
    class Costly(Invert):
        name = "costly"

        def cpu_ns(self, p: dict) -> float:
            return 1000

    before = dict(OPS)
    try:
        register(Costly)
        data = png(np.zeros((100, 100, 3), np.uint8))
        found = budget.estimate(P.prepare(data, [{"op": "flip"}, {"op": "costly"}], "jpeg"), len(data))
        assert found.costliest == "step 2 (costly)"
    finally:
        OPS.clear()
        OPS.update(before)


def test_an_operation_without_a_cost_or_pixels_cannot_be_registered():
    class Unpriced(Operation):
        name = "unpriced"
        help = "No cost, no pixels."

    with pytest.raises(TypeError):
        register(Unpriced)
    assert "unpriced" not in OPS


def test_nothing_outside_the_operations_branches_on_an_operation_name():
    compare = re.compile(r"""(\bop\b|\[["']op["']\]|get\(["']op["']\))\s*(==|!=)""")
    found = [
        f"{path.relative_to(APP)}:{n}: {line.strip()}"
        for path in APP.rglob("*.py")
        if "ops" not in path.relative_to(APP).parts
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if compare.search(line)
    ]
    assert found == []


def test_the_step_schema_matches_the_validators():
    schema = {"type": "array", "items": P.step_schema()}
    assert [entry["properties"]["op"]["const"] for entry in P.step_schema()["oneOf"]] == list(OPS)
    for op in OPS.values():
        step = {"op": op.name, **({"width": 10} if op.name == "resize" else {})}
        jsonschema.validate([step], schema)
        for param in op.params:
            if param.hi is not None:
                with pytest.raises(jsonschema.ValidationError):
                    jsonschema.validate([{**step, param.name: param.hi + 1}], schema)
                with pytest.raises(InvalidParameter, match=param.name):
                    P.normalize_step({**step, param.name: param.hi + 1})


# ----------------------------------------------------------------------------- previews (issue 23)


@pytest.fixture(scope="module")
def rgba16() -> bytes:
    """A 1600×1600 16-bit RGBA PNG (smooth, so small): as large as a preview rendition gets."""
    y, x = np.mgrid[0:1600, 0:1600]
    img = np.dstack([(x * 40) % 65536, (y * 40) % 65536, ((x + y) * 20) % 65536, np.full_like(x, 65535)])
    return png(img.astype(np.uint16))


WORST = [{"op": "rotate", "angle": 45}] * 4 + [{"op": "sharpen", "radius": 50}] * 6


def test_a_preview_of_growing_steps_works_at_display_size_and_is_priced_on_it(rgba16):
    steps = P.normalize_ops(WORST)
    # At full size: four 45° turns grow the canvas to 6403² (41 MP) and the sharpens cost minutes.
    full = budget.estimate(P.prepare(rgba16, steps, "png"), len(rgba16))
    assert full.seconds > 100
    planned = plan_preview(make_rendition(rgba16, P.DEFAULT_MAX_PIXELS), steps, None, None, P.DEFAULT_MAX_PIXELS)
    assert (planned.full_width, planned.full_height) == (6403, 6403)
    # Every image the preview makes fits the display: each turn gets its input brought down first.
    assert all(max(s.largest) <= PREVIEW_SIDE for s in planned.job.plan.sizings)
    assert max(planned.job.plan.sizes[-1]) == PREVIEW_SIDE
    # The sharpens work at the preview's real scale (1600 / 6403 of their radius), priced on it.
    assert [round(s["radius"], 1) for s in planned.job.steps if s["op"] == "sharpen"] == [12.5] * 6
    preview = budget.check(planned.job, planned.data_bytes, 8.0, 768 << 20)
    assert preview.seconds < full.seconds / 20 and preview.peak_bytes < 256 << 20


def test_a_preview_runs_what_it_planned(rgba16):
    steps = P.normalize_ops(WORST[:4] + [{"op": "sharpen", "radius": 2}])
    rendition = make_rendition(rgba16, P.DEFAULT_MAX_PIXELS)
    shown = render_preview(rendition, steps, None, None, P.DEFAULT_MAX_PIXELS, 8.0, 768 << 20)
    assert (shown.full_width, shown.full_height) == (6403, 6403)
    assert (shown.rendered.width, shown.rendered.height) == (PREVIEW_SIDE, PREVIEW_SIDE)
    with pytest.raises(OverBudget):
        render_preview(rendition, steps, None, None, P.DEFAULT_MAX_PIXELS, 0.01, 768 << 20)


def test_a_preview_step_that_fits_the_display_is_left_alone():
    steps = P.normalize_ops([{"op": "rotate", "angle": 30}, {"op": "resize", "scale": 2}])
    out = preview_steps(steps, (4000, 3000), (800, 600), P.DEFAULT_MAX_PIXELS)
    assert [s["op"] for s in out] == ["rotate", "resize"]  # 800×600 turned by 30° is 993×920
    out = preview_steps(steps, (1600, 1200), (1600, 1200), P.DEFAULT_MAX_PIXELS)
    assert [s["op"] for s in out] == ["resize", "rotate", "resize"]
    assert max(out[0]["width"], out[0]["height"]) < 1600 and max(out[2]["width"], out[2]["height"]) == 1600
