"""The operations against references, parameter bounds, odd inputs and the pipeline."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from app import processing as P
from app.core.errors import InvalidParameter, NotAnImage, TooLarge

DOG = (Path(__file__).parent / "data" / "dog.jpg").read_bytes()


@pytest.fixture(scope="module")
def bgr():
    """A real photo with structure, as OpenCV sees it (640×480, BGR)."""
    return cv2.imdecode(np.frombuffer(DOG, np.uint8), cv2.IMREAD_COLOR)


def png_bytes(array: np.ndarray, **save_args) -> bytes:
    ok, buf = cv2.imencode(".png", array)
    assert ok
    if not save_args:
        return buf.tobytes()
    im = Image.open(io.BytesIO(buf.tobytes()))
    out = io.BytesIO()
    im.save(out, "PNG", **save_args)
    return out.getvalue()


def decoded(result: P.Result) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(result.data, np.uint8), cv2.IMREAD_UNCHANGED)


# ----------------------------------------------------------------------------- crop and flip


def test_crop_keeps_the_box(bgr):
    assert np.array_equal(P.OPS["crop"](bgr, x=10, y=20, width=100, height=50), bgr[20:70, 10:110])
    assert np.array_equal(P.OPS["crop"](bgr, x=600, y=400), bgr[400:, 600:])  # empty sides reach the edges
    assert P.OPS["crop"](bgr).shape == bgr.shape


@pytest.mark.parametrize(
    "box", [{"x": 600, "width": 41}, {"y": 480}, {"x": 640}, {"y": 1, "height": 480}, {"width": 641}]
)
def test_crop_past_the_edge_is_refused_with_the_image_size(bgr, box):
    with pytest.raises(InvalidParameter, match="640×480"):
        P.OPS["crop"](bgr, **box)
    with pytest.raises(InvalidParameter, match=r"Step 2 \(crop\).*640×480") as caught:
        P.run(DOG, [{"op": "flip"}, {"op": "crop", **box}])
    assert "x + width ≤ 640" in caught.value.message


def test_crop_bounds_follow_the_steps_before_it():
    # After a resize to 320×240 a box at x=300 of width 40 no longer fits; at full size it does.
    assert P.run(DOG, [{"op": "crop", "x": 300, "width": 40}]).width == 40
    with pytest.raises(InvalidParameter, match="320×240"):
        P.run(DOG, [{"op": "resize", "width": 320}, {"op": "crop", "x": 300, "width": 40}])


@pytest.mark.parametrize(("axis", "flipped"), [("horizontal", 1), ("vertical", 0), ("both", (0, 1))])
def test_flip(bgr, axis, flipped):
    assert np.array_equal(P.OPS["flip"](bgr, axis=axis), np.flip(bgr, flipped))


def test_flip_lets_a_jpeg_decode_reduced_like_a_quarter_turn():
    big = cv2.imencode(".jpg", cv2.resize(cv2.imdecode(np.frombuffer(DOG, np.uint8), 1), (2560, 1920)))[1].tobytes()
    assert P.run(big, [{"op": "flip", "axis": "both"}, {"op": "resize", "width": 640}]).reduce == 4


# ----------------------------------------------------------------------------- rotate


@pytest.mark.parametrize("angle,k", [(90, 1), (180, 2), (270, 3), (-90, 3), (360, 0), (-270, 1)])
def test_quarter_turns_equal_np_rot90(bgr, angle, k):
    assert np.array_equal(P.OPS["rotate"](bgr, angle=angle), np.rot90(bgr, k))


@pytest.mark.parametrize("flip,axis", [("h", 1), ("v", 0)])
def test_flip_after_rotation(bgr, flip, axis):
    assert np.array_equal(P.OPS["rotate"](bgr, angle=90, flip=flip), np.flip(np.rot90(bgr), axis))


def test_any_angle_expands_to_the_rotated_bounds(bgr):
    h, w = bgr.shape[:2]
    out = P.OPS["rotate"](bgr, angle=30)
    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    assert out.shape[:2] == (int(np.ceil(w * s + h * c)), int(np.ceil(w * c + h * s)))
    # The centre pixel stays where it was (rotation about the centre).
    cy, cx = out.shape[0] // 2, out.shape[1] // 2
    assert np.abs(out[cy, cx].astype(int) - bgr[h // 2, w // 2].astype(int)).max() < 40
    # The corners are background.
    assert out[0, 0].tolist() == [0, 0, 0]


def test_rotate_crop_keeps_canvas_and_colours_corners(bgr):
    out = P.OPS["rotate"](bgr, angle=45, expand=False, background="#ff0000")
    assert out.shape == bgr.shape
    assert out[0, 0].tolist() == [0, 0, 255]  # BGR red


def test_quarter_turn_without_expand_keeps_canvas(bgr):
    out = P.OPS["rotate"](bgr, angle=90, expand=False, background="#ffffff")
    h, w = bgr.shape[:2]
    assert out.shape == bgr.shape
    rotated = np.rot90(bgr)  # w×h, taller than the canvas: centre crop vertically, pad horizontally
    pad = (w - h) // 2
    crop = (w - h) // 2
    assert np.array_equal(out[:, pad : pad + h], rotated[crop : crop + h])
    assert (out[:, :pad] == 255).all()


def test_transparent_background_adds_alpha(bgr):
    out = P.OPS["rotate"](bgr, angle=30, background="transparent")
    assert out.shape[2] == 4
    assert out[0, 0, 3] == 0
    assert out[out.shape[0] // 2, out.shape[1] // 2, 3] == 255


# ----------------------------------------------------------------------------- color


def test_gray_equals_cvtcolor(bgr):
    assert np.array_equal(P.OPS["color"](bgr, mode="gray"), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))


def test_invert_and_rgb_swap(bgr):
    assert np.array_equal(P.OPS["color"](bgr, mode="invert"), 255 - bgr)
    assert np.array_equal(P.OPS["color"](bgr, mode="rgb_swap"), bgr[:, :, ::-1])


def test_sepia_matches_the_matrix(bgr):
    out = P.OPS["color"](bgr, mode="sepia")
    b, g, r = (bgr[..., i].astype(np.float64) for i in range(3))
    expected_red = np.clip(0.393 * r + 0.769 * g + 0.189 * b, 0, 255)
    assert np.abs(out[..., 2] - expected_red).max() <= 1


@pytest.mark.parametrize(
    "mode,code", [("hsv", cv2.COLOR_BGR2HSV_FULL), ("lab", cv2.COLOR_BGR2Lab), ("ycrcb", cv2.COLOR_BGR2YCrCb)]
)
def test_false_colour_puts_components_in_r_g_b(bgr, mode, code):
    out = P.OPS["color"](bgr, mode=mode)
    components = cv2.cvtColor(bgr, code)
    for i in range(3):  # first component is red, i.e. channel 2 in BGR
        assert np.array_equal(out[..., 2 - i], components[..., i])


# ----------------------------------------------------------------------------- threshold


def test_otsu_is_two_valued_and_matches_opencv(bgr):
    out = P.OPS["threshold"](bgr, method="otsu")
    assert set(np.unique(out).tolist()) == {0, 255}
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    assert np.array_equal(out, cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1])


@pytest.mark.parametrize("method", ["binary", "binary_inv", "trunc", "tozero", "tozero_inv"])
def test_fixed_thresholds(bgr, method):
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    out = P.OPS["threshold"](bgr, method=method, value=100)
    if method == "binary":
        assert np.array_equal(out, np.where(gray > 100, 255, 0).astype(np.uint8))
    elif method == "trunc":
        assert np.array_equal(out, np.minimum(gray, 100))
    elif method == "tozero":
        assert np.array_equal(out, np.where(gray > 100, gray, 0))
    assert out.shape == gray.shape


@pytest.mark.parametrize("method", ["adaptive_mean", "adaptive_gaussian"])
def test_adaptive_is_two_valued(bgr, method):
    out = P.OPS["threshold"](bgr, method=method, block_size=15, c=3)
    assert set(np.unique(out).tolist()) == {0, 255}


# ----------------------------------------------------------------------------- blur / sharpen


def test_blurs_match_opencv(bgr):
    assert np.array_equal(P.OPS["blur"](bgr, kind="gaussian", size=7), cv2.GaussianBlur(bgr, (7, 7), 0))
    assert np.array_equal(P.OPS["blur"](bgr, kind="median", size=5), cv2.medianBlur(bgr, 5))
    assert np.array_equal(P.OPS["blur"](bgr, kind="box", size=4), cv2.blur(bgr, (4, 4)))
    assert np.array_equal(P.OPS["blur"](bgr, kind="bilateral", size=9), cv2.bilateralFilter(bgr, 9, 75, 75))


def test_blur_lowers_detail_and_sharpen_raises_it(bgr):
    def detail(a):
        return cv2.Laplacian(cv2.cvtColor(a, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()

    assert detail(P.OPS["blur"](bgr, size=9)) < detail(bgr) < detail(P.OPS["sharpen"](bgr, amount=2, radius=2))


def test_sharpen_is_an_unsharp_mask(bgr):
    out = P.OPS["sharpen"](bgr, amount=1.5, radius=2)
    blurred = cv2.GaussianBlur(bgr, (0, 0), 2).astype(np.float64)
    expected = np.clip(bgr + 1.5 * (bgr - blurred), 0, 255)
    assert np.abs(out - expected).max() <= 1
    assert np.array_equal(P.OPS["sharpen"](bgr, amount=0), bgr)


def test_sharpen_threshold_works_per_channel_like_pillow(bgr):
    out = P.OPS["sharpen"](bgr, amount=2, radius=2, threshold=10)
    blurred = cv2.GaussianBlur(bgr, (0, 0), 2)
    keep = cv2.absdiff(bgr, blurred) < 10
    assert 0.1 < keep.mean() < 0.9  # both branches are exercised
    assert np.array_equal(out, np.where(keep, bgr, cv2.addWeighted(bgr, 3, blurred, -2, 0)))


# ----------------------------------------------------------------------------- resize


@pytest.mark.parametrize(
    "params,shape",
    [
        ({"width": 320}, (240, 320)),
        ({"height": 120}, (120, 160)),
        ({"scale": 0.5}, (240, 320)),
        ({"width": 300, "height": 300}, (225, 300)),  # contain keeps 4:3 inside the box
        ({"width": 300, "height": 300, "fit": "cover"}, (300, 300)),
        ({"width": 300, "height": 100, "fit": "fill"}, (100, 300)),
        ({"width": 1280}, (960, 1280)),
    ],
)
def test_resize_dimensions(bgr, params, shape):
    assert P.OPS["resize"](bgr, **params).shape == (*shape, 3)


def test_cover_crops_the_centre_without_distortion(bgr):
    out = P.OPS["resize"](bgr, width=300, height=300, fit="cover", interpolation="area")
    scaled = cv2.resize(bgr, (400, 300), interpolation=cv2.INTER_AREA)
    assert np.array_equal(out, scaled[:, 50:350])


def test_resize_interpolation_follows_direction(bgr):
    down = P.OPS["resize"](bgr, width=320)
    assert np.array_equal(down, cv2.resize(bgr, (320, 240), interpolation=cv2.INTER_AREA))
    up = P.OPS["resize"](bgr, width=960)
    assert np.array_equal(up, cv2.resize(bgr, (960, 720), interpolation=cv2.INTER_CUBIC))
    near = P.OPS["resize"](bgr, width=960, interpolation="nearest")
    assert np.array_equal(near, cv2.resize(bgr, (960, 720), interpolation=cv2.INTER_NEAREST))


# ----------------------------------------------------------------------------- parameter bounds


@pytest.mark.parametrize(
    "step,words",
    [
        ({"op": "resize", "width": 0}, ["width", "1", "16384"]),
        ({"op": "resize", "width": 20000}, ["width", "16384"]),
        ({"op": "resize", "width": "wide"}, ["width"]),
        ({"op": "resize", "width": 12.5}, ["width", "integer"]),
        ({"op": "resize", "scale": 11}, ["scale", "0.01", "10"]),
        ({"op": "resize"}, ["width", "height", "scale"]),
        ({"op": "resize", "width": 10, "scale": 2}, ["scale", "width"]),
        ({"op": "resize", "width": 10, "fit": "squash"}, ["fit", "contain", "cover", "fill"]),
        ({"op": "sharpen", "amount": -1}, ["amount", "0", "10"]),
        ({"op": "sharpen", "radius": 0}, ["radius", "0.1", "50"]),
        ({"op": "sharpen", "threshold": 256}, ["threshold", "255"]),
        ({"op": "threshold", "method": "magic"}, ["method", "otsu"]),
        ({"op": "threshold", "value": 300}, ["value", "0", "255"]),
        ({"op": "threshold", "method": "adaptive_mean", "block_size": 4}, ["block_size", "odd"]),
        ({"op": "threshold", "c": 1000}, ["c", "-100", "100"]),
        ({"op": "color", "mode": "cmyk"}, ["mode", "gray", "sepia"]),
        ({"op": "blur", "size": 4}, ["size", "odd"]),
        ({"op": "blur", "size": 100}, ["size", "99"]),
        ({"op": "blur", "kind": "bilateral", "size": 31}, ["size", "25", "bilateral"]),
        ({"op": "blur", "sigma": float("nan")}, ["sigma"]),
        ({"op": "rotate", "angle": 400}, ["angle", "-360", "360"]),
        ({"op": "rotate", "expand": "maybe"}, ["expand", "true or false"]),
        ({"op": "rotate", "background": "#12"}, ["background", "#rrggbb"]),
        ({"op": "rotate", "flip": "x"}, ["flip", "h", "v"]),
        ({"op": "rotate", "speed": 3}, ["speed", "angle"]),
        ({"op": "warp"}, ["op", "resize", "rotate", "crop", "flip"]),
        ({"op": "crop", "x": -1}, ["x", "0"]),
        ({"op": "crop", "width": 0}, ["width", "1", "16384"]),
        ({"op": "flip", "axis": "diagonal"}, ["axis", "horizontal", "vertical", "both"]),
        ({"width": 3}, ["op"]),
    ],
)
def test_bad_parameters_are_named_with_their_range(step, words):
    with pytest.raises(InvalidParameter) as caught:
        P.normalize_ops([step])
    for word in words:
        assert word in caught.value.message


def test_bad_parameter_rejected_before_decoding(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("decoded despite a bad parameter")

    monkeypatch.setattr(P, "decode", boom)
    with pytest.raises(InvalidParameter, match="Step 2"):
        P.run(DOG, [{"op": "resize", "width": 100}, {"op": "blur", "size": 0}])
    with pytest.raises(InvalidParameter, match="quality"):
        P.run(DOG, [], fmt="jpeg", quality=101)
    with pytest.raises(InvalidParameter, match="format"):
        P.run(DOG, [], fmt="gif")


def test_pipeline_limits():
    with pytest.raises(InvalidParameter, match="at most 10"):
        P.normalize_ops([{"op": "color"}] * 11)
    with pytest.raises(InvalidParameter, match="JSON"):
        P.normalize_ops("[{")
    with pytest.raises(InvalidParameter, match="pixels"):
        P.run(DOG, [{"op": "resize", "scale": 10}], max_pixels=1_000_000)
    with pytest.raises(TooLarge):
        P.run(DOG, [], max_pixels=1000)
    with pytest.raises(NotAnImage):
        P.run(b"not an image", [])


def test_normalised_steps_are_complete_and_canonical():
    a = P.normalize_ops('[{"op": "resize", "width": "800"}]')
    b = P.normalize_ops([{"op": "resize", "width": 800.0, "fit": "CONTAIN"}])
    assert (
        a
        == b
        == [
            {
                "op": "resize",
                "width": 800,
                "height": None,
                "scale": None,
                "fit": "contain",
                "interpolation": "auto",
                "enlarge": True,
            }
        ]
    )
    assert P.normalize_ops([{"op": "rotate", "background": "#F00"}])[0]["background"] == "#ff0000ff"


# ----------------------------------------------------------------------------- odd inputs


def test_alpha_is_kept_where_the_op_allows(bgr):
    bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    bgra[:, :100, 3] = 0
    for step in (
        {"op": "resize", "width": 320},
        {"op": "sharpen"},
        {"op": "threshold", "method": "otsu"},
        {"op": "color", "mode": "gray"},
        {"op": "color", "mode": "sepia"},
        {"op": "color", "mode": "hsv"},
        {"op": "blur", "kind": "bilateral"},
        {"op": "rotate", "angle": 90},
    ):
        out = P.apply(bgra, step)
        assert out.ndim == 3 and out.shape[2] == 4, step
        alpha = out[..., 3]
        assert alpha.min() == 0 and alpha.max() == 255, step
    assert np.array_equal(P.OPS["color"](bgra, mode="invert")[..., 3], bgra[..., 3])
    gray_with_alpha = P.OPS["color"](bgra, mode="gray")
    assert np.array_equal(gray_with_alpha[..., 0], cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))


def test_alpha_png_round_trip(bgr):
    bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    bgra[:50, :, 3] = 0
    result = P.run(png_bytes(bgra), [{"op": "rotate", "angle": 180}])
    assert result.format == "png"
    out = decoded(result)
    assert out.shape == bgra.shape
    assert np.array_equal(out, np.rot90(bgra, 2))


def test_alpha_to_jpeg_is_flattened_on_white(bgr):
    bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    bgra[..., 3] = 0
    out = decoded(P.run(png_bytes(bgra), [], fmt="jpeg"))
    assert out.ndim == 3 and out.shape[2] == 3
    assert out.min() > 245


def test_16bit_png_stays_16bit(bgr):
    deep = bgr.astype(np.uint16) * 257 + 100
    result = P.run(png_bytes(deep), [{"op": "rotate", "angle": 90}, {"op": "blur", "size": 3}])
    out = decoded(result)
    assert out.dtype == np.uint16
    assert np.array_equal(out, cv2.GaussianBlur(np.rot90(deep), (3, 3), 0))
    for step in ({"op": "sharpen", "threshold": 10}, {"op": "color", "mode": "sepia"}, {"op": "resize", "width": 100}):
        assert P.apply(deep, step).dtype == np.uint16, step
    for step in ({"op": "threshold", "method": "otsu"}, {"op": "color", "mode": "lab"}):
        assert P.apply(deep, step).dtype == np.uint8, step
    assert P.apply(deep, {"op": "blur", "kind": "bilateral"}).dtype == np.uint16


def test_16bit_tiff_and_grayscale(bgr, tmp_path):
    gray16 = (cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.uint16)) * 257
    ok, buf = cv2.imencode(".tiff", gray16)
    result = P.run(buf.tobytes(), [{"op": "resize", "width": 320}])
    assert result.source.format == "tiff" and result.format == "png"  # TIFF is not an output format
    out = decoded(result)
    assert out.dtype == np.uint16 and out.shape == (240, 320)
    gray_jpeg = cv2.imencode(".jpg", gray16 // 257)[1].tobytes()
    out = decoded(P.run(gray_jpeg, [{"op": "resize", "width": 160}]))
    assert out.shape == (120, 160)
    out = P.apply(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), {"op": "color", "mode": "sepia"})
    assert out.shape == (*bgr.shape[:2], 3)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(bgr, orientation):
    im = Image.fromarray(cv2.cvtColor(bgr[:120, :200], cv2.COLOR_BGR2RGB))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    im.save(out, "PNG", exif=exif)
    result = P.run(out.getvalue(), [])
    upright = cv2.cvtColor(
        np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(out.getvalue())))), cv2.COLOR_RGB2BGR
    )
    assert np.array_equal(decoded(result), upright)


def test_exif_rotated_jpeg_is_upright_even_with_reduced_decoding(bgr):
    tall = cv2.resize(bgr, (1600, 1200))
    tall[:200, :200] = (0, 0, 255)  # red block in the stored top-left corner
    im = Image.fromarray(cv2.cvtColor(tall, cv2.COLOR_BGR2RGB))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90° clockwise
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif, quality=95)
    result = P.run(out.getvalue(), [{"op": "resize", "width": 150}])
    assert result.reduce == 8
    assert (result.width, result.height) == (150, 200)
    img = decoded(result)
    assert img[5, -5].tolist() == pytest.approx([0, 0, 255], abs=40)  # now top-right
    assert img[-5, 5, 2] < 200


# ----------------------------------------------------------------------------- pipeline


def test_pipeline_order_matters_and_matches_direct_calls(bgr):
    data = png_bytes(bgr)
    ops_a = [{"op": "color", "mode": "gray"}, {"op": "rotate", "angle": 90}, {"op": "resize", "width": 100}]
    expected = P.OPS["resize"](P.OPS["rotate"](P.OPS["color"](bgr, mode="gray"), angle=90), width=100)
    assert np.array_equal(decoded(P.run(data, ops_a)), expected)
    ops_b = [{"op": "resize", "width": 100}, {"op": "rotate", "angle": 90}]
    assert decoded(P.run(data, ops_b)).shape[:2] == (100, 75)
    assert decoded(P.run(data, list(reversed(ops_b)))).shape[:2] == (133, 100)


def test_reduced_decoding_only_when_a_resize_comes_first():
    big = cv2.imencode(".jpg", cv2.resize(cv2.imdecode(np.frombuffer(DOG, np.uint8), 1), (2560, 1920)))[1].tobytes()
    assert P.run(big, [{"op": "resize", "width": 640}]).reduce == 4
    assert P.run(big, [{"op": "resize", "width": 300}]).reduce == 8
    assert P.run(big, [{"op": "resize", "width": 1300}]).reduce == 1
    assert P.run(big, [{"op": "rotate", "angle": 90}, {"op": "resize", "height": 640}]).reduce == 4
    assert P.run(big, [{"op": "blur"}, {"op": "resize", "width": 640}]).reduce == 1
    # Same size and close to the full-decode result.
    reduced = decoded(P.run(big, [{"op": "resize", "width": 640}], fmt="png"))
    full = cv2.resize(cv2.imdecode(np.frombuffer(big, np.uint8), 1), (640, 480), interpolation=cv2.INTER_AREA)
    assert reduced.shape == full.shape
    assert cv2.PSNR(reduced, full) > 35


@pytest.mark.parametrize("step", [{"op": "color", "mode": "gray"}, {"op": "threshold", "method": "binary"}])
def test_jpeg_decodes_only_luma_when_the_first_step_drops_colour(step):
    result = P.run(DOG, [{"op": "rotate", "angle": 90}, step], fmt="png")
    assert result.luma_only
    full = cv2.imdecode(np.frombuffer(DOG, np.uint8), cv2.IMREAD_COLOR)
    expected = P.apply(np.rot90(full), step)
    diff = np.abs(decoded(result).astype(int) - expected)
    assert diff.mean() < 0.5  # the JPEG's own Y plane vs gray from decoded BGR: rounding apart
    assert not P.run(DOG, [{"op": "blur"}, step]).luma_only
    assert not P.run(DOG, [{"op": "color", "mode": "sepia"}]).luma_only


def test_output_formats_and_quality(bgr):
    data = png_bytes(bgr)
    assert P.run(data, []).format == "png"
    assert P.run(DOG, []).format == "jpeg" and P.run(DOG, []).quality == 85
    small = P.run(data, [], fmt="jpeg", quality=20)
    large = P.run(data, [], fmt="jpeg", quality=95)
    assert small.content_type == "image/jpeg" and len(small.data) < len(large.data)
    webp = P.run(data, [], fmt="webp")
    assert webp.data[8:12] == b"WEBP" and webp.content_type == "image/webp"
    assert P.run(data, [], fmt="png", quality=50).quality is None
