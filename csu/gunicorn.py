"""gunicorn's settings for the web service (``gunicorn csu.wsgi --config python:csu.gunicorn``).

Threads rather than processes alone: playback and exports hold a request open while they
stream, and a thread waiting on the object store costs little.
"""

from __future__ import annotations

import os

from csu.lib.env import env_int

bind = f"0.0.0.0:{env_int('PORT', 8000, minimum=1, maximum=65535)}"
workers = env_int("CSU_WEB_WORKERS", min(4, 2 * (os.cpu_count() or 1)), minimum=1)
worker_class = "gthread"
threads = env_int("CSU_WEB_THREADS", 8, minimum=1)
# A worker silent this long is restarted; requests themselves may last longer (streams).
timeout = env_int("CSU_WEB_TIMEOUT", 120, minimum=10)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so that a slow leak never builds up.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
# Query strings are not logged (they can carry credentials); playback links in paths are
# single-use and expire within minutes.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss "%({x-request-id}o)s"'
# Django decides whether a request came over HTTPS (SECURE_PROXY_SSL_HEADER); gunicorn must
# not rewrite the scheme or the client address itself.
forwarded_allow_ips = ""
