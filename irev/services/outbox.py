"""The e-mail outbox: queue messages in the caller's transaction; lease and retry the rows.

Every e-mail is a row first, written with the change that causes it; nothing here talks SMTP.
The worker (irev.services.sending) claims due rows here and sends them; staff read them through
irev.services.email_log. This module imports neither, so any service may queue mail.

A claimed row is leased (FOR UPDATE SKIP LOCKED on PostgreSQL, so several workers never take
the same row). A failure is retried after 1, 2, 4, 8 ... minutes for IREV_MAIL_GIVE_UP_HOURS
(24), then the row is marked failed for staff to see.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value

from irev.extensions import db
from irev.models import EmailStatus, Meeting, OutboundEmail, Person, Registration, utcnow

#: Context key stamped on every message about a meeting: the times it announced.
SCHEDULE_KEY = "_schedule"
#: The times a message announces (ISO, UTC), so a later change e-mail can say « de … à … ».
TIMES_KEY = "_times"


def schedule_version(meeting: Meeting) -> str:
    """Return a short digest of the meeting's times: it changes when the time changes."""
    raw = f"{meeting.starts_at.isoformat()}|{meeting.ends_at.isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


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
    db.session.flush()  # the linked rows need their ids
    values = _row_values(
        kind, to_address, dedupe_key, to_name, person, registration, meeting, context
    )
    extra = _assistant_copies([values])
    inserted = _insert_new([values])
    if extra:
        _insert_new(extra)
    return bool(inserted)


def enqueue_many(messages: Sequence[dict[str, Any]]) -> list[str]:
    """Queue several e-mails (each a dict of enqueue()'s arguments); return the new ones' kinds.

    The same rules as enqueue(), in a few statements instead of one per message.
    """
    if not messages:
        return []
    db.session.flush()
    rows = [
        _row_values(
            m["kind"],
            m["to_address"],
            m["dedupe_key"],
            m.get("to_name", ""),
            m.get("person"),
            m.get("registration"),
            m.get("meeting"),
            m.get("context"),
        )
        for m in messages
    ]
    extra = _assistant_copies(rows)
    kinds: list[str] = []
    for start in range(0, len(rows), 500):  # well under SQLite's limit of bound values
        kinds.extend(_insert_new(rows[start : start + 500]))
    # The caller counts the messages it asked for: the assistants' copies ride along.
    for start in range(0, len(extra), 500):
        _insert_new(extra[start : start + 500])
    return kinds


def _assistant_copies(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the copies of these rows due to the officials' assistants (services.assistants).

    Called on every row before it is inserted: it takes off the row's private key.
    """
    from irev.services.assistants import copies

    emails = {row["person_id"]: row.pop("_person_email", None) for row in rows}
    return copies(rows, emails)


def _row_values(
    kind: str,
    to_address: str,
    dedupe_key: str,
    to_name: str,
    person: Person | None,
    registration: Registration | None,
    meeting: Meeting | None,
    context: dict[str, Any] | None,
) -> dict[str, Any]:
    """Return the column values of a new outbox row."""
    if registration is not None:
        person = person or registration.person
        meeting = meeting or registration.meeting
    context = dict(context or {})
    if meeting is not None:
        # Remembers which times this message announces, so a later change of time is noticed.
        context.setdefault(SCHEDULE_KEY, schedule_version(meeting))
        context.setdefault(TIMES_KEY, [meeting.starts_at.isoformat(), meeting.ends_at.isoformat()])
    now = utcnow()
    return dict(
        kind=kind,
        dedupe_key=dedupe_key,
        to_address=to_address,
        to_name=to_name or (person.full_name if person else ""),
        person_id=person.id if person else None,
        registration_id=registration.id if registration else None,
        meeting_id=meeting.id if meeting else None,
        context=context,
        status="pending",
        attempts=0,
        last_error="",
        next_attempt_at=now,
        created_at=now,
        subject="",
        message_id="",
        _person_email=person.email if person else None,
    )


def _insert_new(rows: list[dict[str, Any]]) -> list[str]:
    """INSERT rows, skipping keys already queued; return the kinds of the rows inserted."""
    statement = _insert_statement(db.session.get_bind().dialect.name)
    # The values travel as parameters of one prepared statement: building and compiling an
    # INSERT with the values inside cost more than the round trip (every registration does it).
    return list(db.session.execute(statement, rows[0] if len(rows) == 1 else rows).scalars())


@cache
def _insert_statement(dialect: str):
    """Return INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING kind, built once."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = OutboundEmail.__table__
    return (
        insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.kind)
    )


