"""What staff give participants after a meeting: files (slides, compte rendu) and the replay."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from irev.extensions import db
from irev.models.programme import Meeting, _enum
from irev.models.staff import StaffUser
from irev.models.types import UTCDateTime, utcnow


class ResourceKind(enum.StrEnum):
    #: A file stored on disk under the instance folder (never under static/).
    FILE = "file"
    #: The replay: a link (https) to the recording, at most one per meeting.
    REPLAY = "replay"


class MeetingResource(db.Model):
    """A file or the replay link of a meeting, offered to the people who had a seat."""

    __tablename__ = "meeting_resource"
    __table_args__ = (
        # One replay per meeting: setting it again replaces the row.
        Index(
            "uq_meeting_resource_one_replay",
            "meeting_id",
            unique=True,
            sqlite_where=text("kind = 'replay'"),
            postgresql_where=text("kind = 'replay'"),
        ),
        CheckConstraint("size >= 0", name="resource_size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ResourceKind] = mapped_column(_enum(ResourceKind, "resource_kind"))
    #: What participants read: « Diaporama de l’intervention », « Compte rendu ».
    title: Mapped[str] = mapped_column(String(200))
    #: The replay's address (https only); "" for a file.
    url: Mapped[str] = mapped_column(String(500), default="")
    #: Random name of the file on disk (hex, with the extension of its detected type).
    stored_name: Mapped[str] = mapped_column(String(80), default="")
    #: Name of the file as uploaded, cleaned of any path and control character.
    original_name: Mapped[str] = mapped_column(String(255), default="")
    #: Type detected from the file's first bytes, never the one the browser announced.
    content_type: Mapped[str] = mapped_column(String(120), default="")
    size: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    meeting: Mapped[Meeting] = relationship()
    uploaded_by: Mapped[StaffUser | None] = relationship()

    @property
    def is_file(self) -> bool:
        return self.kind is ResourceKind.FILE

    def __repr__(self) -> str:
        return f"<MeetingResource {self.id} {self.kind.value}>"
