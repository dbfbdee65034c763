"""Seats and waiting lists: the one module that takes, gives back and offers seats.

Decisions:
- Seats are counted on `meeting.seats_taken` and changed only here, by conditional UPDATEs;
  the CHECK constraint `seats_taken <= capacity` is the last guard.
- The waiting list is ordered by the moment each person joined it (`state_changed_at`, then
  id), and served from its head, one seat at a time, under the meeting's row lock.
- A newcomer never passes someone waiting: `place()` takes a seat only while nobody waits, and
  serves the list first when somebody does.
- Every path that frees a seat or opens registration ends in `offer_free_seats()`:
  `free_seat()` (cancel, reject, erasure, meeting cancellation), a capacity raised, a meeting
  published. Seats are offered only while the meeting is published and not started; a seat
  freed on a draft waits for its publication, which offers it.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, update

from irev.extensions import db
from irev.models import Meeting, Registration, RegistrationState
from irev.services.registration_events import Actor, notify, record_move

S = RegistrationState


def _nobody_waiting(meeting_id: int):
    """Return the SQL condition "nobody is on this meeting's waiting list"."""
    return ~(
        db.select(Registration.id)
        .where(Registration.meeting_id == meeting_id, Registration.state == S.WAITING)
        .exists()
    )


def take_seat(meeting: Meeting, *, behind_waiting_list: bool = False) -> bool:
    """Take one seat if one is free, atomically; return False when the meeting is full.

    A conditional UPDATE: the database checks and increments in one statement, so two
    transactions can never both take the last seat (on PostgreSQL the second waits for the
    first's row lock, then re-checks the condition; SQLite has one writer at a time).
    behind_waiting_list: also refuse while anybody waits (a newcomer's seat).
    """
    conditions = [Meeting.id == meeting.id, Meeting.seats_taken < Meeting.capacity]
    if behind_waiting_list:
        conditions.append(_nobody_waiting(meeting.id))
    result = db.session.execute(
        update(Meeting)
        .where(*conditions)
        # A seat count is not an edit of the meeting: keep updated_at as it is.
        .values(seats_taken=Meeting.seats_taken + 1, updated_at=Meeting.updated_at)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(meeting, ["seats_taken"])
    return result.rowcount == 1


def release_seat(meeting: Meeting) -> None:
    """Give one seat back (never below zero), atomically; free_seat() also offers it."""
    db.session.execute(
        update(Meeting)
        .where(Meeting.id == meeting.id, Meeting.seats_taken > 0)
        .values(seats_taken=Meeting.seats_taken - 1, updated_at=Meeting.updated_at)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(meeting, ["seats_taken"])


def lock_meeting(meeting: Meeting) -> None:
    """Hold the meeting's row until commit, so waiting-list moves happen one at a time.

    PostgreSQL: SELECT ... FOR UPDATE. SQLite ignores FOR UPDATE; there a writing transaction
    holds the database's single write lock from its start (see irev.database).
    """
    db.session.execute(db.select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())


def waiting_position(registration: Registration) -> int:
    """Return the registration's place on its meeting's waiting list (1 is next)."""
    ahead = db.session.scalar(
        db.select(db.func.count(Registration.id)).where(
            Registration.meeting_id == registration.meeting_id,
            Registration.state == S.WAITING,
            or_(
                Registration.state_changed_at < registration.state_changed_at,
                and_(
                    Registration.state_changed_at == registration.state_changed_at,
                    Registration.id < registration.id,
                ),
            ),
        )
    )
    return int(ahead or 0) + 1


def first_waiting(meeting: Meeting) -> Registration | None:
    """Return the registration at the head of the meeting's waiting list."""
    return db.session.scalar(
        db.select(Registration)
        .where(Registration.meeting_id == meeting.id, Registration.state == S.WAITING)
        .order_by(Registration.state_changed_at, Registration.id)
        .limit(1)
        .with_for_update()
    )


def place(registration: Registration, actor: Actor = None) -> int | None:
    """Seat a newcomer if a seat is free and nobody waits, else put them on the waiting list.

    Return the waiting position, or None when seated. The first attempt is a plain conditional
    UPDATE; only when it fails is the meeting's row locked, the waiting list served (a seat
    freed meanwhile is not left empty) and the seat tried again, so that positions are handed
    out one at a time, in order.
    """
    meeting = registration.meeting
    if take_seat(meeting, behind_waiting_list=True):
        registration.move_to(S.SEATED)
        return None
    lock_meeting(meeting)
    offer_free_seats(meeting, actor)
    if take_seat(meeting, behind_waiting_list=True):
        registration.move_to(S.SEATED)
        return None
    registration.move_to(S.WAITING)  # timestamp taken under the lock: it orders the list
    db.session.flush()
    return waiting_position(registration)


def offer_free_seats(meeting: Meeting, actor: Actor = None) -> list[Registration]:
    """Give every free seat to the head of the waiting list, in order; return who moved up.

    Only while the meeting is published and not started: the same call at publication
    gives the seats freed meanwhile. Each person seated is e-mailed and audited.
    """
    if not meeting.is_published or meeting.is_past():
        return []
    lock_meeting(meeting)
    promoted = []
    while (head := first_waiting(meeting)) is not None and take_seat(meeting):
        head.move_to(S.SEATED)
        notify("promoted_to_registrant", head)
        record_move(actor, "registration.promote", head, S.WAITING)
        promoted.append(head)
    return promoted


def free_seat(meeting: Meeting, actor: Actor = None) -> list[Registration]:
    """Give back the seat of a registration that left it, and offer it; return who moved up."""
    release_seat(meeting)
    return offer_free_seats(meeting, actor)