# --- Settings ---------------------------------------------------------------------------------


def _setting(name: str) -> float:
    """Return a numeric setting (default in irev/config.py, FLASK_<name> in the environment)."""
    return float(current_app.config[name])


def batch_size() -> int:
    """Return how many rows one batch claims (IREV_MAIL_BATCH_SIZE)."""
    return max(1, int(_setting("IREV_MAIL_BATCH_SIZE")))


def lease_length() -> timedelta:
    """Return how long a worker holds the rows it claimed (IREV_MAIL_LEASE_SECONDS)."""
    return timedelta(seconds=max(60.0, _setting("IREV_MAIL_LEASE_SECONDS")))


def give_up_after() -> timedelta:
    """Return how long a message is retried before it is marked failed (IREV_MAIL_GIVE_UP_HOURS)."""
    return timedelta(hours=_setting("IREV_MAIL_GIVE_UP_HOURS"))


def backoff(attempts: int) -> timedelta:
    """Return the wait after the n-th failed attempt: 1, 2, 4, 8 ... minutes."""
    return timedelta(minutes=2 ** min(max(attempts - 1, 0), 12))


# --- Claiming and marking ---------------------------------------------------------------------


def claim_due(limit: int, *, now: datetime | None = None) -> list[int]:
    """Lease up to limit due rows to this worker, commit the claim and return their ids.

    One statement: UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT n) RETURNING.
    On PostgreSQL a row locked by another worker's claim is skipped, and once that claim commits
    its lease hides the row; SQLite (one worker) runs the same statement without the lock clause.
    """
    now = now or utcnow()
    due = (
        select(OutboundEmail.id)
        .where(
            OutboundEmail.status == EmailStatus.PENDING,
            OutboundEmail.next_attempt_at <= now,
            or_(OutboundEmail.locked_until.is_(None), OutboundEmail.locked_until <= now),
        )
        .order_by(OutboundEmail.next_attempt_at, OutboundEmail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(OutboundEmail)
        .where(OutboundEmail.id.in_(due.scalar_subquery()))
        .values(locked_until=now + lease_length())
        .returning(OutboundEmail.id)
        .execution_options(synchronize_session=False)
    )
    ids = sorted(db.session.execute(statement).scalars())
    db.session.commit()
    return ids


#: Context key of a farewell to an erased person: the placeholder address it ends with.
ERASED_KEY = "erased"


def forget_delivered(email: OutboundEmail) -> None:
    """Forget the address and content of a farewell to an erased person, once it is done.

    Sent or given up, the row keeps only what the figures need: the placeholder address, no
    name, no message, no context. The caller commits.
    """
    placeholder = (email.context or {}).get(ERASED_KEY)
    if not placeholder or email.status is EmailStatus.PENDING:
        return
    db.session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id == email.id)
        .values(to_address=placeholder, to_name="", raw_message=None, context={})
        .execution_options(synchronize_session=False)
    )
    for name, value in (
        ("to_address", placeholder),
        ("to_name", ""),
        ("raw_message", None),
        ("context", {}),
    ):
        set_committed_value(email, name, value)


def mark_failure(
    email: OutboundEmail, error: str, *, permanent: bool = False, now: datetime | None = None
) -> None:
    """Record a failed attempt: retry after a doubling wait, or give up (failed) after 24 hours."""
    now = now or utcnow()
    email.attempts = (email.attempts or 0) + 1
    email.last_error = error[:2000]
    email.locked_until = None
    deadline = email.created_at + give_up_after()
    if permanent or now >= deadline:
        email.status = EmailStatus.FAILED
        db.session.flush()
        forget_delivered(email)
        return
    # The last try happens at the deadline itself rather than never.
    email.next_attempt_at = min(now + backoff(email.attempts), deadline)


def mark_skipped(email: OutboundEmail, reason: str) -> None:
    """Record that a message was not sent because it was no longer true when its turn came."""
    email.status = EmailStatus.SKIPPED
    email.last_error = reason[:2000]
    email.locked_until = None


def release(emails: Sequence[OutboundEmail]) -> None:
    """Give claimed rows back untouched (a stop request or a lease about to end)."""
    for email in emails:
        email.locked_until = None
