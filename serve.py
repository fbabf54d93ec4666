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

from app.config import load_settings
from app.core.redaction import RedactingFilter
from wsgi import app

MIB = 1024 * 1024

settings = load_settings()
# The app's own limit (MAX_CONTENT_LENGTH: the body limit + 64 KiB) answers with its JSON 413;
# waitress refuses bodies past a MiB more with its own, before reading them.
body_limit = app.config["MAX_CONTENT_LENGTH"] + MIB


if __name__ == "__main__":
    logging.getLogger("waitress").addFilter(RedactingFilter())
    serve(
        app,
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
