"""The e-mail outbox: every e-mail is a row first, written with the change that causes it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from irev.extensions import db
from irev.models.programme import _enum
from irev.models.types import UTCDateTime, utcnow


class EmailStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    #: No longer true when its turn came (seat lost, details changed since): kept as a trace.
    SKIPPED = "skipped"


class OutboundEmail(db.Model):
    """One e-mail to one recipient, rendered and sent by the worker."""

    __tablename__ = "outbound_email"
    __table_args__ = (Index("ix_outbound_email_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Template name: "<event>_to_<audience>", e.g. "video_link_to_registrant".
    kind: Mapped[str] = mapped_column(String(80))
    #: (registration or meeting, kind, version): the same message can never be queued twice.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    to_address: Mapped[str] = mapped_column(String(254))
    #: A person's full name: first name (100), a space, last name (100).
    to_name: Mapped[str] = mapped_column(String(201), default="")
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration.id", ondelete="SET NULL"), index=True
    )
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting.id", ondelete="SET NULL"), index=True
    )
    #: What the templates need beyond the linked rows (reason, token, version ...).
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[EmailStatus] = mapped_column(
        _enum(EmailStatus, "email_status"), default=EmailStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: A worker holds the row until this time; a crashed worker's rows come back after it.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Filled at sending: proof of what left, and the capture read in development.
    subject: Mapped[str] = mapped_column(String(300), default="")
    message_id: Mapped[str] = mapped_column(String(300), default="")
    raw_message: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<OutboundEmail {self.id} {self.kind} {self.status.value}>"
