"""French error pages with the right status codes; never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from irev.extensions import db

log = logging.getLogger(__name__)

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
}


def render_error(status: int, detail: str | None = None):
    """Render the French error page for status, with an optional precise explanation."""
    title, message = MESSAGES.get(status, MESSAGES[400 if status < 500 else 500])
    template = "errors/_error.html" if request.headers.get("HX-Request") else "errors/error.html"
    return render_template(template, status=status, title=title, message=detail or message), status


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
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        # A failed statement leaves the transaction aborted (PostgreSQL refuses every later
        # query), and rendering the page queries the database: start clean.
        try:
            db.session.rollback()
        except SQLAlchemyError:
            log.warning("rollback failed after an unexpected error")
        return render_error(500)
