"""Assistants (cabinet, secrétariat) who register officials and manage their seats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from irev.extensions import db
from irev.models.people import Person
from irev.models.types import UTCDateTime, utcnow


class AssistantLink(db.Model):
    """An assistant (a Person) who receives a copy of an official's e-mails and manages them.

    Both sides are people: the seat always belongs to the official. Deleting either person
    deletes the link (CASCADE); an erasure, which keeps the row anonymised, deletes it
    explicitly (irev.services.assistants.forget_links): the official's seats stay.
    """

    __tablename__ = "assistant_link"
    __table_args__ = (
        UniqueConstraint("assistant_id", "official_id", name="uq_assistant_link_pair"),
        CheckConstraint("assistant_id <> official_id", name="ck_assistant_link_not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assistant_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    official_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    #: The assistant's function as they gave it (« Assistante de direction »), optional.
    function: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assistant: Mapped[Person] = relationship(foreign_keys=[assistant_id])
    official: Mapped[Person] = relationship(foreign_keys=[official_id])

    def __repr__(self) -> str:
        return f"<AssistantLink {self.assistant_id}->{self.official_id}>"
