"""An append-only log of what staff and registrants did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column

from irev.extensions import db
from irev.models.types import UTCDateTime, utcnow


class AuditEvent(db.Model):
    """Who did what to which object, when, with the values before and after."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: "staff", "person" or "system".
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None]
    #: Readable name of the actor at the time (kept after the account is gone).
    actor_label: Mapped[str] = mapped_column(String(254), default="")
    #: Dotted verb, e.g. "registration.approve".
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.action} {self.object_type}:{self.object_id}>"


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target: AuditEvent) -> None:
    """Refuse edits: the audit log is append-only."""
    raise ValueError("audit events are never edited")
