"""The e-mail outbox: queue messages in the caller's transaction; the worker sends them.

Sending, in short: claim due rows with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL, so several
workers never take the same row), render them, send the batch over one SMTP connection, and mark
each row sent right after its own send, so that a worker killed mid-batch can repeat at most the
message in hand. A failure is retried after 1, 2, 4, 8 ... minutes for 24 hours, then the row is
marked failed for staff to see.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value

from irev.extensions import db
from irev.models import EmailStatus, Meeting, OutboundEmail, Person, Registration, utcnow

log = logging.getLogger(__name__)

#: Context key stamped on every message about a meeting: the times it announced.
SCHEDULE_KEY = "_schedule"

DEFAULT_BATCH_SIZE = 100
DEFAULT_LEASE_SECONDS = 600
DEFAULT_GIVE_UP_HOURS = 24
#: Stop a batch this long before its lease ends, so that no other worker can take a row in hand.
LEASE_MARGIN = timedelta(seconds=30)


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
    return bool(_insert_new([values]))


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
    kinds: list[str] = []
    for start in range(0, len(rows), 500):  # well under SQLite's limit of bound values
        kinds.extend(_insert_new(rows[start : start + 500]))
    return kinds


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


def _setting(name: str, default: float) -> float:
    """Return a numeric setting (FLASK_<name> in the environment)."""
    return float(current_app.config.get(name, default))


def batch_size() -> int:
    """Return how many rows one batch claims (IREV_MAIL_BATCH_SIZE)."""
    return max(1, int(_setting("IREV_MAIL_BATCH_SIZE", DEFAULT_BATCH_SIZE)))


def lease_length() -> timedelta:
    """Return how long a worker holds the rows it claimed (IREV_MAIL_LEASE_SECONDS)."""
    return timedelta(seconds=max(60.0, _setting("IREV_MAIL_LEASE_SECONDS", DEFAULT_LEASE_SECONDS)))


def give_up_after() -> timedelta:
    """Return how long a message is retried before it is marked failed (24 hours)."""
    return timedelta(hours=_setting("IREV_MAIL_GIVE_UP_HOURS", DEFAULT_GIVE_UP_HOURS))


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


def mark_sent(email: OutboundEmail, *, subject: str, message_id: str, raw: bytes) -> None:
    """Record that a message left (or was captured): what was sent, when, under which id."""
    email.status = EmailStatus.SENT
    email.sent_at = utcnow()
    email.attempts = (email.attempts or 0) + 1
    email.subject = subject[:300]
    email.message_id = message_id[:300]
    email.raw_message = raw.decode("utf-8", "replace")
    email.locked_until = None


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


# --- Sending ----------------------------------------------------------------------------------


@dataclass
class SendReport:
    """What one sending pass did."""

    sent: int = 0
    captured: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: SendReport) -> None:
        """Add the counts of another report to this one."""
        self.sent += other.sent
        self.captured += other.captured
        self.retried += other.retried
        self.failed += other.failed
        self.skipped += other.skipped
        self.errors.extend(other.errors)

    @property
    def delivered(self) -> int:
        """Return the number of messages sent or captured."""
        return self.sent + self.captured


def send_pending(*, stop: Callable[[], bool] | None = None, limit: int | None = None) -> SendReport:
    """Send every due message, batch by batch, each batch over one SMTP connection."""
    report = SendReport()
    stop = stop or (lambda: False)
    while not stop():
        ids = claim_due(limit or batch_size())
        if not ids:
            break
        batch = send_batch(ids, stop=stop)
        report.add(batch)
        if batch.errors and not batch.delivered:
            break  # the server is unreachable: the rows wait for their next attempt
    return report


@dataclass
class _Prepared:
    """A message rendered and serialised, ready for the wire."""

    email: OutboundEmail
    subject: str
    message_id: str
    recipient: str
    raw: bytes


def send_batch(ids: Sequence[int], *, stop: Callable[[], bool] | None = None) -> SendReport:
    """Render and send claimed rows over one connection, committing each row's outcome at once.

    While the server takes message n in (its final reply not yet read), this worker renders
    message n+1. Message n+1 leaves only after message n is recorded as sent, so a worker killed
    at any point can have sent at most one message it did not record.
    """
    from irev.mail import ConnectionFailed, connection

    report = SendReport()
    stop = stop or (lambda: False)
    session = db.session()
    # Rows and meetings loaded once stay usable across the per-message commits below.
    previous_expire = session.expire_on_commit
    session.expire_on_commit = False
    emails = list(
        db.session.scalars(
            select(OutboundEmail).where(OutboundEmail.id.in_(ids)).order_by(OutboundEmail.id)
        )
    )
    loaded = _preload(emails)  # held here: the identity map only keeps weak references
    try:
        with connection() as transport:
            _send_all(emails, transport, report, stop)
    except ConnectionFailed as error:  # the connection could not even open
        _fail_all(emails, str(error), report)
    finally:
        session.expire_on_commit = previous_expire
        loaded.clear()
    return report


def _send_all(emails, transport, report: SendReport, stop: Callable[[], bool]) -> None:
    """Send the rows in order, one in flight at a time, recording each outcome."""
    from irev.mail import ConnectionFailed, MessageRefused

    ics_cache: dict = {}
    in_flight: _Prepared | None = None
    for position, email in enumerate(emails):
        prepared = _prepare(email, report, ics_cache)  # the server handles in_flight meanwhile
        if in_flight is not None:
            try:
                _finish(in_flight, transport, report)
            except ConnectionFailed as error:
                _fail_all([in_flight.email, *emails[position:]], str(error), report)
                return
            in_flight = None
        if prepared is None:
            continue
        if stop() or _lease_ending(email):
            release(emails[position:])
            db.session.commit()
            return
        try:
            transport.start(prepared.recipient, prepared.raw)
        except MessageRefused as error:
            _refused(prepared, error, report)
            continue
        except ConnectionFailed as error:
            _fail_all(emails[position:], str(error), report)
            return
        in_flight = prepared
    if in_flight is not None:
        try:
            _finish(in_flight, transport, report)
        except ConnectionFailed as error:
            _fail_all([in_flight.email], str(error), report)


def _prepare(email: OutboundEmail, report: SendReport, ics_cache: dict) -> _Prepared | None:
    """Render one row into wire bytes; record and return None if it must not or cannot go."""
    from irev import notifications
    from irev.services import video_links

    reason = video_links.obsolete_reason(email)
    if reason:
        mark_skipped(email, reason)
        db.session.commit()
        report.skipped += 1
        log.info("e-mail %s skipped: %s", email.id, reason)
        return None
    try:
        rendered = notifications.render(email, ics_cache=ics_cache)
        built = notifications.build_raw(email, rendered)
    except Exception as error:  # a template bug must not stop the other messages
        log.exception("e-mail %s could not be rendered", email.id)
        _record_failure(email, f"rendu impossible : {error}", report)
        return None
    return _Prepared(
        email=email,
        subject=rendered.subject,
        message_id=built.message_id,
        recipient=built.recipient,
        raw=built.raw,
    )


def _finish(prepared: _Prepared, transport, report: SendReport) -> None:
    """Read the server's verdict on one message and record it; ConnectionFailed goes up."""
    from irev.mail import MessageRefused

    email = prepared.email
    try:
        transport.finish()
    except MessageRefused as error:
        _refused(prepared, error, report)
        return
    _record_sent(email, prepared)
    if transport.captured:
        report.captured += 1
        log.info("e-mail %s captured (%s)", email.id, email.kind)
    else:
        report.sent += 1
        log.info("e-mail %s sent (%s)", email.id, email.kind)


