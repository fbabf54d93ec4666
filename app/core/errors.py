"""Domain errors. The web layer maps each to an HTTP status and a JSON/HTML body; the API
description (web/apidoc.py) lists each class's code with its docstring. A message says what
happened and what to do; where the API's message names its fields (``source_key``), ``page``
gives the words a page uses instead."""


class GalleryError(Exception):
    status = 400
    code = "bad_request"
    retry_after: int | None = None  # seconds: the answer says so in a Retry-After header

    def __init__(self, message: str, page: str | None = None):
        super().__init__(message)
        self.message = message  # the API's words: exact field names
        self.page_message = page or message  # a page's words, where the API's would name fields


class InvalidKey(GalleryError):
    """The key or prefix breaks the key rules."""

    status = 400
    code = "invalid_key"


class InvalidParameter(GalleryError):
    """A parameter is missing, malformed or out of range."""

    status = 400
    code = "invalid_parameter"


class NotFound(GalleryError):
    """No image with this key."""

    status = 404
    code = "not_found"


class TooLarge(GalleryError):
    """The file or its pixel count is over the limit."""

    status = 413
    code = "too_large"


class NotAnImage(GalleryError):
    """Not an image of a supported format."""

    status = 415
    code = "unsupported_media_type"


class BadImage(GalleryError):
    """Recognised as an image format but cannot be used (corrupt, no pixels, too many frames)."""

    status = 422
    code = "unprocessable_image"


class OverBudget(GalleryError):
    """The work the request asks for is over the per-request budget (CPU time or memory): resize first."""

    status = 422
    code = "over_budget"


class QuotaExceeded(GalleryError):
    """The gallery's storage quota (GALLERY_QUOTA_GB) is full: delete images or empty the trash first."""

    status = 507
    code = "insufficient_storage"


class BackendUnavailable(GalleryError):
    """A storage, cache or recognition backend is unavailable."""

    status = 503
    code = "backend_unavailable"


class WorkBusy(GalleryError):
    """This client's earlier image work still holds its share of the image workers: wait (see Retry-After)."""

    status = 429
    code = "work_in_progress"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class WorkBackoff(GalleryError):
    """This client's image work was stopped at its hard limit lately: refused for a while (see Retry-After)."""

    status = 429
    code = "work_backoff"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class WorkersBusy(GalleryError):
    """Every image worker is busy and the queue for them is full: try again after Retry-After seconds."""

    status = 503
    code = "workers_busy"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
