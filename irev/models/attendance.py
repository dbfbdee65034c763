"""What a video tool's attendance report said about a meeting, and attestations issued."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from irev.extensions import db
from irev.models.people import Person, Registration
from irev.models.programme import Meeting
from irev.models.types import UTCDateTime, utcnow


class AttendanceParticipant(db.Model):
    """One participant of a meeting's imported report (all their rows, rejoins merged)."""

    __tablename__ = "attendance_participant"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    #: Name as the report shows it (Zoom's display name, with the original name if renamed).
    name: Mapped[str] = mapped_column(String(200), default="")
    #: Normalised e-mail address from the report; empty when the report gives none.
    email: Mapped[str] = mapped_column(String(254), default="")
    #: True when the report marks the participant as a guest (not a member of IREV's account).
    guest: Mapped[bool] = mapped_column(default=True)
    #: Connection intervals [[join ISO UTC, leave ISO UTC], ...], as read (may overlap).
    intervals: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    #: Minutes connected, overlapping rejoins counted once.
    minutes: Mapped[int] = mapped_column(default=0)
    #: Line numbers of the report's rows for this participant, for staff reading the file.
    lines: Mapped[list[int]] = mapped_column(JSON, default=list)
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration.id", ondelete="SET NULL"), index=True
    )
    #: How the row was matched: "email", "name", "manual", or None while unmatched.
    matched_by: Mapped[str | None] = mapped_column(String(20))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    meeting: Mapped[Meeting] = relationship()
    registration: Mapped[Registration | None] = relationship()

    def __repr__(self) -> str:
        return f"<AttendanceParticipant {self.id}>"


class Attestation(db.Model):
    """An attestation de participation issued to a person, found again by its code."""

    __tablename__ = "attestation"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Printed on the PDF and typed on the public verification page (12 characters).
    code: Mapped[str] = mapped_column(String(16), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    #: "meeting" (one meeting) or "year" (the yearly summary).
    kind: Mapped[str] = mapped_column(String(20))
    year: Mapped[int]
    #: What the attestation states besides the person: {"meetings": [{"id", "minutes"}]}.
    statement: Mapped[dict[str, Any]] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship()

    def __repr__(self) -> str:
        return f"<Attestation {self.id} {self.kind}>"
