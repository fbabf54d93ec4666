"""Production gunicorn settings (`gunicorn -c gunicorn.conf.py wsgi:app`).

One worker process with threads by default, so the in-process cache is shared by every
request; with GALLERY_CACHE=memcached, raise GALLERY_WORKERS to use more cores.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("GALLERY_WORKERS", "1"))
threads = int(os.environ.get("GALLERY_THREADS", "8"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 20
keepalive = 5
max_requests = 0  # never recycle: the in-process cache would start cold
accesslog = "-"
# gunicorn's control socket sits at one fixed path per user, shared by every server started
# (tests and benches start their own); nothing here uses it.
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
