"""Image Processing tab: the /process page (plain forms, enhanced by static/process.js) and
``POST /api/process``. Both call the processing service; nothing here touches pixels."""

from __future__ import annotations

import re
import time

from flask import Response, jsonify, make_response, render_template, request

from ..core.errors import GalleryError, InvalidParameter
from ..core.keys import MAX_KEY_LENGTH, validate_key
from ..imaging import images
from ..imaging.formats import OUTPUT_EXTENSIONS
from ..metadata.base import Conflict
from ..processing import FORMATS, MAX_STEPS, OPS
from ..processing.params import EXTENSION_FORMATS, as_source, parse_color
from . import answers, ratelimits, schemas
from .api import record_json
from .apidoc import ApiBlueprint
from .cdn import media_url
from .common import services

bp = ApiBlueprint("processing", __name__, description="Image processing")

INLINE_RESULT_BYTES = 2 * 1024 * 1024  # larger results are shown as a preview in the no-JS page
_STEP_FIELD = re.compile(r"steps-(\d+)-op")
DEFAULT_STEP = {"op": "resize", "width": 800, "enlarge": False}  # a smaller photo is never scaled up


# One click sets the steps and the output; the no-JavaScript form offers them as buttons too.
PRESETS = (
    {
        "name": "web",
        "label": "Web 1600 px",
        "steps": [
            {"op": "resize", "width": 1600, "height": 1600, "fit": "contain"},
            {"op": "sharpen", "amount": 0.5, "radius": 1},
        ],
        "format": "jpeg",
        "quality": 82,
    },
    {"name": "bw", "label": "Black & white", "steps": [{"op": "color", "mode": "gray"}], "format": "", "quality": ""},
    {
        "name": "thumbnail",
        "label": "Thumbnail",
        "steps": [{"op": "resize", "width": 320, "height": 320, "fit": "cover"}],
        "format": "webp",
        "quality": 80,
    },
    {"name": "mirror", "label": "Mirror", "steps": [{"op": "flip", "axis": "horizontal"}], "format": "", "quality": ""},
)
PRESET = {p["name"]: p for p in PRESETS}


def derived_key(source: str, fmt: str | None) -> str:
    """Save key made from the source: ``photos/dog.jpg`` → ``photos/dog-edit.jpg`` (extension of the
    output: the chosen format's, else what "as the source" gives, so ``chelsea.heic`` →
    ``chelsea-edit.jpg``); ``suggested_key`` then picks a free one (``-edit-2``...)."""
    source = re.sub(r"[^A-Za-z0-9._/-]+", "-", source or "upload").strip("/") or "upload"
    stem, dot, ext = source.rpartition(".")
    if not dot or "/" in ext:
        stem, ext = source, ""
    named = EXTENSION_FORMATS.get("." + ext.lower()) if ext else None
    if not fmt and named is not None:
        fmt = as_source(named)
    ext = OUTPUT_EXTENSIONS.get(fmt, "." + ext if ext else OUTPUT_EXTENSIONS["jpeg"])
    stem = stem[: MAX_KEY_LENGTH - len(ext) - 10].rstrip("-_.") or "upload"
    return stem + "-edit" + ext


def suggested_key(source: str, fmt: str | None) -> str:
    """A save key nobody uses yet, so that saving never replaces an image unasked."""
    return free_key(derived_key(source, fmt))


def free_key(key: str) -> str:
    try:
        return services().library.free_key(validate_key(key))
    except GalleryError:  # not a valid key: the save will say why
        return key


def color_parts(value) -> tuple[str, int]:
    """``#rrggbbaa`` as the colour picker's ``#rrggbb`` and an opacity in percent."""
    rgba = parse_color(str(value or "")) or (0, 0, 0, 255)
    return "#{:02x}{:02x}{:02x}".format(*rgba[:3]), round(rgba[3] * 100 / 255)


def ops_spec() -> list[dict]:
    """The step editor's description of every operation (ranges, defaults, choices)."""
    return [
        {
            "op": spec.name,
            "help": spec.help,
            "params": [
                {
                    "name": p.name,
                    "kind": p.kind,
                    "default": p.default,
                    "min": p.lo,
                    "max": p.hi,
                    "odd": p.odd,
                    "choices": list(p.choices),
                    "range": p.range_text(),
                    "help": p.help,
                }
                for p in spec.params
            ],
        }
        for spec in OPS.values()
    ]


