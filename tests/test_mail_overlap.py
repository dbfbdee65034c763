"""The worker records message n while the server reads the envelope of n+1, never later.

What makes a message leave is its final dot: n+1 gets it only once n is committed as sent, so
a worker killed at any point has sent at most one message it did not record. Checked against
a real SMTP server (aiosmtpd, which offers no PIPELINING; Postfix's pipelined path is covered
by tests/test_postfix_delivery.py).
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from irev.extensions import db
from irev.models import EmailStatus, MeetingStatus, OutboundEmail
from irev.services import outbox, sending


@pytest.fixture
def app_config(smtp_server):
    return {**smtp_server.app_config(), "IREV_MAIL_BATCH_SIZE": 10}


def _queue(create_meeting, create_registration, count: int) -> None:
    meeting = create_meeting(status=MeetingStatus.CANCELLED)
    for _ in range(count):
        registration = create_registration(meeting)
        outbox.enqueue(
            "meeting_cancelled_to_registrant",
            registration.person.email,
            dedupe_key=f"registration:{registration.id}:cancelled:test",
            registration=registration,
        )
    db.session.commit()


def _committed_sent(app) -> int:
    """Count the rows another connection sees as sent (what a restarted worker would see)."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM outbound_email WHERE status = 'sent'")
            ).scalar_one()
    finally:
        engine.dispose()


def test_message_n_is_committed_before_message_n_plus_1_leaves(
    app, smtp_server, create_meeting, create_registration, monkeypatch
):
    _queue(create_meeting, create_registration, 5)
    original = sending._record_sent
    seen = []

    def record(email, prepared):
        original(email, prepared)
        # Committed, and the server holds this message and none after it.
        seen.append((len(smtp_server.received), _committed_sent(app)))

    monkeypatch.setattr(sending, "_record_sent", record)
    report = sending.send_pending()

    assert report.sent == 5
    assert seen == [(n, n) for n in range(1, 6)]


class Broken(Exception):
    """The database fails while a message is recorded."""


def test_a_failed_record_stops_the_next_message_before_its_dot(
    app, smtp_server, create_meeting, create_registration, monkeypatch
):
    _queue(create_meeting, create_registration, 5)
    original = sending._record_sent
    calls = []

    def record(email, prepared):
        calls.append(email.id)
        if len(calls) == 3:
            raise Broken
        original(email, prepared)

    monkeypatch.setattr(sending, "_record_sent", record)
    with pytest.raises(Broken):
        sending.send_pending()
    db.session.rollback()

    # The third message left and could not be recorded; the fourth never got its dot.
    assert len(smtp_server.received) == 3
    db.session.expire_all()
    statuses = [row.status for row in db.session.scalars(db.select(OutboundEmail).order_by("id"))]
    assert statuses == [EmailStatus.SENT] * 2 + [EmailStatus.PENDING] * 3
