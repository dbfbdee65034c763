"""The staff's e-mail log: list, count and send again the outbox rows."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from irev.extensions import db
from irev.models import EmailStatus, OutboundEmail, utcnow


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
