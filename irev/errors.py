"""French error pages with the right status codes; never a stack trace.

While the database is unreachable every page answers 503 with Retry-After and the French page
« Service momentanément indisponible »: the page is rendered without a query (the signed-in
staff member, whose account would have to be read again, is forgotten for that response), and
each failed request writes one line, not a traceback. The pool then reconnects by itself
(pool_pre_ping), so the site recovers without a restart.
"""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import (
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError

from irev.extensions import db, login_manager
from irev.logging import mask_path

log = logging.getLogger(__name__)

#: Seconds a visitor is asked to wait before trying again while the database is down.
RETRY_AFTER_SECONDS = 30
#: Driver errors that may mean "the database cannot be reached now" rather than a bug.
UNAVAILABLE = (OperationalError, InterfaceError)
#: SQLite's words for a database that cannot answer now (statement-level errors).
SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk I/O error")

#: Title and explanation per status, in French.
MESSAGES: dict[int, tuple[str, str]] = {
    400: ("Demande incorrecte", "La demande envoyée n'a pas pu être comprise."),
    403: ("Accès refusé", "Vous n'avez pas accès à cette page."),
    404: (
        "Page introuvable",
        "La page demandée n'existe pas ou a été déplacée. Vérifiez l'adresse saisie.",
    ),
    405: ("Action non autorisée", "Cette action n'est pas possible sur cette page."),
    413: ("Envoi trop volumineux", "Les données envoyées dépassent la taille autorisée."),
    429: (
        "Trop de tentatives",
        "Vous avez fait trop de demandes en peu de temps. Patientez quelques minutes, "
        "puis réessayez.",
    ),
    500: (
        "Erreur du serveur",
        "Une erreur inattendue s'est produite. Nous en sommes informés ; réessayez plus tard.",
    ),
    503: (
        "Service momentanément indisponible",
        "Le site ne peut pas répondre pour le moment. Réessayez dans quelques minutes : "
        "si vous envoyiez un formulaire, il n'a pas été enregistré.",
    ),
}

#: Served when even the error page cannot be rendered: plain French, no template, no query.
FALLBACK_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{title} – IREV</title></head>
<body><main><p>Erreur {status}</p><h1>{title}</h1><p>{message}</p>
<p><a href="/">Retour au programme des rencontres</a></p></main></body></html>
"""


def render_error(status: int, detail: str | None = None):
    """Render the French error page for status, with an optional precise explanation."""
    title, message = MESSAGES.get(status, MESSAGES[400 if status < 500 else 500])
    template = "errors/_error.html" if request.headers.get("HX-Request") else "errors/error.html"
    return render_template(template, status=status, title=title, message=detail or message), status


def database_unavailable(error: BaseException | None) -> bool:
    """Return True when error, or an error it came from, says the database is unreachable."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if _unreachable(error):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _unreachable(error: BaseException) -> bool:
    """Return True for a lost or refused connection, False for a bad statement (a bug)."""
    if isinstance(error, DisconnectionError | PoolTimeoutError):
        return True
    if not isinstance(error, UNAVAILABLE):
        return False
    if error.connection_invalidated or error.statement is None:
        return True  # the connection dropped, or none could be opened (refused, timed out)
    # SQLite has no server to lose: its file is locked for too long, or cannot be opened.
    return any(sign in str(error.orig) for sign in SQLITE_UNAVAILABLE)


def render_unavailable():
    """Render the 503 page without one query: no signed-in user to reload, no transaction."""
    # Rendering current_user would read the account again (or refresh its expired attributes).
    g._login_user = login_manager.anonymous_user()
    with contextlib.suppress(SQLAlchemyError):  # the connection is gone; the pool drops it
        db.session.rollback()
    body, status = _render_safely(503)
    return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _render_safely(status: int):
    """Render the error page, or the fixed French page if rendering fails too."""
    try:
        return render_error(status)
    except Exception:  # the last resort must answer, whatever failed
        log.warning("error page %s could not be rendered; plain page sent", status)
        title, message = MESSAGES[status]
        return FALLBACK_PAGE.format(status=status, title=title, message=message), status


def _where() -> str:
    """Return "METHOD /path" with tokens masked, for a log line."""
    return f"{request.method} {mask_path(request.path)}"


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        log.info("csrf refused: %s %s", request.method, request.path)
        return render_error(
            400,
            "Le formulaire a expiré ou n'a pas pu être vérifié. Revenez à la page précédente, "
            "rechargez-la puis envoyez de nouveau le formulaire.",
        )

    @app.errorhandler(429)
    def _rate_limited(error):
        log.warning("rate limit hit: %s", request.path)
        return render_error(429)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if isinstance(error, InternalServerError) and database_unavailable(
            error.original_exception
        ):
            return render_unavailable()
        if (error.code or 500) >= 500:
            return _render_safely(error.code or 500)
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if database_unavailable(error):
            # One line per request: the cause, never the statement's values or a traceback.
            log.error("database unavailable on %s: %s", _where(), type(error).__name__)
            return render_unavailable()
        log.exception("unexpected error on %s", _where())
        # A failed statement leaves the transaction aborted (PostgreSQL refuses every later
        # query), and rendering the page queries the database: start clean.
        try:
            db.session.rollback()
        except SQLAlchemyError:
            log.warning("rollback failed after an unexpected error")
        return _render_safely(500)
