"""The registration state machine and the services staff use: seats never overbook."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from irev.extensions import db
from irev.models import (
    TRANSITIONS,
    ApprovalMode,
    AuditEvent,
    IllegalTransition,
    Meeting,
    Registration,
    RegistrationState,
    StaffUser,
    utcnow,
)
from irev.services import registrations as service
from tests import factories
from tests.registration_support import emails, fresh

S = RegistrationState
FINAL = {S.REJECTED, S.CANCELLED_BY_PERSON, S.CANCELLED_BY_ORGANISER}


@pytest.fixture
def staff(app) -> StaffUser:
    user = StaffUser(email="equipe@irev.example", display_name="Équipe", password_hash="x")
    db.session.add(user)
    db.session.flush()
    return user


def waiting(meeting: Meeting, hours_ago: int) -> Registration:
    """Add a waiting registration that joined the list hours_ago."""
    registration = factories.create_registration(meeting=meeting, state=S.WAITING)
    registration.state_changed_at = utcnow() - timedelta(hours=hours_ago)
    db.session.flush()
    return registration


# --- the state machine --------------------------------------------------------------------


@pytest.mark.parametrize("start", list(S))
@pytest.mark.parametrize("target", list(S))
def test_only_listed_moves_are_allowed(app, start, target):
    registration = Registration(state=start)
    if target in TRANSITIONS[start]:
        registration.move_to(target)
        assert registration.state is target
    else:
        with pytest.raises(IllegalTransition):
            registration.move_to(target)
        assert registration.state is start


def test_final_states_are_final():
    for state in FINAL:
        assert TRANSITIONS[state] == frozenset()
    # A request holds no seat: it is seated only by confirmation, and never moves back.
    assert S.REQUESTED not in set().union(*TRANSITIONS.values())


def test_the_database_refuses_two_active_registrations(app, create_meeting, create_person):
    meeting, person = create_meeting(), create_person()
    factories.create_registration(meeting=meeting, person=person, state=S.WAITING)
    db.session.commit()
    with pytest.raises(IntegrityError):
        factories.create_registration(meeting=meeting, person=person, state=S.REQUESTED)
    db.session.rollback()
    # A cancelled one does not count: the person may register again.
    old = db.session.scalar(sa.select(Registration))
    old.move_to(S.CANCELLED_BY_PERSON)
    factories.create_registration(meeting=old.meeting, person=old.person, state=S.REQUESTED)
    db.session.commit()


def test_the_database_refuses_more_seats_than_capacity(app, create_meeting):
    meeting = create_meeting(capacity=1)
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(sa.update(Meeting).values(seats_taken=2).where(Meeting.id == meeting.id))
        db.session.flush()
    db.session.rollback()


# --- seats --------------------------------------------------------------------------------


def test_take_seat_stops_at_capacity(app, create_meeting):
    meeting = create_meeting(capacity=2)
    assert [service.take_seat(meeting) for _ in range(4)] == [True, True, False, False]
    assert meeting.seats_taken == 2
    service.release_seat(meeting)
    service.release_seat(meeting)
    service.release_seat(meeting)  # never below zero
    assert meeting.seats_taken == 0


def test_waiting_positions_follow_arrival(app, create_meeting):
    meeting = create_meeting(capacity=0)
    late, early, middle = waiting(meeting, 1), waiting(meeting, 3), waiting(meeting, 2)
    assert [service.waiting_position(r) for r in (early, middle, late)] == [1, 2, 3]
    assert service.first_waiting(meeting) is early


# --- staff services -----------------------------------------------------------------------


def test_approve_seats_or_puts_on_the_waiting_list(app, staff, create_meeting):
    meeting = create_meeting(capacity=1, approval_mode=ApprovalMode.MODERATED)
    first = factories.create_registration(meeting=meeting, state=S.PENDING_APPROVAL)
    second = factories.create_registration(meeting=meeting, state=S.PENDING_APPROVAL)
    assert service.approve_registration(first, staff) is S.SEATED
    assert service.approve_registration(second, staff) is S.WAITING
    db.session.commit()
    assert fresh(meeting).seats_taken == 1
    assert [m.kind for m in emails()] == ["approved_to_registrant", "waiting_to_registrant"]
    context = emails("waiting_to_registrant")[0].context
    assert (context["position"], context["approved"]) == (1, True)
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "registration.approve")
    )
    assert [(e.actor_type, e.before, e.after["state"]) for e in events] == [
        ("staff", {"state": "pending_approval"}, "seated"),
        ("staff", {"state": "pending_approval"}, "waiting"),
    ]
    with pytest.raises(IllegalTransition):
        service.approve_registration(first, staff)


def test_reject_with_a_reason(app, staff, create_meeting):
    registration = factories.create_registration(
        meeting=create_meeting(approval_mode=ApprovalMode.MODERATED), state=S.PENDING_APPROVAL
    )
    service.reject_registration(registration, staff, reason="  Réservé aux maires  ")
    db.session.commit()
    assert fresh(registration).state is S.REJECTED
    assert fresh(registration).reason == "Réservé aux maires"
    (mail,) = emails("rejected_to_registrant")
    assert mail.context["reason"] == "Réservé aux maires"
    seated = factories.create_registration(state=S.SEATED)
    with pytest.raises(IllegalTransition):
        service.reject_registration(seated, staff)


def test_organiser_cancellation_promotes_the_head_of_the_list(app, staff, create_meeting):
    meeting = create_meeting(capacity=1)
    seated = factories.create_registration(meeting=meeting, state=S.SEATED)
    second, first = waiting(meeting, 1), waiting(meeting, 2)
    promoted = service.cancel_registration(seated, staff, by_organiser=True, reason="Doublon")
    db.session.commit()
    assert promoted == [first]
    assert fresh(first).state is S.SEATED and fresh(second).state is S.WAITING
    assert fresh(meeting).seats_taken == 1
    (cancelled,) = emails("cancelled_by_organiser_to_registrant")
    assert cancelled.context["reason"] == "Doublon"
    assert [m.registration_id for m in emails("promoted_to_registrant")] == [first.id]
    assert service.waiting_position(fresh(second)) == 1


def test_promote_a_given_person_only_when_a_seat_is_free(app, staff, create_meeting):
    meeting = create_meeting(capacity=1)
    factories.create_registration(meeting=meeting, state=S.SEATED)
    chosen = waiting(meeting, 1)
    assert service.promote_from_waiting_list(chosen, staff) is False
    assert chosen.state is S.WAITING
    meeting.capacity = 2
    db.session.flush()
    assert service.promote_from_waiting_list(chosen, staff) is True
    assert chosen.state is S.SEATED and meeting.seats_taken == 2
    with pytest.raises(IllegalTransition):
        service.promote_from_waiting_list(chosen, staff)


def test_fill_free_seats_after_a_capacity_increase(app, create_meeting):
    meeting = create_meeting(capacity=0)
    people = [waiting(meeting, hours) for hours in (5, 4, 3)]
    meeting.capacity = 2
    db.session.flush()
    promoted = service.fill_free_seats(meeting)
    assert promoted == people[:2]
    assert people[2].state is S.WAITING and meeting.seats_taken == 2


def test_register_by_staff_follows_the_form_rules(app, staff, create_meeting, create_programme):
    programme = create_programme()
    roomy = create_meeting(programme=programme, capacity=5)
    full = create_meeting(programme=programme, capacity=0)
    closed = create_meeting(
        programme=programme, registration_closes_at=utcnow() - timedelta(days=1)
    )
    data = {
        "email": "Appel.Telephone@Mairie.example",
        "first_name": "Dominique",
        "last_name": "Leroy",
        "organisation": "Commune d’Amiens",
        "mandate": "maire",
        "department": "Somme",
    }
    results = service.register_by_staff(data, [roomy, full, closed], staff)
    db.session.commit()
    assert [r.outcome for r in results] == [
        service.Outcome.SEATED,
        service.Outcome.WAITING,
        service.Outcome.SEATED,  # the public window does not bind staff
    ]
    assert {r.registration.source for r in results} == {"equipe"}
    assert results[0].registration.person.email == "appel.telephone@mairie.example"
    with pytest.raises(service.KnownPerson):  # a known person: keep or update, never silently
        service.register_by_staff({**data, "phone": "03 22 00 00 00"}, [roomy], staff)
    again = service.register_by_staff(
        {**data, "phone": "03 22 00 00 00"}, [roomy], staff, known_details=service.UPDATE_DETAILS
    )
    assert again[0].outcome is service.Outcome.ALREADY
    assert again[0].registration.person.phone == "03 22 00 00 00"  # staff may update details
    past = create_meeting(programme=programme, starts_at=utcnow() - timedelta(days=1))
    with pytest.raises(service.RegistrationError):
        service.register_by_staff(data, [past], staff)


def test_purge_keeps_confirmed_people_and_recent_requests(app, create_meeting):
    meeting = create_meeting()
    old = factories.create_registration(meeting=meeting, state=S.REQUESTED)
    old.requested_at = utcnow() - timedelta(days=8)
    recent = factories.create_registration(meeting=meeting, state=S.REQUESTED)
    seated = factories.create_registration(meeting=meeting, state=S.SEATED)
    second_old = factories.create_registration(person=seated.person, state=S.REQUESTED)
    second_old.requested_at = utcnow() - timedelta(days=9)
    db.session.commit()
    assert service.purge_expired_requests() == (2, 1)
    db.session.commit()
    left = {r.id for r in db.session.scalars(sa.select(Registration))}
    assert left == {recent.id, seated.id}
    assert service.purge_expired_requests() == (0, 0)  # idempotent


# --- the actions derived from the one table ------------------------------------------------


@pytest.mark.parametrize("state", list(S))
def test_allowed_actions_come_from_the_table(app, create_meeting, state):
    from irev.models import MOVES, Action

    meeting = create_meeting()
    registration = factories.create_registration(meeting=meeting, state=state)
    assert registration.allowed_actions() == frozenset(MOVES[state])
    assert registration.can_cancel() is (Action.CANCEL in MOVES[state])
    # Once the meeting has started nothing can be cancelled any more, by anyone.
    started = meeting.starts_at + timedelta(minutes=1)
    assert not registration.can_cancel(started)
    assert Action.CANCEL_BY_ORGANISER not in registration.allowed_actions(started)


def test_a_refused_action_raises_and_changes_nothing(app, staff, create_meeting):
    meeting = create_meeting()
    seated = factories.create_registration(meeting=meeting, state=S.SEATED)
    for move in (service.approve_registration, service.promote_from_waiting_list):
        with pytest.raises(IllegalTransition):
            move(seated, staff)
    assert seated.state is S.SEATED and fresh(meeting).seats_taken == 1
    assert emails() == []
