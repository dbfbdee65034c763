"""Production settings: outside debug and tests the site refuses to start half-configured.

Every missing or unsafe setting is named at once, with the variable to set, so that whoever runs
the server fixes them in one go instead of one restart per problem.
"""

from __future__ import annotations

import logging

from flask import Flask

from irev import config as default_config

log = logging.getLogger(__name__)


def is_development(app: Flask) -> bool:
    """Return True under `flask run --debug`, `make run` and the tests."""
    return bool(app.debug or app.testing)


def missing_settings(app: Flask) -> list[str]:
    """Return one French line per mandatory setting that is missing or unsafe (empty if fine)."""
    if is_development(app):
        return []
    config = app.config
    problems = []
    if config.get("SECRET_KEY") in (None, "", default_config.DEV_SECRET_KEY):
        problems.append(
            "FLASK_SECRET_KEY : absente ou égale à la clé de développement ; mettez une valeur "
            "aléatoire d'au moins 32 caractères."
        )
    elif len(str(config["SECRET_KEY"])) < 32:
        problems.append("FLASK_SECRET_KEY : trop courte (32 caractères au moins).")
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        problems.append(
            "FLASK_SQLALCHEMY_DATABASE_URI : absente ; indiquez la base PostgreSQL, par exemple "
            "postgresql+psycopg://irev@/irev."
        )
    base_url = str(config.get("IREV_BASE_URL") or "")
    if not base_url.startswith("https://") or base_url.rstrip("/") == _default_base_url():
        problems.append(
            "FLASK_IREV_BASE_URL : doit être l'adresse publique du site en https:// "
            "(elle sert aux liens envoyés par e-mail)."
        )
    if not config.get("MAIL_SERVER"):
        problems.append(
            "FLASK_MAIL_SERVER : absent ; sans serveur SMTP aucun e-mail ne partirait "
            "(la capture en base est réservée au développement)."
        )
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if not config.get(name):
            problems.append(f"FLASK_{name} : doit rester à true (cookies réservés à HTTPS).")
    return problems


def apply_production_settings(app: Flask) -> None:
    """Turn on what production needs whatever the environment says: HSTS, https URLs."""
    if is_development(app):
        return
    app.config["IREV_HSTS"] = True
    app.config["PREFERRED_URL_SCHEME"] = "https"
    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith("memory://"):
        log.warning(
            "rate limits are kept in memory: each gunicorn worker counts on its own; "
            "set FLASK_RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0"
        )
    if not int(app.config["IREV_PROXY_HOPS"]):
        log.warning(
            "FLASK_IREV_PROXY_HOPS is 0: behind nginx set it to 1, or every visitor shares "
            "the proxy's address for rate limits"
        )


def check_settings(app: Flask) -> None:
    """Raise ConfigurationError naming every missing mandatory setting, then apply the rest."""
    from irev import ConfigurationError

    problems = missing_settings(app)
    if problems:
        raise ConfigurationError(
            "Le site refuse de démarrer hors développement : réglages manquants ou dangereux "
            "(voir deploy/irev.env.example et docs/deploy.md).\n  - " + "\n  - ".join(problems)
        )
    apply_production_settings(app)


def _default_base_url() -> str:
    """Return the development base URL, which is never a production address."""
    return str(default_config.Defaults.IREV_BASE_URL).rstrip("/")
