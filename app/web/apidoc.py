"""The JSON API declared once: flask-smorest turns each view's schemas (``schemas``, ``answers``)
into request validation, response serialisation and the OpenAPI document at /api/openapi.json.

Why flask-smorest rather than APIFlask: it works on the existing ``Flask`` app and blueprints
(APIFlask replaces the app class, which ``create_app``, the tests and the Lambda handler build),
and its parsing is webargs over marshmallow, which the HTML forms can share.

The house rules on top of it, in this module:
- a refused request is a ``GalleryError`` (400, ``{"error": {"code", "message"}}``) whose message
  names the field and what is allowed, never the library's 422;
- pages living in the same blueprints as JSON routes are not part of the API document;
- every error response is described by the error classes that carry its status, and every write
  documents the CSRF header (one place: ``HouseRules``);
- limits in the document are read when it is built (on first request), from the constants that validate.
"""

from __future__ import annotations

import threading

from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin, resolver
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Blueprint as FlaskBlueprint
from flask import Flask, current_app
from flask_smorest import Api, Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict
from werkzeug.routing import PathConverter

from ..core import errors, keys
from ..imaging import formats, images
from . import answers, schemas
from .common import is_api_path

CSRF_HEADER = {
    "name": "X-CSRFToken",
    "in": "header",
    "required": False,
    "description": "The token from the page's <meta name=csrf-token>, sent with the session cookie "
    "(not needed with Authorization: Bearer <token>).",
    "schema": {"type": "string"},
}
# Not a GalleryError: Flask-WTF raises it (see web.register).
CSRF_FAILED = "csrf_failed: a write without a valid CSRF token (send X-CSRFToken) or API token."
WRITES = ("post", "put", "patch", "delete")
ERROR_REF = {"$ref": "#/components/schemas/Error"}

# What the marshmallow messages say, in the words the API uses ("limit must be a whole number.").
PLAIN = {
    "Missing data for required field.": "is required.",
    "Not a valid integer.": "must be a whole number.",
    "Not a valid number.": "must be a number.",
    "Special numeric values (nan or infinity) are not permitted.": "must be a finite number.",
    "Not a valid string.": "must be text.",
    "Not a valid boolean.": "must be true or false.",
    "Not a valid list.": "must be a list.",
    "Field may not be null.": "must not be null.",
    "Invalid input type.": "must be an object.",
    "Not a valid mapping type.": "must be an object.",
}


def sentences(messages, path: str = ""):
    """marshmallow's nested messages as sentences naming each field (``keys[2] must be text.``)."""
    if isinstance(messages, dict):
        for name, inner in messages.items():
            where = f"{path}[{name}]" if isinstance(name, int) else (f"{path}.{name}" if path else str(name))
            yield from sentences(inner, "" if name == "_schema" else where)
    elif isinstance(messages, list):
        for message in messages:
            yield from sentences(message, path)
    else:
        text = PLAIN.get(str(messages), str(messages))
        yield f"{path} {text}" if path else text[:1].upper() + text[1:]


def page_words(schema, messages) -> str | None:
    """A page's words for the refused fields that have them (``metadata={"page": ...}``), where the
    API's would name form fields a person never sees."""
    if not isinstance(messages, dict):
        return None
    fields = [schema.fields.get(name) for name in messages]
    words = [f.metadata["page"]() for f in fields if f is not None and "page" in f.metadata]
    return " ".join(words) or None


class RequestParser(FlaskParser):
    """webargs' parser with the API's error body, and the two ways a body arrives: ``body`` (a JSON
    object, or a form with its files) and ``multipart`` (form fields and files together)."""

    DEFAULT_VALIDATION_STATUS = 400
    __location_map__ = {**FlaskParser.__location_map__, "body": "load_body", "multipart": "load_multipart"}

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        messages = error.messages
        if isinstance(messages, dict) and len(messages) == 1 and next(iter(messages)) in self.__location_map__:
            messages = next(iter(messages.values()))  # the location ("query", "body"...) says nothing
        raise errors.InvalidParameter(" ".join(sentences(messages)), page=page_words(schema, messages))

    def load_json(self, req, schema):
        try:
            body = req.get_json(silent=True)
        except RecursionError:  # nested beyond Python's stack: as malformed as bad JSON
            body = None
        if not isinstance(body, dict):
            names = ", ".join(name for name in schema.fields if name != "file")
            raise errors.InvalidParameter(f"The JSON body must be an object with {names}.")
        return body

    def load_multipart(self, req, schema):
        merged = MultiDict(req.form)
        for name, file in req.files.items(multi=True):
            if file.filename or file.content_length:  # a file input left empty sends a nameless part
                merged.add(name, file)
        return self._makeproxy(merged, schema)

    def load_body(self, req, schema):
        return self.load_json(req, schema) if req.is_json else self.load_multipart(req, schema)


parser = RequestParser()
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class ApiBlueprint(Blueprint):
    """A blueprint whose ``/api/`` routes (and ``/healthz``) are declared in the API document;
    its page routes are plain Flask routes."""

    ARGUMENTS_PARSER = parser
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "body": "application/json",
        "multipart": "multipart/form-data",
    }

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=None, **options):
        documented = options.pop("documented", is_api_path(rule))
        if not documented:
            options.pop("parameters", None), options.pop("tags", None)
            return FlaskBlueprint.add_url_rule(self, rule, endpoint, view_func, provide_automatic_options, **options)
        return super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)

    def errors(self, *statuses: int):
        """Document the error answers a view can give (described by ``HouseRules``)."""

        def decorator(func):
            for status in statuses:
                func = self.alt_response(status, schema=answers.Error)(func)
            return func

        return decorator

    def _prepare_arguments_doc(self, doc, doc_info, **kwargs):
        arguments = doc_info.get("arguments", {}).get("parameters", [])
        takes_forms = any(p.get("in") == "body" for p in arguments)
        doc = super()._prepare_arguments_doc(doc, doc_info, **kwargs)
        if takes_forms:  # a "body" is JSON or a form: the same fields, documented for each
            content = doc["requestBody"]["content"]
            for media in FORM_TYPES:
                content[media] = dict(content["application/json"])
        return doc


