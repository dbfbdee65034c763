"""Operational logs: one line per request and one per e-mail, with no personal data or tokens.

Request lines (logger ``irev.request``): method, path without query string and with signed tokens
masked, status, duration. E-mail lines (logger ``irev.email``): the outbox row's id, kind, status
and attempt count, written once the change is committed; never an address, a name or an error text
(an SMTP refusal quotes the address).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

from flask import Flask, Response, g, request
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, object_session

request_log = logging.getLogger("irev.request")
email_log = logging.getLogger("irev.email")

#: Written in place of a token in a logged path.
MASK = "<jeton>"
#: itsdangerous tokens: [.]payload.timestamp.signature, base64url parts joined by dots.
_SIGNED_TOKEN = re.compile(r"^\.?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{16,}$")
#: Random tokens (secrets.token_urlsafe): long, mixed case or digits, unlike lowercase slugs.
_RANDOM_TOKEN = re.compile(r"^(?=.*[A-Z])(?=.*[0-9])[A-Za-z0-9_-]{24,}$")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_PENDING_KEY = "irev_email_log"


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
    logger.setLevel(app.config.get("IREV_LOG_LEVEL", "INFO"))
    # Alembic's env.py runs logging.config.fileConfig, which disables loggers it does not name.
    for one in (logger, request_log, email_log):
        one.disabled = False
    if not app.testing and not _has_own_handler(logger):
        # Under gunicorn and systemd, stderr goes to the journal.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._irev = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    _listen_to_outbox()

    if not app.config.get("IREV_REQUEST_LOG", True):
        return

    @app.before_request
    def _start_clock() -> None:
        g._irev_started = time.perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        started = g.get("_irev_started")
        elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
        path = mask_path(request.path)
        request_log.info("%s %s %s %.1fms", request.method, path, response.status_code, elapsed)
        return response


def _has_own_handler(logger: logging.Logger) -> bool:
    """Return True when this module already gave the logger a handler (create_app runs often)."""
    return any(getattr(handler, "_irev", False) for handler in logger.handlers)


_listening = False


def _listen_to_outbox() -> None:
    """Register, once per process, the hooks that log e-mail state changes after commit."""
    global _listening
    if _listening:
        return
    _listening = True
    from irev.models import OutboundEmail

    event.listen(OutboundEmail, "after_insert", _note_email)
    event.listen(OutboundEmail, "after_update", _note_email_change)
    event.listen(Session, "after_commit", _flush_email_log)
    event.listen(Session, "after_soft_rollback", _forget_email_log)


def _note_email(mapper: Any, connection: Any, email: Any) -> None:
    """Remember an e-mail written to the outbox, to log it once the transaction commits."""
    session = object_session(email)
    if session is not None:
        status = getattr(email.status, "value", email.status)
        session.info.setdefault(_PENDING_KEY, []).append(
            (email.id, email.kind, status, email.attempts or 0)
        )


def _note_email_change(mapper: Any, connection: Any, email: Any) -> None:
    """Remember a change of an e-mail's status or attempt count (sent, failed, retried)."""
    attrs = inspect(email).attrs
    if attrs.status.history.has_changes() or attrs.attempts.history.has_changes():
        _note_email(mapper, connection, email)


def _flush_email_log(session: Session) -> None:
    """Log the e-mail changes that this commit made durable."""
    for email_id, kind, status, attempts in session.info.pop(_PENDING_KEY, []):
        event_name = "queued" if status == "pending" and attempts == 0 else status
        if status == "pending" and attempts:
            event_name = "retry"
        email_log.info("email %s id=%s kind=%s attempts=%s", event_name, email_id, kind, attempts)


def _forget_email_log(session: Session, previous_transaction: Any) -> None:
    """Drop what a rolled-back transaction would have logged."""
    session.info.pop(_PENDING_KEY, None)
