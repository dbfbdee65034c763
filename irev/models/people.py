"""People who register, and their registrations with the one state machine."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from irev.extensions import db
from irev.models.programme import Meeting, _enum
from irev.models.types import UTCDateTime, utcnow


class Person(db.Model):
    """Someone who registered: one row per normalised e-mail address."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Normalised (see services.people.normalise_email): the identity of a person.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: "madame", "monsieur" or "" (not given): the salutation and word agreement follow it
    #: (irev.salutations).
    civilite: Mapped[str] = mapped_column(String(20), default="")
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(40), default="")
    #: Commune or intercommunality.
    organisation: Mapped[str] = mapped_column(String(200), default="")
    #: A value of registration.forms.MANDATES.
    mandate: Mapped[str] = mapped_column(String(60), default="")
    #: A value of registration.forms.DEPARTMENTS.
    department: Mapped[str] = mapped_column(String(60), default="")
    #: Code INSEE of the commune chosen; "" for an EPCI or a text that matched none.
    commune_code: Mapped[str] = mapped_column(String(5), default="")
    #: SIREN of the EPCI chosen, or of the chosen commune's EPCI; "" when unknown.
    epci_siren: Mapped[str] = mapped_column(String(9), default="")
    #: Code INSEE of the département, derived from the commune or EPCI ("" without a code).
    department_code: Mapped[str] = mapped_column(String(3), default="")
    #: Needs ticked on the form: values of services.reference.ACCESSIBILITY_NEEDS, separated
    #: by commas, in the order of that list ("" for none).
    accessibility_options: Mapped[str] = mapped_column(String(200), default="")
    #: The needs in the person's own words (the « Autre » choice, or any detail).
    accessibility_needs: Mapped[str] = mapped_column(Text, default="")
    #: Raised to invalidate every self-service link sent so far.
    link_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: Set when personal data were erased; the row stays for the figures.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    registrations: Mapped[list[Registration]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def __repr__(self) -> str:
        return f"<Person {self.id}>"


class RegistrationState(enum.StrEnum):
    REQUESTED = "requested"  # form sent, e-mail link not yet confirmed: holds no seat
    SEATED = "seated"
    PENDING_APPROVAL = "pending_approval"
    WAITING = "waiting"
    REJECTED = "rejected"
    CANCELLED_BY_PERSON = "cancelled_by_person"
    CANCELLED_BY_ORGANISER = "cancelled_by_organiser"


S = RegistrationState


class Action(enum.StrEnum):
    """What can be done to a registration, by the person, by staff or by the system."""

    CONFIRM = "confirm"  # the e-mailed link (or staff) confirms the request
    APPROVE = "approve"
    REJECT = "reject"
    PROMOTE = "promote"  # a seat from the waiting list
    CANCEL = "cancel"  # by the person (or at their request)
    CANCEL_BY_ORGANISER = "cancel_by_organiser"


A = Action

#: The one table of moves: from each state, each action and the states it may lead to.
#: Everything else derives from it: TRANSITIONS, allowed_actions(), can_cancel(), the staff row.
MOVES: dict[RegistrationState, dict[Action, frozenset[RegistrationState]]] = {
    S.REQUESTED: {
        A.CONFIRM: frozenset({S.SEATED, S.PENDING_APPROVAL, S.WAITING}),
        A.CANCEL: frozenset({S.CANCELLED_BY_PERSON}),
        # staff withdrawing a request never confirmed (an erasure): nobody is e-mailed
        A.CANCEL_BY_ORGANISER: frozenset({S.CANCELLED_BY_ORGANISER}),
    },
    S.PENDING_APPROVAL: {
        A.APPROVE: frozenset({S.SEATED, S.WAITING}),
        A.REJECT: frozenset({S.REJECTED}),
        A.CANCEL: frozenset({S.CANCELLED_BY_PERSON}),
        A.CANCEL_BY_ORGANISER: frozenset({S.CANCELLED_BY_ORGANISER}),
    },
    S.WAITING: {
        A.PROMOTE: frozenset({S.SEATED}),
        A.REJECT: frozenset({S.REJECTED}),
        A.CANCEL: frozenset({S.CANCELLED_BY_PERSON}),
        A.CANCEL_BY_ORGANISER: frozenset({S.CANCELLED_BY_ORGANISER}),
    },
    S.SEATED: {
        A.CANCEL: frozenset({S.CANCELLED_BY_PERSON}),
        A.CANCEL_BY_ORGANISER: frozenset({S.CANCELLED_BY_ORGANISER}),
    },
    S.REJECTED: {},
    S.CANCELLED_BY_PERSON: {},
    S.CANCELLED_BY_ORGANISER: {},
}

#: The only moves a registration may make; anything else is refused.
TRANSITIONS: dict[RegistrationState, frozenset[RegistrationState]] = {
    state: frozenset().union(*actions.values()) for state, actions in MOVES.items()
}

#: Actions that end a registration: not once its meeting has started (the figures are made).
CANCEL_ACTIONS = frozenset({A.CANCEL, A.CANCEL_BY_ORGANISER})

#: States that count as "registered": at most one such registration per person and meeting.
ACTIVE_STATES = frozenset({S.REQUESTED, S.SEATED, S.PENDING_APPROVAL, S.WAITING})
_ACTIVE_SQL = "state IN ('requested', 'seated', 'pending_approval', 'waiting')"


class IllegalTransition(ValueError):
    """A registration was asked to move to a state it cannot reach from where it is."""


class Registration(db.Model):
    """A person's registration for one meeting."""

    __tablename__ = "registration"
    __table_args__ = (
        # The database refuses two active registrations of one person for one meeting.
        Index(
            "uq_registration_active_person_meeting",
            "person_id",
            "meeting_id",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        Index("ix_registration_meeting_state", "meeting_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    state: Mapped[RegistrationState] = mapped_column(
        _enum(RegistrationState, "registration_state"), default=RegistrationState.REQUESTED
    )
    #: Groups the registrations of one form submission; the confirmation link names it.
    request_key: Mapped[str | None] = mapped_column(String(64), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the current state was entered; orders the waiting list.
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Reason given by staff on rejection or cancellation; goes into the e-mail.
    reason: Mapped[str] = mapped_column(Text, default="")
    #: Attendance after the meeting: None until marked.
    attended: Mapped[bool | None] = mapped_column()
    #: Details a form typed for an already known person, applied only when this request's
    #: link is confirmed (an unverified form never rewrites a person); then emptied.
    submitted_details: Mapped[dict[str, str] | None] = mapped_column(JSON)
    #: Who decided `attended`: "manual" (staff; an import never overrides it) or "import".
    attendance_source: Mapped[str | None] = mapped_column(String(20))
    #: Minutes connected according to the imported report (None: no report imported).
    attended_minutes: Mapped[int | None] = mapped_column()
    #: "formulaire" for the public form, "equipe" when staff registered someone who phoned.
    source: Mapped[str] = mapped_column(String(20), default="formulaire")
    #: When the person answered « je confirme ma présence » to the reconfirmation e-mail of a
    #: full meeting (irev.services.reconfirmation); None: not asked, or no answer (seat kept).
    reconfirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship(back_populates="registrations")
    meeting: Mapped[Meeting] = relationship(back_populates="registrations")

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    def allowed_actions(self, now: datetime | None = None) -> frozenset[Action]:
        """Return what may be done to this registration now (no cancellation once started)."""
        actions = frozenset(MOVES[self.state])
        if self.meeting is not None and self.meeting.is_past(now):
            actions -= CANCEL_ACTIONS
        return actions

    def can_cancel(self, now: datetime | None = None) -> bool:
        """Return True when the person may still cancel (or withdraw) this registration."""
        return Action.CANCEL in self.allowed_actions(now)

    def check_action(self, action: Action, now: datetime | None = None) -> None:
        """Raise IllegalTransition unless the action is allowed now."""
        if action not in self.allowed_actions(now):
            raise IllegalTransition(f"{self.state.value} -> {action.value}")

    def can_move_to(self, new_state: RegistrationState) -> bool:
        """Return True when the state machine allows the move."""
        return new_state in TRANSITIONS[self.state]

    def move_to(self, new_state: RegistrationState, *, at: datetime | None = None) -> None:
        """Move to new_state or raise IllegalTransition; seat counting is the service's job."""
        if not self.can_move_to(new_state):
            raise IllegalTransition(f"{self.state.value} -> {new_state.value}")
        self.state = new_state
        self.state_changed_at = at or utcnow()

    def __repr__(self) -> str:
        return f"<Registration {self.id} {self.state.value}>"
