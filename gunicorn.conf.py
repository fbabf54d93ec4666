"""Production gunicorn settings (`gunicorn -c gunicorn.conf.py wsgi:app`).

One worker process with threads by default, so the in-process cache is shared by every
request; with GALLERY_CACHE=memcached, raise GALLERY_WORKERS to use more cores.
"""

import os

from buffered_worker import BufferingThreadWorker

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("GALLERY_WORKERS", "1"))
threads = int(os.environ.get("GALLERY_THREADS", "8"))
# gthread, except that the main loop reads each request whole before a thread gets it, so slow
# or stalled clients hold no thread. GALLERY_READ_TIMEOUT (seconds, default 30) is how long a
# client has to send a request's headers and body, plus a second per 64 KiB sent (a slow upload
# still finishes); then it gets a 408 and is closed. A body declared above the app's upload
# limit (GALLERY_MAX_UPLOAD_MB) plus 1 MiB gets a 413 before it is read.
worker_class = BufferingThreadWorker.configured(
    read_timeout=float(os.environ.get("GALLERY_READ_TIMEOUT", "30")),
    max_body=int((float(os.environ.get("GALLERY_MAX_UPLOAD_MB", "25")) + 1) * 1024 * 1024),
)
timeout = 60
graceful_timeout = 20
keepalive = 5
max_requests = 0  # never recycle: the in-process cache would start cold
accesslog = "-"
# gunicorn's control socket sits at one fixed path per user, shared by every server started
# (tests and benches start their own); nothing here uses it.
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
