"""The e-mail outbox: queue messages in the caller's transaction; the worker sends them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from irev.extensions import db
from irev.models import Meeting, OutboundEmail, Person, Registration, utcnow


def enqueue(
    kind: str,
    to_address: str,
    *,
    dedupe_key: str,
    to_name: str = "",
    person: Person | None = None,
    registration: Registration | None = None,
    meeting: Meeting | None = None,
    context: dict[str, Any] | None = None,
) -> bool:
    """Queue one e-mail in the current transaction; return False if that key was queued already.

    Nothing is committed here: the message exists only if the caller's change commits, and the
    unique dedupe_key makes a second call with the same key a no-op (INSERT ... ON CONFLICT).
    """
    if registration is not None:
        person = person or registration.person
        meeting = meeting or registration.meeting
    db.session.flush()  # the linked rows need their ids
    values = dict(
        kind=kind,
        dedupe_key=dedupe_key,
        to_address=to_address,
        to_name=to_name or (person.full_name if person else ""),
        person_id=person.id if person else None,
        registration_id=registration.id if registration else None,
        meeting_id=meeting.id if meeting else None,
        context=context or {},
        status="pending",
        attempts=0,
        last_error="",
        next_attempt_at=utcnow(),
        created_at=utcnow(),
        subject="",
        message_id="",
    )
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(OutboundEmail)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboundEmail.id)
    )
    return db.session.execute(statement).scalar() is not None
