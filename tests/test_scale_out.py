"""Scale-out: two gunicorn instances and two mail workers on one PostgreSQL schema and one Redis.

Proves, with real processes talking HTTPS and SMTP on 127.0.0.1 (each instance in production
mode over TLS, as nginx would reach it from outside): no overbooking when people
confirm at the same moment through both instances, rate limits counted across instances (Redis),
and every e-mail delivered exactly once although two workers share the outbox.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from irev import create_app
from irev.extensions import db
from irev.models import (
    EmailStatus,
    Meeting,
    OutboundEmail,
    Person,
    Programme,
    Registration,
    RegistrationState,
    utcnow,
)
from tests import factories, servers
from tests.conftest import TEST_CONFIG, database_url, drop_schema
from tests.http_client import Client
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.postgresql

ROOT = Path(__file__).resolve().parent.parent
REDIS = ("127.0.0.1", 6379)
#: This test's own loopback ports, when free.
PORTS = range(5620, 5660)
CAPACITY = 10
PEOPLE = 30
#: Bounds: nothing here may run forever.
START_TIMEOUT = 60
MAIL_TIMEOUT = 120
CONFIRM_LINK = re.compile(r"https://rencontres\.irev\.test(/inscription/confirmer/[^\s<>\"]+)")


def redis_reachable() -> bool:
    """Return True when Redis answers on 127.0.0.1:6379."""
    try:
        with socket.create_connection(REDIS, timeout=2) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def redis_url() -> str:
    """Redis database 13 on this machine (CI: the machine's Redis service)."""
    if not redis_reachable():
        pytest.skip("needs Redis on 127.0.0.1:6379 (apt-get install redis-server)")
    return "redis://127.0.0.1:6379/13"


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory) -> Iterator[str]:
    """One PostgreSQL schema for every process, its tables created."""
    url, schema = database_url(tmp_path_factory.mktemp("scale"))
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    yield url
    drop_schema(schema)


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback, counting what arrives."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(shared_db, redis_url, smtp, tmp_path_factory) -> Iterator[dict]:
    """Two gunicorn instances (two workers each, over TLS) and two mail workers, as in
    production."""
    logs = tmp_path_factory.mktemp("logs")
    tls = servers.make_tls(logs / "tls")
    env = servers.server_env(
        shared_db,
        "https://rencontres.irev.test",
        mail_port=smtp.port,
        secret_key="scale-out-" + uuid.uuid4().hex * 2,
        extra={
            "FLASK_IREV_PROXY_HOPS": "1",
            "FLASK_RATELIMIT_STORAGE_URI": redis_url,
            # A fresh prefix: counts from an earlier run never leak into this one.
            "FLASK_RATELIMIT_KEY_PREFIX": f"irev-scale-{uuid.uuid4().hex[:12]}",
            "GUNICORN_WORKERS": "2",
            "GUNICORN_MAX_REQUESTS": "0",
        },
    )
    ports = [servers.free_port(PORTS), servers.free_port(PORTS)]
    with contextlib.ExitStack() as stack:
        for name, port in zip("ab", ports, strict=True):
            stack.enter_context(
                servers.gunicorn(
                    port,
                    env,
                    logs / f"web-{name}.log",
                    tls=tls,
                    startup_timeout=START_TIMEOUT,
                    stop_timeout=30,
                    new_session=True,
                    config="deploy/gunicorn.conf.py",
                    workers=None,  # GUNICORN_WORKERS, read by the production settings
                    graceful_timeout=None,
                )
            )
        workers = [
            stack.enter_context(
                servers.mail_worker(env, logs / f"mail-{name}.log", interval=0.5, new_session=True)
            )
            for name in ("1", "2")
        ]
        yield {"ports": ports, "logs": logs, "workers": workers, "tls": tls.client_context()}


@pytest.fixture
def data(shared_db) -> Iterator[object]:
    """An app in this process on the shared schema, to seed and to read the outcome."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": shared_db})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def open_meeting(capacity: int) -> Meeting:
    """Add an open meeting to the current programme (created on first use)."""
    programme = db.session.scalar(sa.select(Programme).filter_by(slug="scale-out"))
    if programme is None:
        programme = factories.create_programme(slug="scale-out", year=2999)
    meeting = factories.create_meeting(
        programme=programme,
        capacity=capacity,
        starts_at=utcnow().replace(microsecond=0) + timedelta(days=20),
    )
    db.session.commit()
    return meeting


def wait_until(condition, timeout: float, what: str) -> None:
    """Poll condition until it holds or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_rate_limits_are_counted_across_instances(cluster, data):
    meeting = open_meeting(capacity=100)
    port_a, port_b = cluster["ports"]
    limit = 10  # IREV_RATELIMIT_SUBMIT_IP default: 10 per minute for one client address
    statuses = []
    for n in range(limit):
        # One client address, alternating instances: each instance alone sees 5 submissions.
        client = Client(port_a if n % 2 == 0 else port_b, "198.51.100.7", tls=cluster["tls"])
        statuses.append(client.register(f"limite-{n}@commune.example", meeting.slug))
    assert statuses == [303] * limit
    # The 11th, through either instance, is refused: both count in the same Redis.
    for port in (port_a, port_b):
        client = Client(port, "198.51.100.7", tls=cluster["tls"])
        assert client.register(f"limite-plus-{port}@commune.example", meeting.slug) == 429
    # Another address is not affected.
    assert (
        Client(port_b, "198.51.100.8", tls=cluster["tls"]).register(
            "autre@commune.example", meeting.slug
        )
        == 303
    )