def form_steps(form) -> list[dict]:
    """Steps as the plain form posts them: ``steps-<n>-op`` plus ``steps-<n>-<param>``, in n order.
    Only the chosen op's parameters are read, so switching an op leaves no stray fields."""
    indices = sorted(int(m.group(1)) for name in form if (m := _STEP_FIELD.fullmatch(name)))
    steps = []
    for i in indices:
        op = form.get(f"steps-{i}-op", "")
        step = {"op": op}
        if op in OPS:
            for param in OPS[op].params:
                value = form.get(f"steps-{i}-{param.name}", "")
                alpha = form.get(f"steps-{i}-{param.name}-alpha", "")
                if param.kind == "color" and re.fullmatch(r"#[0-9a-fA-F]{6}", value) and alpha.isdigit():
                    value += f"{round(min(int(alpha), 100) * 255 / 100):02x}"  # the picker has no alpha
                if value != "":
                    step[param.name] = value
        steps.append(step)
    return steps


def apply_edit(steps: list[dict], edit: str, new_op: str) -> list[dict]:
    """The no-JavaScript step editor: add, remove-<i>, up-<i>, down-<i> (anything else: just redisplay)."""
    steps = list(steps)
    action, _, index = edit.partition("-")
    i = int(index) if index.isdigit() else -1
    if action == "add" and len(steps) < MAX_STEPS:
        steps.append({"op": new_op if new_op in OPS else "resize"})
    elif action == "remove" and 0 <= i < len(steps):
        steps.pop(i)
    elif action == "up" and 0 < i < len(steps):
        steps[i - 1], steps[i] = steps[i], steps[i - 1]
    elif action == "down" and 0 <= i < len(steps) - 1:
        steps[i + 1], steps[i] = steps[i], steps[i + 1]
    elif action == "preset" and index in PRESET:
        steps = [dict(step) for step in PRESET[index]["steps"]]
    return steps


def render_page(status: int = 200, **context):
    context.setdefault("steps", [DEFAULT_STEP])
    context.setdefault("source_key", "")
    context.setdefault("fmt", "")
    context.setdefault("quality", "")
    context.setdefault("save_as", suggested_key(context["source_key"], context["fmt"]) if context["source_key"] else "")
    return (
        render_template(
            "process.html",
            spec={"ops": ops_spec(), "presets": PRESETS},
            presets=PRESETS,
            color_parts=color_parts,
            ops=OPS,
            formats=list(FORMATS),
            max_steps=MAX_STEPS,
            as_source_extensions={ext: OUTPUT_EXTENSIONS[as_source(name)] for ext, name in EXTENSION_FORMATS.items()},
            **context,
        ),
        status,
    )


@bp.get("/process")
def process_page():
    key = request.args.get("source_key") or request.args.get("key") or ""
    return render_page(source_key=key.strip())


