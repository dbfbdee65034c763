"""Preview the e-mails a meeting change or cancellation will send, before staff confirm it.

Decisions:
- The preview runs the real change (update_meeting, set_status) inside a savepoint, reads the
  outbox rows the scheduler queued, renders them with the real e-mail templates, then rolls the
  savepoint back. The counts and the message shown are what confirming sends, and no second
  copy of the rules deciding who is told can drift from the first. Nothing is kept: not the
  change, its audit rows, nor its e-mails.
- Recipients are counted by the state of their registration before the change (a cancellation
  moves every one of them to « annulée par l'équipe »).
- One message is rendered per state (a seated person's message carries the link and a calendar,
  a waiting person's does not); the staff page shows the plain-text part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from irev import notifications
from irev.extensions import db
from irev.models import Meeting, MeetingStatus, OutboundEmail, Registration, RegistrationState
from irev.services import meetings_admin
from irev.services.video_links import MEETING_CANCELLED, MEETING_CHANGED

#: The mass messages staff confirm before they leave.
PREVIEWED_KINDS = (MEETING_CHANGED, MEETING_CANCELLED)

#: Order and French wording of the counts; the first one shown carries the noun « personne ».
STATE_WORDING = (
    (RegistrationState.SEATED, "ayant une place"),
    (RegistrationState.PENDING_APPROVAL, "en attente de validation"),
    (RegistrationState.WAITING, "en liste d’attente"),
)


@dataclass
class Preview:
    """Who a change e-mails (counts by registration state) and one rendered message per state."""

    counts: dict[RegistrationState, int] = field(default_factory=dict)
    #: (state, subject, plain text) of one message per state, in STATE_WORDING order.
    messages: list[tuple[RegistrationState, str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Return how many people are e-mailed."""
        return sum(self.counts.values())

    def summary(self) -> str:
        """Return « 12 personnes ayant une place, 3 en liste d’attente » (French plurals)."""
        parts = []
        for state, words in STATE_WORDING:
            count = self.counts.get(state, 0)
            if not count:
                continue
            if not parts:
                noun = "personne" if count == 1 else "personnes"
                parts.append(f"{count} {noun} {words}")
            else:
                parts.append(f"{count} {words}")
        return ", ".join(parts) if parts else "aucune personne"


def preview_update(meeting: Meeting, data: dict[str, Any], actor) -> Preview:
    """Return what saving the meeting form would e-mail, without saving or sending anything.

    Raises MeetingError, as update_meeting does, when the values are refused.
    """
    return _dry_run(meeting, lambda: meetings_admin.update_meeting(meeting, data, actor))


def preview_cancel(meeting: Meeting, reason: str, actor) -> Preview:
    """Return what cancelling the meeting would e-mail, without cancelling or sending anything."""
    return _dry_run(
        meeting,
        lambda: meetings_admin.set_status(meeting, MeetingStatus.CANCELLED, actor, reason),
    )


def _dry_run(meeting: Meeting, change: Callable[[], object]) -> Preview:
    """Apply a change in a savepoint, collect the e-mails it queues, and undo everything."""
    db.session.flush()
    states = dict(
        db.session.execute(
            select(Registration.id, Registration.state).where(Registration.meeting_id == meeting.id)
        ).all()
    )
    last_id = db.session.scalar(select(func.max(OutboundEmail.id))) or 0
    savepoint = db.session.begin_nested()
    try:
        change()
        db.session.flush()
        rows = db.session.scalars(
            select(OutboundEmail)
            .where(
                OutboundEmail.id > last_id,
                OutboundEmail.meeting_id == meeting.id,
                OutboundEmail.kind.in_(PREVIEWED_KINDS),
            )
            .order_by(OutboundEmail.id)
        ).all()
        preview = Preview()
        samples: dict[RegistrationState, OutboundEmail] = {}
        for row in rows:
            state = states.get(row.registration_id)  # type: ignore[arg-type]
            if state is None:
                continue
            preview.counts[state] = preview.counts.get(state, 0) + 1
            samples.setdefault(state, row)
        for state, _words in STATE_WORDING:
            if state in samples:
                rendered = notifications.render(samples[state])
                preview.messages.append((state, rendered.subject, rendered.text))
        return preview
    finally:
        savepoint.rollback()
        # Core UPDATEs in the change (the capacity) left loaded values the rollback keeps.
        db.session.expire_all()
