"""The mail worker's path: claim due outbox rows, render them, send them, record each outcome.

In short: claim due rows with a lease (irev.services.outbox.claim_due), render them, send the
batch over one SMTP connection, and mark each row sent right after its own send, so that a worker
killed mid-batch can repeat at most the message in hand. Failures follow the outbox's retry
policy (irev.services.outbox.mark_failure).

Dependencies go one way: this module reads irev.services.outbox (the rows) and
irev.services.video_links and irev.services.reconfirmation (which messages are due, and which
are no longer true); none of them imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from irev import email_calendars, notifications, typography, urls
from irev.extensions import db
from irev.mail import ConnectionFailed, MessageRefused, connection
from irev.models import EmailStatus, Meeting, OutboundEmail, Person, Registration, utcnow
from irev.services import followup, reconfirmation, video_links
from irev.services.assistants import links_for_batch
from irev.services.outbox import (
    ERASED_KEY,
    SCHEDULE_KEY,
    TIMES_KEY,
    batch_size,
    claim_due,
    forget_delivered,
    mark_failure,
    mark_skipped,
    release,
    schedule_version,
)

log = logging.getLogger(__name__)

#: Stop a batch this long before its lease ends, so that no other worker can take a row in hand.
LEASE_MARGIN = timedelta(seconds=30)


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
    marks = _Marks()
    marks_token = _marks.set(marks)
    try:
        with (
            connection() as transport,
            typography.memoized(),
            urls.memoized(),
            links_for_batch(email.person_id for email in emails),
        ):
            _send_all(emails, transport, report, stop)
    except ConnectionFailed as error:  # the connection could not even open
        _fail_all(emails, str(error), report)
    finally:
        _marks.reset(marks_token)
        marks.close()
        session.expire_on_commit = previous_expire
        loaded.clear()
    return report


def _send_all(emails, transport, report: SendReport, stop: Callable[[], bool]) -> None:
    """Send the rows in order, one in flight at a time, recording each outcome.

    While the server takes message n in, message n+1 is rendered; once the server accepted n,
    the envelope of n+1 goes out and n is recorded (committed) while the server reads it. The
    final dot of n+1, which alone makes it leave, is sent only after that commit.
    """
    # One query for every calendar's SEQUENCE of the batch, not one a message.
    ics_cache: dict = {
        email_calendars.EARLIER: email_calendars.earlier_counts(
            {e.registration_id for e in emails if e.registration_id}
        )
    }
    in_flight: _Prepared | None = None
    for position, email in enumerate(emails):
        prepared = _prepare(email, report, ics_cache)  # the server handles in_flight meanwhile
        record = _Once(None)
        if in_flight is not None:
            try:
                record = _verdict(in_flight, transport, report)
            except ConnectionFailed as error:
                _fail_all([in_flight.email, *emails[position:]], str(error), report)
                return
            in_flight = None
        if prepared is None:
            record()
            continue
        if stop() or _lease_ending(email):
            record()
            release(emails[position:])
            db.session.commit()
            return
        try:
            transport.start(prepared.recipient, prepared.raw, while_waiting=record)
        except MessageRefused as error:
            record()
            _refused(prepared, error, report)
            continue
        except ConnectionFailed as error:
            record()
            _fail_all(emails[position:], str(error), report)
            return
        record()  # already done by start(), unless it never needed to wait
        in_flight = prepared
    if in_flight is not None:
        try:
            _verdict(in_flight, transport, report)()
        except ConnectionFailed as error:
            _fail_all([in_flight.email], str(error), report)


class _Once:
    """Run a recording at most once, wherever it happens first (its errors go up once)."""

    def __init__(self, action: Callable[[], None] | None) -> None:
        self.action = action

    def __call__(self) -> None:
        action, self.action = self.action, None
        if action is not None:
            action()


def _prepare(email: OutboundEmail, report: SendReport, ics_cache: dict) -> _Prepared | None:
    """Render one row into wire bytes; record and return None if it must not or cannot go."""
    reason = (
        video_links.obsolete_reason(email)
        or followup.obsolete_reason(email)
        or reconfirmation.obsolete_reason(email)
    )
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


def _verdict(prepared: _Prepared, transport, report: SendReport) -> _Once:
    """Read the server's verdict on one message; return the recording still to do if accepted.

    A refusal is recorded at once. An accepted message's recording is returned to be done
    while the server reads the next envelope, and always before the next message may leave.
    ConnectionFailed goes up (the caller records nothing as sent: the verdict was not read).
    """
    try:
        transport.finish()
    except MessageRefused as error:
        _refused(prepared, error, report)
        return _Once(None)
    return _Once(lambda: _sent(prepared, transport, report))


def _sent(prepared: _Prepared, transport, report: SendReport) -> None:
    """Record and count one message the server accepted."""
    email = prepared.email
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
        context[TIMES_KEY] = [meeting.starts_at.isoformat(), meeting.ends_at.isoformat()]
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
    marks = _marks.get()
    if marks is None or (email.context or {}).get(ERASED_KEY):
        db.session.execute(_mark_sent_statement(), {"row_id": email.id, **values})
        for name, value in values.items():  # the loaded row says the same, without a reload
            set_committed_value(email, name, value)
        forget_delivered(email)  # a farewell to an erased person: in the same commit
        db.session.commit()
        return
    marks.mark(email.id, values)
    for name, value in values.items():
        set_committed_value(email, name, value)


class _Marks:
    """One connection a batch keeps for its per-message commits, opened at the first one.

    Through the session, each commit gave its connection back to the pool, and the next
    statement took one again (with its pre-ping) and opened a new transaction: most of the
    cost of marking a row, once per message. This connection stays checked out for the batch;
    each mark is still its own transaction, committed before the next message may leave.
    """

    def __init__(self) -> None:
        self.connection: Connection | None = None

    def mark(self, row_id: int, values: dict[str, Any]) -> None:
        """UPDATE one row as sent and commit it."""
        if db.session().in_transaction():
            # Whatever the session read since its last commit ends first: on SQLite its
            # transaction holds the database's write lock, which the mark would wait for.
            db.session.commit()
        if self.connection is None:
            self.connection = db.session.get_bind(mapper=OutboundEmail.__mapper__).connect()
        with self.connection.begin():
            self.connection.execute(_mark_sent_statement(), {"row_id": row_id, **values})

    def close(self) -> None:
        """Give the connection back."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None


#: The marks of the batch being sent (send_batch() sets it; outside a batch: the session).
_marks: ContextVar[_Marks | None] = ContextVar("irev_sent_marks", default=None)


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
    """Queue what has become due (links, changes, cancellations, reconfirmations), then send."""
    scheduled = video_links.schedule_due()
    questions = reconfirmation.schedule_due()
    db.session.commit()
    return PassReport(queued=scheduled.total + questions, sending=send_pending(stop=stop))
