"""What attendees tell IREV after a meeting (questionnaire) and ask speakers before it.

The questionnaire is split in two tables on purpose: a receipt says that a registration has
answered (one answer per attendee), a response holds what was answered with no person, no
registration and no time. Nothing joins the two (see irev.services.questionnaire).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from irev.extensions import db
from irev.models.programme import Meeting, _enum
from irev.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from irev.models.people import Registration


def _random_id() -> str:
    """Return a random key: row order then says nothing about the order of answers."""
    return uuid.uuid4().hex


class QuestionnaireReceipt(db.Model):
    """That a registration has answered its meeting's questionnaire (and nothing else)."""

    __tablename__ = "questionnaire_receipt"

    #: The primary key is the registration: a second answer cannot be stored.
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registration.id", ondelete="CASCADE"), primary_key=True
    )


class QuestionnaireResponse(db.Model):
    """One anonymous answer to a meeting's questionnaire: no person, no registration, no time."""

    __tablename__ = "questionnaire_response"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=_random_id)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    #: Version of the question set answered (irev.services.questionnaire.QUESTION_SETS).
    version: Mapped[int] = mapped_column(default=1)
    #: Ratings by question key, 1 to 5: {"satisfaction": 4, ...}.
    ratings: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    #: The free text, "" when left empty.
    remark: Mapped[str] = mapped_column(Text, default="")

    meeting: Mapped[Meeting] = relationship()


class QuestionState(enum.StrEnum):
    """Where a question for the speaker stands."""

    NEW = "new"  # asked, not yet read by staff
    KEPT = "kept"  # staff keep it for the speaker
    MERGED = "merged"  # the same as another question, which stands for both
    ANSWERED = "answered"  # answered during (or after) the meeting


QUESTION_STATE_LABELS = {
    QuestionState.NEW: "nouvelle",
    QuestionState.KEPT: "retenue",
    QuestionState.MERGED: "fusionnée",
    QuestionState.ANSWERED: "répondue",
}


class SpeakerQuestion(db.Model):
    """A question for a meeting's speaker, asked with a registration (one per registration)."""

    __tablename__ = "speaker_question"
    __table_args__ = (Index("ix_speaker_question_meeting_state", "meeting_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    #: Who asked; the question goes with the registration (and with the person's erasure).
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registration.id", ondelete="CASCADE"), unique=True
    )
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[QuestionState] = mapped_column(
        _enum(QuestionState, "question_state"), default=QuestionState.NEW
    )
    #: The question this one was merged into (state MERGED), always one that is not merged.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("speaker_question.id", ondelete="SET NULL"), index=True
    )
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    meeting: Mapped[Meeting] = relationship()
    registration: Mapped[Registration] = relationship()
    merged_into: Mapped[SpeakerQuestion | None] = relationship(remote_side=[id])

    @property
    def state_label(self) -> str:
        """Return the French name of the state."""
        return QUESTION_STATE_LABELS[self.state]

    def __repr__(self) -> str:
        return f"<SpeakerQuestion {self.id} {self.state.value}>"