def error_causes(status: int) -> str:
    """The error codes a status stands for, with each class's docstring."""
    classes = subclasses(errors.GalleryError)
    return " ".join(f"{c.code}: {(c.__doc__ or '').strip()}" for c in classes if c.status == status) or "Error"


def subclasses(cls) -> list:
    return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]


class HouseRules(BasePlugin):
    """Runs on each operation as it enters the document: error descriptions and the CSRF header."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            if method in WRITES and not any(int(status) == 400 for status in responses):
                responses[400] = {"content": {"application/json": {"schema": ERROR_REF}}}
            for status, response in responses.items():
                if int(status) >= 400 and isinstance(response, dict):
                    response["description"] = error_causes(int(status))
                    if method in WRITES and int(status) == 400:
                        response["description"] += " " + CSRF_FAILED
            if method in WRITES:
                operation.setdefault("parameters", []).append(CSRF_HEADER)


def schema_name(schema) -> str | None:
    """Answers are shared components (``ImageRecord``...); a request's fields are written out
    where the operation takes them, so each operation reads on its own."""
    resolved = resolve_schema_cls(schema)
    cls = resolved[0] if isinstance(resolved, list) else resolved
    return None if issubclass(cls, schemas.Request) else resolver(schema)


def live_properties(self, field, **kwargs) -> dict:
    """A field's ``metadata["doc"]``: document properties read when the document is built."""
    doc = field.metadata.get("doc")
    return doc() if doc else {}


class GalleryApi(Api):
    """flask-smorest's ``Api`` whose document is built when first asked for, not when each
    blueprint is registered: building it was most of an app's start-up (a Lambda cold start, and
    every test's app), and the routes, validation and serialisation do not need it."""

    ERROR_SCHEMA = answers.Error
    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation lists its own errors

    def __init__(self, *args, **kwargs):
        self._undocumented: list[tuple[Blueprint, str, list | None]] = []
        self._responses_pending = False
        self._documenting = threading.Lock()
        super().__init__(*args, **kwargs)

    def _register_error_handlers(self):
        """Errors are answered by ``web.register``'s handlers, in the API's one shape."""

    def _register_responses(self):
        """The response components of every HTTP status (half of what was left of an app's
        start-up here) wait for ``document`` too."""
        self._responses_pending = True

    def register_blueprint(self, blp, *, parameters=None, **options):
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def document(self) -> dict:
        """The OpenAPI document, completed on first use with what ``Api.register_blueprint``
        would have added at registration (each blueprint's views and tag), then the image URLs."""
        with self._documenting:
            if self._responses_pending:
                super()._register_responses()
                self._responses_pending = False
            if self._undocumented:
                for blp, name, parameters in self._undocumented:
                    blp.register_views_in_doc(self, self._app, self.spec, name=name, parameters=parameters)
                    self.spec.tag({"name": name, "description": blp.description})
                self._undocumented.clear()
                document_media(self, self._app)
            return self.spec.to_dict()


def init_api(app: Flask, blueprints) -> GalleryApi:
    """Register ``blueprints`` on ``app`` and declare their JSON routes (and the image URLs) in the
    app's OpenAPI document."""
    api = GalleryApi(
        app,
        spec_kwargs={
            "title": "Cloud Image Gallery API",
            "version": "1.0.0",
            "openapi_version": "3.1.0",
            "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name),
            "extra_plugins": [HouseRules()],
        },
    )
    api.ma_plugin.converter.add_attribute_function(live_properties)
    # Only keys are <path:...> in this app: document them by the key rules.
    api.register_converter(PathConverter, lambda converter: {"type": "string", "maxLength": keys.MAX_KEY_LENGTH})
    for blueprint in blueprints:
        if isinstance(blueprint, Blueprint):
            api.register_blueprint(blueprint)
        else:
            app.register_blueprint(blueprint)
    return api


def document_media(api: GalleryApi, app: Flask) -> None:
    """The image URLs (bytes, not JSON), served by ``web.media``."""
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("media."):
            continue
        types = formats.MIME_TYPES if rule.endpoint == "media.original" else (images.THUMB_CONTENT_TYPE,)
        operation = {
            "summary": f"An image's {rule.endpoint.removeprefix('media.')} bytes, current or of a given version",
            "tags": ["media"],
            "parameters": [{"in": "query", "schema": schemas.MediaQuery}],
            "responses": {
                "200": {
                    "description": "The bytes, with ETag",
                    "content": {mime: {"schema": {"type": "string", "format": "binary"}} for mime in types},
                },
                "302": {"description": "On S3, a large original: a short-lived URL of the object itself"},
                "304": {"description": "Not modified (If-None-Match)"},
                **{str(s): {"content": {"application/json": {"schema": ERROR_REF}}} for s in (400, 404, 503)},
            },
        }
        api.spec.path(rule=rule, operations={"get": operation}, parameters=[])


def document() -> dict:
    """The current app's OpenAPI document."""
    return current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].document()
