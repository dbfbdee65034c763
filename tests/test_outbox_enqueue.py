"""Queueing e-mails: in the caller's transaction, never twice for one key."""

from irev.extensions import db
from irev.models import OutboundEmail
from irev.services import outbox


def test_enqueue_is_part_of_the_callers_transaction(app, create_registration):
    registration = create_registration()
    db.session.commit()
    assert outbox.enqueue(
        "seat_to_registrant",
        registration.person.email,
        dedupe_key=f"registration:{registration.id}:seat:1",
        registration=registration,
    )
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(OutboundEmail.id))) == 0


def test_same_key_is_queued_once(app, create_registration):
    registration = create_registration()
    key = f"registration:{registration.id}:seat:1"
    assert outbox.enqueue("seat_to_registrant", "a@b.example", dedupe_key=key)
    assert not outbox.enqueue("seat_to_registrant", "a@b.example", dedupe_key=key)
    db.session.commit()
    rows = db.session.scalars(db.select(OutboundEmail)).all()
    assert len(rows) == 1
    assert rows[0].status.value == "pending"
