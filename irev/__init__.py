"""The IREV meetings site: create_app() builds the Flask application."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from irev import config as default_config
from irev import database
from irev.extensions import csrf, db, htmx, login_manager, migrate

# Not imported as `mail`: the submodule irev.mail (the transport) would replace that name here.
from irev.extensions import mail as mail_extension


class ConfigurationError(RuntimeError):
    """The settings would make the site unsafe or unusable; the message says which."""


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, error pages and commands."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(default_config.Defaults)
    app.config.from_prefixed_env()
    if config:
        app.config.update(config)
    _finish_config(app)

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir())
    csrf.init_app(app)
    mail_extension.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    from irev import limiting, sessions

    limiting.init_app(app)
    sessions.init_app(app)

    import irev.models  # noqa: F401  (registers the tables on the metadata)
    from irev import cli, errors, request_guards, security, templating

    templating.init_app(app)
    from irev.services import cache

    cache.init_app(app)
    from irev import logging as irev_logging

    irev_logging.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    request_guards.init_app(app)  # before the blueprints: their rules use its int converter
    _register_blueprints(app)

    from irev import response_cache

    response_cache.init_app(app)  # inside ProxyFix: it sees the client's scheme and host
    hops = int(app.config["IREV_PROXY_HOPS"])
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app


def _register_blueprints(app: Flask) -> None:
    """Attach one blueprint per audience."""
    from irev.admin import bp as admin_bp
    from irev.public import bp as public_bp
    from irev.registration import bp as registration_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(registration_bp)
    app.register_blueprint(admin_bp)


def _finish_config(app: Flask) -> None:
    """Fill derived settings and refuse unsafe ones outside development and tests."""
    from irev import production

    # Names every missing mandatory setting at once, the secret key included.
    production.check_settings(app)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "irev.sqlite3")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    if production.is_development(app):
        app.config["SESSION_COOKIE_SECURE"] = False
        app.config["REMEMBER_COOKIE_SECURE"] = False
    app.config["IREV_BASE_URL"] = app.config["IREV_BASE_URL"].rstrip("/")


def _migrations_dir() -> str:
    """Return the migrations folder at the top of the repository."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")
