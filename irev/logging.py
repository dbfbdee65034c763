"""Operational logs: one line per request, with no personal data, query string or token.

Request lines (logger ``irev.request``): method, path with signed tokens masked, status, duration.
The e-mail worker (``irev.services.outbox``) writes one line per e-mail: the outbox row's id and
kind, never an address. Both go to stderr, which systemd sends to the journal.
"""

from __future__ import annotations

import logging
import re
import sys
import time

from flask import Flask, Response, g, request

request_log = logging.getLogger("irev.request")

#: Written in place of a token in a logged path.
MASK = "<jeton>"
#: itsdangerous tokens: [.]payload.timestamp.signature, base64url parts joined by dots.
_SIGNED_TOKEN = re.compile(r"^\.?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{16,}$")
#: Random tokens (secrets.token_urlsafe): long, mixed case or digits, unlike lowercase slugs.
_RANDOM_TOKEN = re.compile(r"^(?=.*[A-Z])(?=.*[0-9])[A-Za-z0-9_-]{24,}$")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def mask_path(path: str) -> str:
    """Return path with every segment that looks like a token replaced by <jeton>."""
    segments = path.split("/")
    return "/".join(
        MASK if _SIGNED_TOKEN.match(part) or _RANDOM_TOKEN.match(part) else part
        for part in segments
    )


def init_app(app: Flask) -> None:
    """Send the irev.* loggers somewhere readable and log each request."""
    logger = logging.getLogger("irev")
    logger.setLevel(app.config["IREV_LOG_LEVEL"])
    # Alembic's env.py runs logging.config.fileConfig, which disables loggers it does not name.
    for name, one in logging.root.manager.loggerDict.items():
        if name.startswith("irev") and isinstance(one, logging.Logger):
            one.disabled = False
    if not app.testing and not _has_own_handler(logger):
        # Under gunicorn and systemd, stderr goes to the journal.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._irev = True  # type: ignore[attr-defined]
        logger.addHandler(handler)

    if not app.config["IREV_REQUEST_LOG"]:
        return

    @app.before_request
    def _start_clock() -> None:
        g._irev_started = time.perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        started = g.get("_irev_started")
        elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
        log_request(request.method, request.path, response.status_code, elapsed)
        return response


def log_request(method: str, path: str, status: int | str, elapsed_ms: float) -> None:
    """Write the one line of a request: method, path with tokens masked, status, duration."""
    if request_log.isEnabledFor(logging.INFO):
        request_log.info("%s %s %s %.1fms", method, mask_path(path), status, elapsed_ms)


def _has_own_handler(logger: logging.Logger) -> bool:
    """Return True when this module already gave the logger a handler (create_app runs often)."""
    return any(getattr(handler, "_irev", False) for handler in logger.handlers)