@bp.post("/process")
def process_submit():
    """The form without JavaScript: step edits redisplay the form; preview and save run the pipeline.
    Work is charged to the client's processing budget where it happens (``ratelimits.charge_processing``):
    a run, a stored result, a preview decoded from an upload; a step edit or a cached result is free."""
    form = request.form
    steps = form_steps(form)
    context = {
        "steps": steps,
        "source_key": form.get("source_key", "").strip(),
        "fmt": form.get("format", ""),
        "quality": form.get("quality", ""),
        "save_as": form.get("save_as", "").strip(),
    }
    edit = form.get("edit")
    if edit:
        context["steps"] = apply_edit(steps, edit, form.get("new_op", ""))
        preset = PRESET.get(edit.removeprefix("preset-")) if edit.startswith("preset-") else None
        if preset is not None:
            context.update(fmt=preset["format"], quality=str(preset["quality"]))
        return render_page(**context)
    file = request.files.get("file")
    data = file.read() if file is not None and file.filename else None
    key = (context["source_key"] or None) if data is None else None  # a chosen file wins over the key
    # "save" asks before replacing an image; the question's buttons answer "save-replace" / "save-rename".
    action, _, answer = form.get("action", "").partition("-")
    save_as = (context["save_as"] or None) if action == "save" else None
    run = {"key": key, "data": data, "fmt": context["fmt"] or None, "quality": context["quality"] or None}
    started = time.perf_counter()
    try:
        rendered, record, replaced = services().processing.process(
            steps,
            **run,
            save_as=save_as,
            on_conflict=answer if answer in ("replace", "rename") else "fail",
            on_run=ratelimits.charge_processing,
        )
        if data is not None or len(rendered.data) > INLINE_RESULT_BYTES:
            ratelimits.charge_processing()  # the page decodes the upload or the result to preview it
    except Conflict as exc:  # show the result and ask (the result is cached, so this costs little)
        rendered, record, replaced = services().processing.process(steps, **run, on_run=ratelimits.charge_processing)
        context["conflict"] = {"key": save_as, "free": free_key(save_as), "message": exc.message}
    except GalleryError as exc:
        return render_page(exc.status, error=exc.message, **context)
    elapsed = (time.perf_counter() - started) * 1000
    if key:
        source = services().catalog.get_record(key)
        original = {**shown_picture(source), "width": source.width, "height": source.height, "bytes": source.bytes}
    else:
        shown = services().media.describe_upload(data)
        original = {"url": shown.url, "bytes": shown.bytes, "width": shown.width, "height": shown.height}
    # The page carries the result inline; a large one is shown as a preview (its real size is
    # in the caption, and Save stores the real bytes).
    if len(rendered.data) > INLINE_RESULT_BYTES:
        result_url = services().media.describe_upload(rendered.data).url
    else:
        result_url = images.data_url(rendered.content_type, rendered.data)
    result = {
        "url": result_url,
        "width": rendered.width,
        "height": rendered.height,
        "bytes": len(rendered.data),
        "ms": elapsed,
        "cached": rendered.cached,
        "format": rendered.format,
    }
    if not context["save_as"] or record is not None:  # after a save the next one gets a fresh key again
        context["save_as"] = suggested_key(key or (file.filename if file else ""), rendered.format)
    page, status = render_page(original=original, result=result, saved=record, replaced=replaced, **context)
    response = make_response(page, 409 if context.get("conflict") else status)
    if rendered.cached and record is None and not context.get("conflict"):
        response.headers["X-Cache"] = "hit"  # not counted against the rate limit
    return response


def shown_picture(record) -> dict:
    """How a page draws a gallery photo it works on: its display rendition (never the original: a
    24 MP JPEG is megabytes, a HEIC shows in no browser), else, for a photo stored before
    renditions, its thumbnail. Boxes and crops are drawn in relative coordinates, so any size fits."""
    if record.has_renditions:
        return {
            "url": media_url("media.display", record),
            "width": record.display_width,
            "height": record.display_height,
        }
    return {
        "url": media_url("media.thumbnail", record),
        "width": record.thumb_width,
        "height": record.thumb_height,
    }


def source_data(fields: dict) -> bytes | None:
    """The bytes of the posted file, or of the file staged on S3 first (too large for a request body)."""
    file, staged = fields.get("file"), fields.get("staged_id")
    if staged is not None:
        if file is not None:
            raise InvalidParameter("Send either a file or a staged_id, not both.")
        return services().uploads.read_staged(staged)
    return file.read() if file is not None else None


IMAGE_HEADERS = {
    name: {"description": what, "schema": {"type": "string"}}
    for name, what in (
        ("X-Image-Width", "The result's width in pixels"),
        ("X-Image-Height", "The result's height in pixels"),
        ("X-Processing-Ms", "Time taken"),
        ("X-Cache", "hit: answered from the cache (not counted against the rate limit), else miss"),
        ("X-Full-Width", "Preview only: the width a save would have"),
        ("X-Full-Height", "Preview only: the height a save would have"),
        ("X-Source-Sha256", "Preview only: send it back as source_sha256 instead of the file"),
    )
}


