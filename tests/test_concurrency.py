"""Never overbook: 200 confirmations at once for 50 seats, through gunicorn with 4 workers.

Runs on whichever database the suite uses (SQLite by default, PostgreSQL when
TEST_DATABASE_URL is set; CI runs both). The server runs as in production: TLS, production
mode (CSRF with its strict HTTPS referrer check, Secure cookies), several processes and
threads, each request its own transaction. No mail worker runs: the e-mails are counted in the
outbox, where the confirmations write them.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from irev import create_app
from irev.extensions import db
from irev.models import AuditEvent, Meeting, OutboundEmail, Registration, RegistrationState
from irev.services import registrations as service
from tests import factories, servers
from tests.conftest import TEST_CONFIG, database_url, drop_schema
from tests.http_client import Client, csrf_token
from tests.smtp_server import SmtpServer

PEOPLE = 200
SEATS = 50
WORKERS = 4
THREADS = 8
S = RegistrationState


@pytest.fixture(scope="module")
def smtp():
    """The SMTP server production mode requires (nothing is sent: no worker runs here)."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, smtp):
    """A migrated database with one 50-seat meeting and 200 unconfirmed requests, served over
    TLS by gunicorn (4 workers, 8 threads each)."""
    from flask_migrate import upgrade

    tmp = tmp_path_factory.mktemp("concurrency")
    tls = servers.make_tls(tmp / "tls")
    url_db, schema = database_url(tmp)
    port = servers.free_port()
    base = servers.origin(port)
    secret = secrets.token_urlsafe(32)
    app = create_app(
        {
            **TEST_CONFIG,
            "SQLALCHEMY_DATABASE_URI": url_db,
            "SECRET_KEY": secret,
            "IREV_BASE_URL": base,
        }
    )
    with app.app_context():
        upgrade()
        programme = factories.create_programme(year=2100)
        meeting = factories.create_meeting(programme=programme, slug="affluence", capacity=SEATS)
        paths = []
        for n in range(PEOPLE):
            person = factories.create_person(email=f"elu{n:03d}@concurrence.example")
            key = f"cle-{n:03d}"
            db.session.add(
                Registration(person=person, meeting=meeting, state=S.REQUESTED, request_key=key)
            )
            db.session.flush()
            paths.append(service.confirm_url(person, key).removeprefix(base))
        db.session.commit()
        meeting_id = meeting.id
        db.session.remove()
    env = servers.server_env(url_db, base, mail_port=smtp.port, secret_key=secret)
    log_path = tmp / "gunicorn.log"
    try:
        with servers.gunicorn(port, env, log_path, tls=tls, workers=WORKERS, threads=THREADS):
            yield {
                "base": base,
                "port": port,
                "tls": tls,
                "paths": paths,
                "app": app,
                "meeting_id": meeting_id,
                "log": log_path,
            }
    finally:
        with app.app_context():
            db.engine.dispose()
        drop_schema(schema)


class Visitor:
    """One person's browser: its cookies, the confirmation page, then the button."""

    def __init__(self, server: dict, path: str) -> None:
        self.client = Client(server["port"], timeout=120, tls=server["tls"].client_context())
        self.path = path
        self.csrf = ""

    def open_link(self) -> int:
        """GET the page behind the e-mailed link and keep its CSRF token."""
        status, html = self.client.request("GET", self.path)
        self.csrf = csrf_token(html)
        return status

    def press_button(self) -> tuple[int, str]:
        """POST the confirmation; return the status and the page."""
        return self.client.request("POST", self.path, {"csrf_token": self.csrf})


def test_200_confirmations_for_50_seats(server, capsys):
    visitors = [Visitor(server, path) for path in server["paths"]]
    with ThreadPoolExecutor(max_workers=32) as pool:
        assert set(pool.map(lambda v: v.open_link(), visitors)) == {200}

    start = threading.Barrier(PEOPLE)

    def confirm(visitor: Visitor) -> tuple[int, str]:
        start.wait()  # everybody presses at the same moment
        return visitor.press_button()

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=PEOPLE) as pool:
        answers = list(pool.map(confirm, visitors))
    elapsed = time.perf_counter() - began

    statuses = Counter(status for status, _ in answers)
    assert statuses == {200: PEOPLE}, server["log"].read_text()[-5000:]
    pages = Counter(
        "seated" if "Votre place est réservée." in page else "waiting"
        for _, page in answers
        if "Votre place est réservée." in page or "liste d’attente, en position" in page
    )
    assert pages == {"seated": SEATS, "waiting": PEOPLE - SEATS}

    with server["app"].app_context():
        meeting = db.session.get(Meeting, server["meeting_id"])
        states = Counter(
            db.session.scalars(
                sa.select(Registration.state).where(Registration.meeting_id == meeting.id)
            )
        )
        assert states == {S.SEATED: SEATS, S.WAITING: PEOPLE - SEATS}
        assert meeting.seats_taken == SEATS
        # Waiting positions: the e-mailed ones are 1..150, each given once, in the order of
        # the list, and still what the list says now.
        waiting = list(
            db.session.scalars(
                sa.select(Registration)
                .where(Registration.meeting_id == meeting.id, Registration.state == S.WAITING)
                .order_by(Registration.state_changed_at, Registration.id)
            )
        )
        mailed = {
            mail.registration_id: mail.context["position"]
            for mail in db.session.scalars(
                sa.select(OutboundEmail).where(OutboundEmail.kind == "waiting_to_registrant")
            )
        }
        assert [mailed[r.id] for r in waiting] == list(range(1, PEOPLE - SEATS + 1))
        assert [service.waiting_position(r) for r in waiting] == list(range(1, PEOPLE - SEATS + 1))
        kinds = Counter(
            db.session.scalars(sa.select(OutboundEmail.kind).where(OutboundEmail.kind != ""))
        )
        assert kinds == {"seated_to_registrant": SEATS, "waiting_to_registrant": PEOPLE - SEATS}
        confirmations = db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.action == "registration.confirm"
            )
        )
        assert confirmations == PEOPLE
        backend = db.engine.dialect.name
    with capsys.disabled():
        print(
            f"\n[concurrency] {backend}: {PEOPLE} confirmations for {SEATS} seats through gunicorn "
            f"({WORKERS} workers x {THREADS} threads) in {elapsed:.2f} s "
            f"({PEOPLE / elapsed:.0f} confirmations/s)"
        )
