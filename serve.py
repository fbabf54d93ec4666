"""`make run`'s server: the app under waitress, which faces clients by itself.

    python serve.py          (HOST, PORT, GALLERY_THREADS, GALLERY_READ_TIMEOUT; app/config.py)

waitress reads each request whole (bodies past 512 KB spill to a temporary file) before a thread
gets it, and takes each response into a buffer the main loop sends from, so a slow or stalled
client holds no thread. A connection that sends and accepts nothing for GALLERY_READ_TIMEOUT
seconds is closed, half-way through a request or a response alike. gunicorn (gunicorn.conf.py)
is for behind nginx only; see docs/deploy.md and bench/edge.py for the measurements.

waitress writes no access log; its error log names the path of a request that failed, so share
tokens are redacted from it (app/core/redaction.py).
"""

from __future__ import annotations

import logging

from waitress import serve
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask, WSGITask
from waitress.utilities import RequestEntityTooLarge

from app.config import load_settings
from app.core.redaction import RedactingFilter
from wsgi import app

settings = load_settings()
# The app's own limit (MAX_CONTENT_LENGTH: the body limit + 64 KiB). waitress stops reading a
# body past it (one with a larger Content-Length is never read) and the app answers (below).
body_limit = app.config["MAX_CONTENT_LENGTH"] + 1  # waitress refuses lengths >= its limit


class RefusedBodyTask(WSGITask):
    """A request waitress refused for its body size (not read; waitress's own answer would be a
    text/plain 413) goes to the app with an empty body, so the client gets the app's 413: JSON
    naming the limit and /api/uploads, or the error page. The app refuses any request whose
    declared length is over its limit before a view runs; the connection closes after the answer."""

    def execute(self):
        if not isinstance(self.request.error, RequestEntityTooLarge):
            return ErrorTask.execute(self)
        self.set_close_on_finish()
        return super().execute()

    def get_environment(self):
        environ = super().get_environment()
        # A chunked body has no length to refuse by: say the one waitress stopped at, so the app
        # refuses it as well instead of reading an empty body as the whole request.
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        declared = int(environ.get("CONTENT_LENGTH") or 0)
        environ["CONTENT_LENGTH"] = str(max(declared, self.channel.server.adj.max_request_body_size))
        return environ


class GalleryChannel(HTTPChannel):
    error_task_class = RefusedBodyTask


def gallery_server(application, **settings):
    """waitress's server, its listeners (one per address) opening ``GalleryChannel``s."""
    server = create_server(application, **settings)
    for listener in (server, *getattr(server, "map", {}).values()):
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = GalleryChannel
    return server


if __name__ == "__main__":
    logging.getLogger("waitress").addFilter(RedactingFilter())
    serve(
        app,
        _server=gallery_server,
        host=settings.host,
        port=settings.port,
        threads=settings.threads,
        channel_timeout=int(settings.read_timeout),
        cleanup_interval=max(1, int(settings.read_timeout) // 4),  # how often idle connections are looked for
        connection_limit=1000,  # gunicorn's default; each costs a socket and its buffers, not a thread
        max_request_body_size=body_limit,
        # A response this large (the largest original) is taken whole, so its thread is free at
        # once however slowly it is read; past it (big ZIPs) the thread waits for the reader.
        outbuf_high_watermark=body_limit,
        asyncore_use_poll=True,  # select() stops at 1,024 descriptors
        ident="",
    )