@bp.post("/api/process")
@bp.arguments(schemas.Process, location="body")
@bp.response(
    200,
    {"type": "string", "format": "binary"},
    content_type="image/*",
    headers=IMAGE_HEADERS,
    description="The processed image (without save_as), or the replaced record (with it)",
)
@bp.alt_response(
    201, schema=answers.ImageRecord, description="Saved as a new gallery image; provenance says how", success=True
)
@bp.alt_response(303, description="Too large to answer through Lambda: GET it from the Location", success=True)
@bp.errors(400, 404, 409, 413, 415, 422, 429, 503)
def api_process(fields: dict):
    """Run a pipeline of steps on an upload or a gallery image; preview or save it
    ---
    One decode, the steps in order, one encode. Results are cached by (source sha256, normalised
    steps, format, quality): a repeat answers with X-Cache: hit and is not counted against the
    rate limit. Previews have a rate limit of their own.
    """
    fields["data"] = source_data(fields)
    if fields["preview"]:
        return api_preview(fields)
    if "source_sha256" in fields:
        raise InvalidParameter("source_sha256 names the image of an earlier preview; it needs preview=true.")
    started = time.perf_counter()
    rendered, record, replaced = services().processing.process(
        fields.get("ops", []),
        key=fields.get("source_key"),
        data=fields["data"],
        fmt=fields.get("format"),
        quality=fields.get("quality"),
        save_as=fields.get("save_as"),
        on_conflict=fields.get("on_conflict"),
        on_run=ratelimits.charge_processing,
    )
    elapsed = (time.perf_counter() - started) * 1000
    if record is not None:
        body = {**record_json(record), "replaced": replaced, "processing_ms": round(elapsed, 1)}
        return jsonify(answers.ImageRecord().dump(body)), 200 if replaced else 201
    fetch_from = services().media.result_url(rendered.data, rendered.content_type)
    if fetch_from is not None:  # too large to answer through Lambda: see other (GET it from S3)
        response = Response(status=303, headers={"Location": fetch_from})
    else:
        response = Response(rendered.data, mimetype=rendered.content_type)
    describe_result(response, rendered, elapsed)
    timings = ", ".join(f"{name};dur={ms:.1f}" for name, ms in rendered.timings.items() if name != "total")
    if not rendered.cached and timings:
        response.headers["Server-Timing"] = timings
    return response


def api_preview(fields: dict) -> Response:
    """The live preview: the steps at display size (see processing.preview), never saved."""
    if fields.get("save_as") is not None:
        raise InvalidParameter("A preview is never saved: send save_as without preview (saves use the full size).")
    started = time.perf_counter()
    shown, sha256 = services().processing.preview(
        fields.get("ops", []),
        key=fields.get("source_key"),
        data=fields["data"],
        source_sha256=fields.get("source_sha256"),
        fmt=fields.get("format"),
        quality=fields.get("quality"),
        on_run=ratelimits.charge_preview,
    )
    elapsed = (time.perf_counter() - started) * 1000
    rendered = shown.rendered
    response = Response(rendered.data, mimetype=rendered.content_type)
    describe_result(response, rendered, elapsed)
    response.headers["X-Full-Width"] = str(shown.full_width)
    response.headers["X-Full-Height"] = str(shown.full_height)
    response.headers["X-Source-Sha256"] = sha256
    return response


def describe_result(response: Response, rendered, elapsed_ms: float) -> None:
    """The headers every processed image is answered with: its size, the time taken, whether the
    cache answered, and never to be stored by a browser (a preview is one of many)."""
    response.headers["X-Image-Width"] = str(rendered.width)
    response.headers["X-Image-Height"] = str(rendered.height)
    response.headers["X-Processing-Ms"] = f"{elapsed_ms:.1f}"
    response.headers["X-Cache"] = "hit" if rendered.cached else "miss"
    response.headers["Cache-Control"] = "no-store"


@bp.get("/api/free-key")
@bp.arguments(schemas.FreeKeyQuery, location="query")
@bp.response(200, answers.FreeKey)
@bp.errors(400)
def api_free_key(query: dict):
    """A key nobody uses: the one asked for, else the first free name-2.ext, -3..."""
    return {"key": services().library.free_key(query["key"])}
