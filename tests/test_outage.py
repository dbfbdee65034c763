"""A database outage, on the site configured as in production: the French 503 page everywhere,
logs without tokens or personal data, and recovery without a restart.

The outage is real at the driver's edge: every new connection and every statement raises the
driver's own OperationalError (sqlite3 or psycopg), the pool is emptied so nothing answers from
an old connection, and SQLAlchemy wraps the error exactly as it does when PostgreSQL is down.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import event

from irev import create_app
from irev.extensions import db
from irev.models import Person, Registration
from irev.notifications import cancel_url, manage_url
from irev.page_cache import pages
from tests.admin_helpers import PASSWORD, create_staff
from tests.http_client import csrf_token
from tests.registration_support import confirm_path, form_data, path_of, season

BASE = "https://rencontres.irev.fr"
PRODUCTION = {
    "SECRET_KEY": "s" * 48,
    "IREV_BASE_URL": BASE,
    "MAIL_SERVER": "smtp.irev.test",
    "IREV_PROXY_HOPS": 1,
    "RATELIMIT_ENABLED": False,
}
#: Personal data of the registrant whose requests fail during the outage.
EMAIL = "camille.durand@roubaix.example"
NAMES = ("Camille", "Durand", "Roubaix")


@dataclass
class Site:
    """A production-configured app with a season, a registrant and their live links."""

    app: Flask
    confirm: str
    manage: str
    cancel: str
    meeting_slug: str
    meeting_id: int
    registration_id: int
    person_id: int

    def tokens(self) -> list[str]:
        """Return the tokens of the three links."""
        return [
            path.rstrip("/").split("/")[-1] for path in (self.confirm, self.manage, self.cancel)
        ]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch) -> None:
    """Start with no FLASK_* variable, so only what the test sets counts."""
    for name in list(os.environ):
        if name.startswith("FLASK_"):
            monkeypatch.delenv(name)


@pytest.fixture
def site(db_url: str) -> Iterator[Site]:
    """Build the site, register someone through the form, and leave no app context open."""
    app = create_app({**PRODUCTION, "SQLALCHEMY_DATABASE_URI": db_url})
    with app.app_context():
        db.create_all()
        meetings = season()
        create_staff()
        slug, meeting_id = meetings["open"].slug, meetings["open"].id
    client = app.test_client()
    page = client.get(f"{BASE}/inscription")
    data = form_data(slug, csrf_token=csrf_token(page.get_data(as_text=True)))
    sent = client.post(f"{BASE}/inscription", data=data, headers={"Referer": f"{BASE}/inscription"})
    assert sent.status_code == 303
    with app.app_context():
        confirm = confirm_path()
        person = db.session.scalar(db.select(Person).where(Person.email == EMAIL))
        registration = db.session.scalar(
            db.select(Registration).where(Registration.person_id == person.id)
        )
        found = Site(
            app=app,
            confirm=confirm,
            manage=path_of(manage_url(person)),
            cancel=path_of(cancel_url(registration)),
            meeting_slug=slug,
            meeting_id=meeting_id,
            registration_id=registration.id,
            person_id=person.id,
        )
    yield found
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@contextmanager
def outage(app: Flask) -> Iterator[None]:
    """Make the database unreachable: no new connection, no statement, until the block ends."""
    with app.app_context():
        engine = db.engine
    dbapi = engine.dialect.loaded_dbapi
    if engine.dialect.name == "sqlite":
        refused = lost = "unable to open database file"
    else:
        refused = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'
        lost = "server closed the connection unexpectedly"

    def refuse_connect(dialect, conn_rec, cargs, cparams):
        raise dbapi.OperationalError(refused)

    def refuse_statement(cursor, statement, parameters, context):
        raise dbapi.OperationalError(lost)

    hooks = [
        ("do_connect", refuse_connect),
        ("do_execute", refuse_statement),
        ("do_executemany", refuse_statement),
        ("do_execute_no_params", lambda cursor, statement, context: refuse_statement(0, 0, 0, 0)),
    ]
    for name, hook in hooks:
        event.listen(engine, name, hook)
    engine.dispose()  # pooled connections would still answer
    with app.app_context():
        pages().clear()
    app.extensions["irev_response_cache"].clear()
    try:
        yield
    finally:
        for name, hook in hooks:
            event.remove(engine, name, hook)


def sign_in_staff(client) -> None:
    """Sign the staff member in over HTTPS, as a browser does (CSRF token and Referer)."""
    page = client.get(f"{BASE}/admin/connexion")
    data = {
        "email": "equipe@irev.fr",
        "password": PASSWORD,
        "csrf_token": csrf_token(page.get_data(as_text=True)),
    }
    headers = {"Referer": f"{BASE}/admin/connexion"}
    assert client.post(f"{BASE}/admin/connexion", data=data, headers=headers).status_code == 303


def public_paths(site: Site) -> list[str]:
    """Return the public GET pages, the token pages among them."""
    slug = site.meeting_slug
    return [
        "/",
        f"/seances/{slug}",
        f"/seances/{slug}.ics",
        "/calendrier.ics",
        "/inscription",
        site.confirm,
        site.manage,
        f"{site.manage}/coordonnees",
        f"{site.manage}/tout-annuler",
        f"{site.manage}/annuler/{site.registration_id}",
        site.cancel,
    ]


#: Pages that may need no query: they answer normally, or with the outage page.
STATIC_PATHS = [
    "/inscription/envoyee",
    "/accessibilite",
    "/mentions-legales",
    "/donnees-personnelles",
]


def staff_paths(site: Site) -> list[str]:
    """Return staff GET pages."""
    meeting = site.meeting_id
    return [
        "/admin/",
        "/admin/seances",
        f"/admin/seances/{meeting}/inscriptions",
        f"/admin/seances/{meeting}/modifier",
        "/admin/personnes",
        f"/admin/personnes/{site.person_id}",
        "/admin/emails",
        "/admin/journal",
        "/admin/chiffres",
        "/admin/programme",
    ]


def assert_outage_page(response, path: str) -> None:
    """The French error page, 503, with a Retry-After."""
    body = response.get_data(as_text=True)
    assert response.status_code == 503, (path, response.status_code, body[:300])
    assert response.headers.get("Retry-After", "").isdigit(), path
    assert '<html lang="fr"' in body, path
    assert "Service momentanément indisponible" in body, path
    assert "Internal Server Error" not in body, path


def test_every_page_answers_the_french_503_and_the_site_recovers(site: Site) -> None:
    anonymous = site.app.test_client()
    staff = site.app.test_client()
    sign_in_staff(staff)
    with outage(site.app):
        for path in public_paths(site):
            assert_outage_page(anonymous.get(f"{BASE}{path}"), path)
            # A visitor with cookies goes through Flask, not the response cache.
            assert_outage_page(staff.get(f"{BASE}{path}"), path)
        for path in staff_paths(site):
            assert_outage_page(staff.get(f"{BASE}{path}"), path)
        # Anonymous visitors are still sent to the sign-in page, which needs no query.
        assert anonymous.get(f"{BASE}/admin/").status_code == 303
        for path in STATIC_PATHS:
            for client in (anonymous, staff):
                # Signed in, the layout reads the account: the outage page then.
                page = client.get(f"{BASE}{path}")
                if page.status_code != 200:
                    assert_outage_page(page, path)
        fragment = anonymous.get(
            f"{BASE}/seances/{site.meeting_slug}/places", headers={"HX-Request": "true"}
        )
        assert fragment.status_code == 503
        assert "Retry-After" in fragment.headers
    # Back without a restart: the same clients, the same sessions.
    assert anonymous.get(f"{BASE}/").status_code == 200
    assert anonymous.get(f"{BASE}{site.manage}").status_code == 200
    assert staff.get(f"{BASE}/admin/seances/{site.meeting_id}/inscriptions").status_code == 200


@contextmanager
def failing_writes(app: Flask) -> Iterator[None]:
    """Make every INSERT and UPDATE fail as PostgreSQL reports a constraint, DETAIL included.

    The driver's message quotes the row, as PostgreSQL does (« Failing row contains … »): only
    the scrubbing of log records stands between it and the log. The statement's own values are
    kept out by hide_parameters.
    """
    with app.app_context():
        engine = db.engine
    dbapi = engine.dialect.loaded_dbapi
    detail = (
        'new row for relation "person" violates check constraint "ck_person_email"\n'
        f"DETAIL:  Failing row contains (7, {EMAIL}, Camille, Durand, Ville de Roubaix)."
    )

    def refuse(cursor, statement, parameters, context):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            raise dbapi.IntegrityError(detail)
        return False

    event.listen(engine, "do_execute", refuse)
    try:
        yield
    finally:
        event.remove(engine, "do_execute", refuse)


def post_form(client, path: str, data: dict):
    """Post a form as a browser does over HTTPS: CSRF token of the page, same-origin Referer."""
    page = client.get(f"{BASE}{path}")
    data = {**data, "csrf_token": csrf_token(page.get_data(as_text=True)) or ""}
    return client.post(f"{BASE}{path}", data=data, headers={"Referer": f"{BASE}{path}"})


def details_data(**overrides) -> dict:
    """Return the details form filled with the registrant's data."""
    data = form_data()
    fields = ("first_name", "last_name", "phone", "organisation", "mandate", "department")
    return {**{name: data[name] for name in fields}, **overrides}