def _refused(prepared: _Prepared, error, report: SendReport) -> None:
    """Record a message the server refused (its recipient or its content)."""
    email = prepared.email
    log.warning("e-mail %s refused by the server (code %s)", email.id, error.code)
    _record_failure(email, f"refusé par le serveur : {error}", report, error.permanent)


def _record_sent(email: OutboundEmail, prepared: _Prepared) -> None:
    """Mark one row sent and commit at once (a plain UPDATE: this runs once per message)."""
    context = dict(email.context or {})
    meeting = db.session.get(Meeting, email.meeting_id) if email.meeting_id else None
    if meeting is not None:
        # The times the message actually announced (the meeting as rendered now).
        context[SCHEDULE_KEY] = schedule_version(meeting)
    values = {
        "status": EmailStatus.SENT,
        "sent_at": utcnow(),
        "attempts": (email.attempts or 0) + 1,
        "subject": prepared.subject[:300],
        "message_id": prepared.message_id[:300],
        "raw_message": prepared.raw.decode("utf-8", "replace"),
        "locked_until": None,
        "context": context,
    }
    db.session.execute(_mark_sent_statement(), {"row_id": email.id, **values})
    db.session.commit()
    for name, value in values.items():  # the loaded row says the same, without a reload
        set_committed_value(email, name, value)


@cache
def _mark_sent_statement():
    """Build the UPDATE of _record_sent() once; the values are parameters."""
    table = OutboundEmail.__table__
    columns = ("status", "sent_at", "attempts", "subject", "message_id", "raw_message")
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(name) for name in (*columns, "locked_until", "context")})
    )


