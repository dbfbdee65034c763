"""Production settings: mandatory settings, HSTS, Secure cookies, generic errors, clean logs."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator

import pytest
from flask import Flask, session

from irev import ConfigurationError, create_app
from irev.extensions import db
from irev.logging import mask_path
from irev.models import OutboundEmail
from irev.services import outbox, sending
from irev.tokens import make_token
from tests import factories
from tests.conftest import TEST_CONFIG

SECRET = "s" * 48

#: The settings the deployment guide's environment file gives, nothing more.
PRODUCTION = {
    "SECRET_KEY": SECRET,
    "IREV_BASE_URL": "https://rencontres.irev.fr",
    "MAIL_SERVER": "smtp.irev.test",
    "IREV_PROXY_HOPS": 1,
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch) -> None:
    """Start each test with no FLASK_* variable, so only what the test sets counts."""
    for name in list(os.environ):
        if name.startswith("FLASK_"):
            monkeypatch.delenv(name)


@pytest.fixture
def prod_app(db_url: str) -> Iterator[Flask]:
    """An application configured as in production (not debug, not testing)."""
    app = create_app({**PRODUCTION, "SQLALCHEMY_DATABASE_URI": db_url})

    @app.get("/_test/boom")
    def boom():
        raise RuntimeError("secret internal detail at /srv/irev/app")

    @app.get("/_test/session")
    def set_session():
        session["seen"] = True
        return "ok"

    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_refuses_to_start_and_names_every_missing_setting():
    with pytest.raises(ConfigurationError) as raised:
        create_app()
    message = str(raised.value)
    for name in (
        "FLASK_SECRET_KEY",
        "FLASK_SQLALCHEMY_DATABASE_URI",
        "FLASK_IREV_BASE_URL",
        "FLASK_MAIL_SERVER",
    ):
        assert name in message
    assert "deploy/irev.env.example" in message


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"IREV_BASE_URL": "http://rencontres.irev.fr"}, "FLASK_IREV_BASE_URL"),
        ({"SECRET_KEY": "short"}, "FLASK_SECRET_KEY"),
        ({"MAIL_SERVER": ""}, "FLASK_MAIL_SERVER"),
        ({"SESSION_COOKIE_SECURE": False}, "FLASK_SESSION_COOKIE_SECURE"),
    ],
)
def test_refuses_an_unsafe_setting(tmp_path, override, named):
    config = {**PRODUCTION, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db", **override}
    with pytest.raises(ConfigurationError) as raised:
        create_app(config)
    assert named in str(raised.value)
    assert str(raised.value).count("\n  - ") == 1  # only the bad one is named


def test_settings_read_from_the_environment_start_the_site(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_SECRET_KEY", SECRET)
    monkeypatch.setenv("FLASK_SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("FLASK_IREV_BASE_URL", "https://rencontres.irev.fr")
    monkeypatch.setenv("FLASK_MAIL_SERVER", "smtp.irev.test")
    app = create_app()
    assert app.debug is False
    assert app.testing is False
    assert app.config["IREV_HSTS"] is True
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_development_and_tests_need_none_of_it(monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app()
    assert app.debug
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert create_app({"TESTING": True}).testing is True


def test_hsts_over_https_behind_the_proxy(prod_app):
    client = prod_app.test_client()
    proxied = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert proxied.status_code == 200
    assert proxied.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    direct = client.get("/healthz", base_url="https://rencontres.irev.fr")
    assert "Strict-Transport-Security" in direct.headers
    # Plain HTTP never carries HSTS (browsers ignore it there; nginx redirects anyway).
    plain = client.get("/healthz", base_url="http://rencontres.irev.fr")
    assert "Strict-Transport-Security" not in plain.headers


def test_session_cookie_is_secure_httponly_lax(prod_app):
    response = prod_app.test_client().get("/_test/session", headers={"X-Forwarded-Proto": "https"})
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_unexpected_error_shows_a_generic_french_page(prod_app):
    response = prod_app.test_client().get("/_test/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Erreur du serveur" in body
    assert "secret internal detail" not in body
    assert "Traceback" not in body
    assert "RuntimeError" not in body


def test_request_log_has_no_token_query_or_address(prod_app, caplog):
    with prod_app.test_request_context():
        token = make_token("confirm", {"r": "abc", "e": "camille@commune.example"})
    caplog.set_level(logging.INFO, logger="irev")
    client = prod_app.test_client()
    client.get(
        f"/inscription/confirmer/{token}?email=camille%40commune.example",
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    client.get("/healthz?token=abc")
    lines = [r.getMessage() for r in caplog.records if r.name == "irev.request"]
    assert len(lines) == 2
    # Whatever the registration blueprint answers to a forged link, the line has no token.
    assert re.fullmatch(r"GET /inscription/confirmer/<jeton> \d{3} [\d.]+ms", lines[0])
    assert lines[1].startswith("GET /healthz 200 ")
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in everything
    assert "@" not in everything and "commune" not in everything
    assert "203.0.113.9" not in everything
    assert "token=" not in everything


def test_one_log_line_per_email_without_the_address(db_url, smtp_server, caplog):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": db_url, **smtp_server.app_config()})
    with app.app_context():
        db.create_all()
        registrations = [
            factories.create_registration(
                person=factories.create_person(email=f"camille.{n}@commune.example")
            )
            for n in range(3)
        ]
        for registration in registrations:
            outbox.enqueue(
                "seated_to_registrant",
                registration.person.email,
                dedupe_key=f"log-{registration.id}",
                registration=registration,
            )
        db.session.commit()
        caplog.set_level(logging.INFO, logger="irev")
        sending.send_pending()
        ids = set(db.session.scalars(db.select(OutboundEmail.id)))
        db.session.remove()
        db.engine.dispose()
    assert len(smtp_server.received) == 3
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("irev")]
    for email_id in ids:
        assert len([line for line in lines if f" {email_id} sent" in line]) == 1
    everything = "\n".join(lines)
    assert "@" not in everything
    assert "camille" not in everything.lower()


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/", "/"),
        ("/seances/2023-03-01-energie-et-climat", "/seances/2023-03-01-energie-et-climat"),
        ("/seances/2023-03-01-energie.ics", "/seances/2023-03-01-energie.ics"),
        ("/inscription/gerer/eyJwIjoxLCJ2IjowfQ.ZmX1aQ.q9P0Vv3b1Cq6a1d2Zb7_kPqWc3A", None),
        ("/inscription/annuler/.eJyrVkrLz1eyUkpKLFKqBQAYjQQz.ZmX1aQ.q9P0Vv3b1Cq6a1d2/ok", None),
        ("/x/Q2hhbmdlTWUxMjM0NTY3ODkwYWJjZGVm", "/x/<jeton>"),
    ],
)
def test_mask_path(path, logged):
    masked = mask_path(path)
    if logged is None:
        assert "<jeton>" in masked
        assert "eJ" not in masked and "q9P0" not in masked
    else:
        assert masked == logged


@pytest.mark.parametrize("referer", [None, "https://autre-site.example/page"])
def test_token_pages_send_same_origin_and_their_buttons_work_over_https(prod_app, referer):
    """Over HTTPS Flask-WTF wants a same-origin Referer on every POST: a token page must let the
    browser send it to this site (same-origin), never to another, and the check stays on."""
    from irev.models import RegistrationState
    from irev.notifications import cancel_url
    from tests.http_client import csrf_token

    registration = factories.create_registration(state=RegistrationState.SEATED)
    db.session.commit()
    with prod_app.test_request_context():
        url = cancel_url(registration)
    client = prod_app.test_client()
    page = client.get(url, base_url="https://rencontres.irev.fr")
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    form = {"csrf_token": csrf_token(page.get_data(as_text=True))}
    headers = {"Referer": referer} if referer else {}
    refused = client.post(url, data=form, headers=headers, base_url="https://rencontres.irev.fr")
    assert refused.status_code == 400  # the CSRF referrer check is still on
    assert "La page a expiré" in refused.get_data(as_text=True)
    db.session.refresh(registration)
    assert registration.state is RegistrationState.SEATED
    # What Chromium sends under `same-origin`: the page's own URL.
    done = client.post(
        url, data=form, headers={"Referer": url}, base_url="https://rencontres.irev.fr"
    )
    assert done.status_code == 200
    assert "Votre inscription est annulée" in done.get_data(as_text=True)
    db.session.refresh(registration)
    assert registration.state is RegistrationState.CANCELLED_BY_PERSON