def assert_clean(caplog, site: Site) -> None:
    """No token, address or name in any captured line, tracebacks included."""
    text = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert "irev.request" in caplog.text  # the request lines were captured
    for token in site.tokens():
        assert token not in text
        assert token.split(".")[-1] not in text  # not even the signature alone
    assert "@" not in text.replace("<adresse>", "")
    for name in NAMES:
        assert name not in text
    assert "parameters: (" not in text and "parameters: {" not in text


def test_outage_logs_one_masked_line_per_request(site: Site, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = site.app.test_client()
    client.get(f"{BASE}{site.confirm}")  # the session cookie a visitor would hold
    with outage(site.app):
        for path in public_paths(site):
            client.get(f"{BASE}{path}")
        # Form POSTs carry the address and the names; the driver fails on the first statement.
        post_form(client, "/inscription", form_data(site.meeting_slug))
        post_form(client, site.confirm, {})
        post_form(client, f"{site.manage}/coordonnees", details_data(first_name="Camillou"))
        post_form(client, site.cancel, {})
    assert_clean(caplog, site)
    failures = [r for r in caplog.records if r.name == "irev.errors"]
    assert failures and all(r.exc_info is None for r in failures)  # one line, no traceback
    masked = [r.getMessage() for r in failures if "/inscription/gerer/" in r.getMessage()]
    assert masked and all("/inscription/gerer/<jeton>" in line for line in masked)
    assert "Camillou" not in caplog.text


def test_failing_statement_logs_no_value_of_the_row(site: Site, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = site.app.test_client()
    with failing_writes(site.app):
        submitted = post_form(client, "/inscription", form_data(site.meeting_slug))
        corrected = post_form(client, f"{site.manage}/coordonnees", details_data(last_name="Dupré"))
        confirmed = post_form(client, site.confirm, {})
    for response in (submitted, corrected, confirmed):
        assert response.status_code == 500
        assert "Erreur du serveur" in response.get_data(as_text=True)
    assert_clean(caplog, site)
    # The traceback is kept (this is a bug to fix, not an outage), with its values masked.
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert tracebacks
    assert "IntegrityError" in caplog.text
    assert "DETAIL: <masqué>" in caplog.text
    assert "SQL parameters hidden" in caplog.text
    assert "Dupré" not in caplog.text


def test_gunicorn_error_line_is_masked_too(site: Site, caplog) -> None:
    """gunicorn logs "Error handling request <path>" when an error escapes the application."""
    caplog.set_level(logging.INFO)
    try:
        raise RuntimeError(f"failed for {EMAIL}")
    except RuntimeError:
        logging.getLogger("gunicorn.error").exception("Error handling request %s", site.manage)
    line = caplog.text
    assert "Error handling request /inscription/gerer/<jeton>" in line
    assert "failed for <adresse>" in line
    assert site.tokens()[1] not in line and EMAIL not in line