def _record_failure(
    email: OutboundEmail, error: str, report: SendReport, permanent: bool = False
) -> None:
    """Mark one failed attempt, commit it and count it."""
    mark_failure(email, error, permanent=permanent)
    db.session.commit()
    if email.status is EmailStatus.FAILED:
        report.failed += 1
    else:
        report.retried += 1
    report.errors.append(error)


def _fail_all(emails: Sequence[OutboundEmail], error: str, report: SendReport) -> None:
    """Mark a failed attempt on every row not yet sent (the connection is gone)."""
    emails = [email for email in emails if email.status is EmailStatus.PENDING]
    log.warning("SMTP connection failed, %d e-mail(s) wait: %s", len(emails), error)
    now = utcnow()
    for email in emails:
        mark_failure(email, f"connexion au serveur impossible : {error}", now=now)
        if email.status is EmailStatus.FAILED:
            report.failed += 1
        else:
            report.retried += 1
    db.session.commit()
    report.errors.append(error)


def _lease_ending(email: OutboundEmail) -> bool:
    """Return True when this worker's hold on the row is about to end."""
    return email.locked_until is None or utcnow() >= email.locked_until - LEASE_MARGIN


def _preload(emails: Sequence[OutboundEmail]) -> list[Any]:
    """Load the people, registrations, meetings and programmes of a batch in a few queries."""
    loaded: list[Any] = []
    for model, attribute in (
        (Person, "person_id"),
        (Registration, "registration_id"),
        (Meeting, "meeting_id"),
    ):
        wanted = {getattr(email, attribute) for email in emails} - {None}
        if wanted:
            loaded.extend(db.session.scalars(select(model).where(model.id.in_(wanted))))
    loaded.extend({meeting.programme for meeting in loaded if isinstance(meeting, Meeting)})
    return loaded


@dataclass
class PassReport:
    """What one pass of `mail send` did: messages queued, then the sending report."""

    queued: int
    sending: SendReport


def run_pass(*, stop: Callable[[], bool] | None = None) -> PassReport:
    """Queue what has become due (video links, changes, cancellations), then send what waits."""
    from irev.services import video_links

    scheduled = video_links.schedule_due()
    db.session.commit()
    return PassReport(queued=scheduled.total, sending=send_pending(stop=stop))


# --- Staff: the e-mail log --------------------------------------------------------------------


def list_emails(
    status: EmailStatus | str | None = None,
    *,
    failed_only: bool = False,
    kind: str | None = None,
    search: str = "",
    page: int = 1,
    per_page: int = 50,
):
    """Return a page (Flask-SQLAlchemy Pagination) of e-mails, newest first, for staff."""
    statement = select(OutboundEmail).order_by(OutboundEmail.id.desc())
    if failed_only:
        statement = statement.where(OutboundEmail.status == EmailStatus.FAILED)
    elif status:
        statement = statement.where(OutboundEmail.status == EmailStatus(status))
    if kind:
        statement = statement.where(OutboundEmail.kind == kind)
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        statement = statement.where(
            or_(
                func.lower(OutboundEmail.to_address).like(pattern),
                func.lower(OutboundEmail.subject).like(pattern),
            )
        )
    return db.paginate(statement, page=max(page, 1), per_page=per_page, error_out=False)


def count_by_status() -> dict[str, int]:
    """Return how many e-mails are in each status (pending, sent, failed, skipped)."""
    rows = db.session.execute(
        select(OutboundEmail.status, func.count(OutboundEmail.id)).group_by(OutboundEmail.status)
    )
    counts = {status.value: 0 for status in EmailStatus}
    counts.update({status.value: count for status, count in rows})
    return counts


def send_again(email: OutboundEmail) -> OutboundEmail:
    """Queue a message again (staff "send again"); the caller commits and audits.

    A failed or skipped row goes back to pending with a fresh 24-hour window; a sent row is
    copied under a new key (the original stays as the proof of the first send).
    """
    if email.status is not EmailStatus.SENT:
        email.status = EmailStatus.PENDING
        email.next_attempt_at = utcnow()
        email.created_at = utcnow()
        email.locked_until = None
        return email
    copies = db.session.scalar(
        select(func.count(OutboundEmail.id)).where(
            OutboundEmail.dedupe_key.like(f"{email.dedupe_key}:again:%")
        )
    )
    copy = OutboundEmail(
        kind=email.kind,
        dedupe_key=f"{email.dedupe_key}:again:{(copies or 0) + 1}",
        to_address=email.to_address,
        to_name=email.to_name,
        person_id=email.person_id,
        registration_id=email.registration_id,
        meeting_id=email.meeting_id,
        context=dict(email.context or {}),
    )
    db.session.add(copy)
    db.session.flush()
    return copy
