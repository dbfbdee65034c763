"""The application factory, configuration and health check."""

import pytest

from irev import ConfigurationError, create_app
from irev.extensions import db


def test_refuses_development_secret_key_outside_debug(monkeypatch, tmp_path):
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(ConfigurationError, match="FLASK_SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-env-" + "x" * 32)
    monkeypatch.setenv("FLASK_IREV_BASE_URL", "https://rencontres.irev.fr/")
    monkeypatch.setenv("FLASK_MAIL_SERVER", "smtp.irev.test")
    monkeypatch.setenv("FLASK_MAIL_PORT", "2525")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    assert app.config["SECRET_KEY"] == "from-env-" + "x" * 32
    assert app.config["IREV_BASE_URL"] == "https://rencontres.irev.fr"
    assert app.config["MAIL_PORT"] == 2525
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_healthz_answers_200_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_healthz_answers_503_when_the_database_is_gone(app, client):
    from sqlalchemy import create_engine

    # Swap the engine for one whose file cannot be opened: the database "stops answering".
    db._app_engines[app][None] = create_engine("sqlite:////nonexistent/dir/db.sqlite3")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "indisponible"}