def test_no_overbooking_and_every_email_once(cluster, data, smtp):
    meeting = open_meeting(capacity=CAPACITY)
    port_a, port_b = cluster["ports"]
    addresses = [f"elu{n}@scale.example" for n in range(PEOPLE)]
    # Each person registers through one instance or the other, from their own address.
    for n, email in enumerate(addresses):
        client = Client(port_a if n % 2 else port_b, f"192.0.2.{n + 1}", tls=cluster["tls"])
        assert client.register(email, meeting.slug) == 303

    # The workers deliver the confirmation e-mails; each holds the link.
    links = {}

    def all_links_arrived() -> bool:
        for item in list(smtp.received):
            if item.to in addresses and item.to not in links:
                body = item.message.get_body(preferencelist=("plain",)).get_content()
                found = re.search(
                    r"https://rencontres\.irev\.test(/inscription/confirmer/\S+)", body
                )
                if found:
                    links[item.to] = found.group(1)
        return len(links) == PEOPLE

    wait_until(all_links_arrived, MAIL_TIMEOUT, "the confirmation e-mails")

    # Everybody opens their link (through either instance), then all confirm at the same moment.
    visitors = []
    for n, email in enumerate(addresses):
        client = Client(port_b if n % 2 else port_a, f"192.0.2.{n + 1}", tls=cluster["tls"])
        visitors.append((client, links[email], client.csrf(links[email])))
    barrier = threading.Barrier(PEOPLE, timeout=60)

    def confirm(visitor) -> int:
        client, path, token = visitor
        barrier.wait()
        return client.request("POST", path, {"csrf_token": token})[0]

    with ThreadPoolExecutor(max_workers=PEOPLE) as pool:
        statuses = list(pool.map(confirm, visitors))
    assert statuses == [200] * PEOPLE

    db.session.expire_all()
    states = Counter(
        db.session.scalars(
            sa.select(Registration.state).where(Registration.meeting_id == meeting.id)
        )
    )
    assert states == {
        RegistrationState.SEATED: CAPACITY,
        RegistrationState.WAITING: PEOPLE - CAPACITY,
    }
    assert db.session.get(Meeting, meeting.id).seats_taken == CAPACITY

    # Every queued e-mail (requests, seats, waiting list, staff notices) leaves exactly once.
    def outbox_drained() -> bool:
        db.session.expire_all()
        pending = db.session.scalar(
            sa.select(sa.func.count(OutboundEmail.id)).where(
                OutboundEmail.status == EmailStatus.PENDING
            )
        )
        return pending == 0

    wait_until(outbox_drained, MAIL_TIMEOUT, "the outbox to empty")
    sent = db.session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.status == EmailStatus.SENT)
    ).all()
    failed = db.session.scalar(
        sa.select(sa.func.count(OutboundEmail.id)).where(OutboundEmail.status != EmailStatus.SENT)
    )
    assert failed == 0
    time.sleep(1)  # a duplicate would arrive right after its twin: give it the chance
    received_ids = Counter(str(item.message["Message-ID"]) for item in smtp.received)
    assert len(smtp.received) == len(sent)
    assert set(received_ids.values()) == {1}
    assert received_ids.keys() == {email.message_id for email in sent}
    # Each person got their request e-mail once and one answer (seat or waiting list) once.
    people_ids = set(db.session.scalars(sa.select(Person.id).where(Person.email.in_(addresses))))
    per_person = Counter(
        (email.person_id, email.kind) for email in sent if email.person_id in people_ids
    )
    assert set(per_person.values()) == {1}
    kinds = Counter(kind for (_, kind) in per_person)
    assert kinds["request_to_registrant"] == PEOPLE
    assert kinds["seated_to_registrant"] == CAPACITY
    assert kinds["waiting_to_registrant"] == PEOPLE - CAPACITY
