"""A programme (a cycle of meetings) and its meetings."""

from __future__ import annotations

import enum
from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    ForeignKey,
    String,
    Text,
    Time,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from irev.extensions import db
from irev.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from irev.models.people import Registration


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    """Store an enum by its value, as a plain string column (portable, readable in SQL)."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        validate_strings=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class MeetingMode(enum.StrEnum):
    VIDEO = "video"
    ON_SITE = "on_site"


class MeetingStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class ApprovalMode(enum.StrEnum):
    AUTOMATIC = "automatic"
    MODERATED = "moderated"


class Programme(db.Model):
    """A cycle of meetings for one audience, with its contact person."""

    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable key used by the data file loader to find the programme again.
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    year: Mapped[int]
    audience: Mapped[str] = mapped_column(String(200))
    introduction: Mapped[str] = mapped_column(Text, default="")
    #: "Un rendez-vous par mois, en visio, le mercredi, de 17h00 à 19h00."
    format_line: Mapped[str] = mapped_column(String(300), default="")
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    contact_role: Mapped[str] = mapped_column(String(120), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    #: Topics announced without a date yet: list of strings.
    planned_topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Events around the cycle: list of {title, date, place, description}.
    related_events: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    published: Mapped[bool] = mapped_column(default=True)
    #: When staff last published the cycle: of two cycles of one year, the later is current.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: True when the programme was moved onto coming dates for a demonstration.
    is_demo: Mapped[bool] = mapped_column(default=False)
    #: Personal data are erased this many months after the last meeting.
    retention_months: Mapped[int] = mapped_column(default=12)
    #: What a new meeting of this cycle starts with (Paris wall-clock times).
    default_start: Mapped[time] = mapped_column(Time, default=time(17), server_default="17:00:00")
    default_end: Mapped[time] = mapped_column(Time, default=time(19), server_default="19:00:00")
    default_capacity: Mapped[int] = mapped_column(default=100, server_default="100")
    default_approval_mode: Mapped[ApprovalMode] = mapped_column(
        _enum(ApprovalMode, "approval_mode"),
        default=ApprovalMode.AUTOMATIC,
        server_default=ApprovalMode.AUTOMATIC.value,
    )
    #: When the video link is e-mailed before each meeting ("7j,veille@10:00,1h", read by
    #: irev.services.link_schedule.parse_schedule); None: the setting IREV_VIDEO_LINK_SCHEDULE.
    reminder_schedule: Mapped[str | None] = mapped_column(String(200))
    #: Share of a meeting (in %) a person must attend to be « présent »; None: the setting
    #: IREV_ATTENDANCE_THRESHOLD_PERCENT.
    attendance_threshold_percent: Mapped[int | None] = mapped_column()
    #: Days before a full meeting its seated people are asked to confirm or free their seat
    #: (irev.services.reconfirmation); 0: never; None: the setting IREV_RECONFIRM_DAYS_BEFORE.
    reconfirm_days_before: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    meetings: Mapped[list[Meeting]] = relationship(
        back_populates="programme", order_by="Meeting.starts_at", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Programme {self.slug}>"


class Meeting(db.Model):
    """One meeting of a programme: a date, a topic, speakers and seats."""

    __tablename__ = "meeting"
    __table_args__ = (
        CheckConstraint("capacity >= 0", name="capacity_positive"),
        CheckConstraint("seats_taken >= 0", name="seats_taken_positive"),
        # The database itself refuses overbooking: seats are taken by a conditional update.
        CheckConstraint("seats_taken <= capacity", name="seats_within_capacity"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    #: False when the source document gives a date but not yet a topic.
    topic_announced: Mapped[bool] = mapped_column(default=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mode: Mapped[MeetingMode] = mapped_column(
        _enum(MeetingMode, "meeting_mode"), default=MeetingMode.VIDEO
    )
    #: Postal address, for meetings on site.
    address: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    #: List of {name, role, organisation}.
    speakers: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    #: List of partner organisation names.
    partners: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(default=100)
    #: Seated registrations; changed only by conditional updates (see services.registrations).
    seats_taken: Mapped[int] = mapped_column(default=0)
    status: Mapped[MeetingStatus] = mapped_column(
        _enum(MeetingStatus, "meeting_status"), default=MeetingStatus.DRAFT
    )
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approval_mode: Mapped[ApprovalMode] = mapped_column(
        _enum(ApprovalMode, "approval_mode"), default=ApprovalMode.AUTOMATIC
    )
    #: Never shown on a public page: only e-mailed to seated registrants.
    video_url: Mapped[str] = mapped_column(String(500), default="")
    video_meeting_id: Mapped[str] = mapped_column(String(60), default="")
    video_passcode: Mapped[str] = mapped_column(String(60), default="")
    #: Telephone dial-in (number and any code), given with the link; "" when there is none.
    video_dial_in: Mapped[str] = mapped_column(String(200), default="")
    #: iCalendar SEQUENCE: raised whenever what a calendar shows changes.
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    programme: Mapped[Programme] = relationship(back_populates="meetings")
    registrations: Mapped[list[Registration]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def seats_left(self) -> int:
        """Return the number of free seats."""
        return max(self.capacity - self.seats_taken, 0)

    @property
    def is_published(self) -> bool:
        return self.status is MeetingStatus.PUBLISHED

    @property
    def is_cancelled(self) -> bool:
        return self.status is MeetingStatus.CANCELLED

    def is_past(self, now: datetime | None = None) -> bool:
        """Return True once the meeting has started."""
        return (now or utcnow()) >= self.starts_at

    def registration_open(self, now: datetime | None = None) -> bool:
        """Return True while people may register (published, not started, window open)."""
        now = now or utcnow()
        if not self.is_published or self.is_past(now):
            return False
        if self.registration_opens_at and now < self.registration_opens_at:
            return False
        return not (self.registration_closes_at and now >= self.registration_closes_at)

    def __repr__(self) -> str:
        return f"<Meeting {self.slug}>"


#: Fields whose change makes calendars out of date (so SEQUENCE goes up).
CALENDAR_FIELDS = ("title", "starts_at", "ends_at", "mode", "address", "description", "status")


@event.listens_for(Meeting, "before_update")
def _raise_sequence(mapper, connection, meeting: Meeting) -> None:
    """Raise the iCalendar SEQUENCE when anything a calendar shows has changed."""
    state = inspect(meeting)
    if any(state.attrs[name].history.has_changes() for name in CALENDAR_FIELDS):
        meeting.sequence = (meeting.sequence or 0) + 1
