"""Gunicorn settings for the IREV site: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Every value can be changed from the environment (the systemd unit reads /etc/irev/irev.env).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import re

from gunicorn.glogging import Logger

#: nginx talks to gunicorn on loopback only; never expose this port.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

#: Synchronous workers: pages are short and CPU-bound (templates, SQL on a nearby database).
#: Two per core plus one keeps both cores busy while a worker waits on PostgreSQL.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
#: A request that takes longer than this is a bug: the worker is restarted.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
#: Recycle workers now and then so that a slow leak in a library can never grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500

#: Load the app once in the master: faster restarts of workers, settings checked before forking
#: (a missing mandatory setting stops the service at once with a clear message).
preload_app = True

#: Trust X-Forwarded-* only from nginx on the same machine. The application itself applies
#: ProxyFix with FLASK_IREV_PROXY_HOPS=1 for the client address used by rate limits.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

#: The application logs one line per request itself (logger "irev.request": method, path with
#: tokens masked, status, duration). Gunicorn's access log would repeat it, so it is off unless
#: GUNICORN_ACCESSLOG is set ("-" for the journal); its format then has no client address, no
#: query string, no referrer and no user agent (personal data), and paths are masked the same way.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
access_log_format = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
capture_output = True
proc_name = "irev-web"

#: Path segments that carry a signed token (itsdangerous: base64 parts joined by dots).
_TOKEN_SEGMENT = re.compile(r"/[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{8,}(?=/|$)")


class MaskingLogger(Logger):
    """Gunicorn's logger, with signed tokens removed from the logged path."""

    def atoms(self, resp, req, environ, request_time):
        """Return the log atoms with the path masked."""
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = _TOKEN_SEGMENT.sub("/<jeton>", atoms.get("U") or "")
        return atoms


logger_class = MaskingLogger


# Collection stays off in the master while it loads the app, so that the pages the workers
# share with it are not left full of holes; irev/long_lived.py says why the app is then frozen.
gc.disable()


def when_ready(server):
    """Compile the templates and freeze the loaded app, then let the master collect again.

    Each worker is forked with every template compiled: otherwise a new or recycled worker
    compiled the form page's on its first visitor (700 to 900 ms with five workers starting
    together on two cores).
    """
    from irev.long_lived import compile_templates, freeze_loaded

    app = server.app.wsgi()
    if hasattr(app, "jinja_env"):
        compile_templates(app)
    freeze_loaded()
    gc.enable()


def pre_fork(server, worker):
    """Freeze what the master made since the last fork (a recycled worker is forked anew).

    The collection before it walks only what is not frozen yet: a few objects since the last
    fork.
    """
    from irev.long_lived import freeze_loaded

    freeze_loaded()


def post_fork(server, worker):
    """Give each worker its own database connections (none may be shared across a fork)."""
    gc.enable()
    from irev.extensions import db

    app = server.app.wsgi()
    if "sqlalchemy" not in getattr(app, "extensions", {}):
        return  # another WSGI app served with this configuration (the benchmark's bare Flask)
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
