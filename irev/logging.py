"""Operational logs: one line per request, with no personal data, query string or token.

Request lines (logger ``irev.request``): method, path with signed tokens masked, status, duration.
The e-mail worker (``irev.services.outbox``) writes one line per e-mail: the outbox row's id and
kind, never an address. Both go to stderr, which systemd sends to the journal.

Whatever else gets logged (an error with its traceback, gunicorn's "Error handling request
<path>", SQLAlchemy's pool) passes through `scrub()` when the record is made: the process's log
record factory masks tokens, e-mail addresses, SQL parameters and PostgreSQL's DETAIL text (which
can quote a whole row) in the message, its arguments and the formatted traceback. Values bound to
SQL statements never reach an error's text in the first place (irev.database: hide_parameters).
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

#: Signed tokens anywhere in a text: payload.timestamp.signature (payload compressed: ".eJ…").
_SIGNED_IN_TEXT = re.compile(
    r"(?<![A-Za-z0-9_.-])\.?[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{4,8}\.[A-Za-z0-9_-]{16,}"
    r"(?![A-Za-z0-9_-])"
)
#: Random tokens anywhere in a text: 24+ URL-safe characters with an upper-case letter and a digit.
_RANDOM_IN_TEXT = re.compile(
    r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*[A-Z])(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{24,}"
    r"(?![A-Za-z0-9_-])"
)
#: E-mail addresses, internationalised ones included.
_NOT_IN_ADDRESS = r"[^\s@<>\"'`()\[\],;:/=]"
_EMAIL = re.compile(rf"{_NOT_IN_ADDRESS}+@{_NOT_IN_ADDRESS}+\.{_NOT_IN_ADDRESS}+")
#: What SQLAlchemy appends to an error when parameters are not hidden, and PostgreSQL's DETAIL.
_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\s*(?:\(|$))", re.MULTILINE | re.DOTALL)
_DETAIL = re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE)


def mask_path(path: str) -> str:
    """Return path with every segment that looks like a token replaced by <jeton>."""
    segments = path.split("/")
    return "/".join(
        MASK if _SIGNED_TOKEN.match(part) or _RANDOM_TOKEN.match(part) else part
        for part in segments
    )


def scrub(text: str) -> str:
    """Return text with tokens, e-mail addresses, SQL parameters and DETAIL values masked."""
    if not text:
        return text
    text = _PARAMETERS.sub("[parameters: <masqués>]", text)
    text = _DETAIL.sub(r"\1 <masqué>", text)
    text = _EMAIL.sub("<adresse>", text)
    text = _SIGNED_IN_TEXT.sub(MASK, text)
    return _RANDOM_IN_TEXT.sub(MASK, text)


def install_record_factory() -> None:
    """Scrub every log record of the process when it is made, whichever logger makes it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_irev_scrubbing", False):
        return

    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub_record(record)
        return record

    make_record._irev_scrubbing = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


def _scrub_record(record: logging.LogRecord) -> None:
    """Replace a record's message, arguments and traceback by their scrubbed text."""
    try:
        message = record.getMessage()
    except Exception:
        message = f"{record.msg!r} {record.args!r}"
    record.msg, record.args = scrub(message), ()
    if record.exc_info and record.exc_info[0] is not None:
        # Formatters reuse exc_text when it is set: the raw traceback is never formatted again.
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)


def init_app(app: Flask) -> None:
    """Send the irev.* loggers somewhere readable and log each request."""
    install_record_factory()
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
