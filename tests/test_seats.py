"""The one home of seats: freed seats go to the waiting list, whatever freed them."""

from __future__ import annotations

import pytest

from irev.extensions import db
from irev.models import AuditEvent, Meeting, MeetingStatus, RegistrationState, StaffUser
from irev.services import meetings_admin, seats
from irev.services import registrations as service
from irev.services.people import PersonDetails
from tests import factories
from tests.registration_support import emails, fresh

S = RegistrationState


@pytest.fixture
def staff(app) -> StaffUser:
    user = StaffUser(email="equipe@irev.example", display_name="Équipe", password_hash="x")
    db.session.add(user)
    db.session.flush()
    return user


def register(meeting: Meeting, email: str):
    """Send the public form for one meeting and confirm it from its link; return the result."""
    details = PersonDetails(email=email, first_name="Jo", last_name=email.split("@")[0])
    request = service.request_registration(details, [meeting])
    [result] = service.confirm_request(request.request_key, request.person.id)
    return result


def test_a_seat_freed_while_unpublished_goes_to_the_waiting_person(app, staff):
    """Bug 1: capacity 1; A seated, B waiting; unpublish; A cancels; publish; C registers."""
    meeting = factories.create_meeting(capacity=1)
    a = register(meeting, "a@commune.example").registration
    b = register(meeting, "b@commune.example").registration
    assert (a.state, b.state) == (S.SEATED, S.WAITING)
    meetings_admin.set_status(meeting, MeetingStatus.DRAFT, staff)
    service.cancel_registration(a, a.person, by_organiser=False)
    assert fresh(b).state is S.WAITING  # a draft offers nothing yet
    meetings_admin.set_status(meeting, MeetingStatus.PUBLISHED, staff)
    assert fresh(b).state is S.SEATED
    assert [e.to_address for e in emails("promoted_to_registrant")] == ["b@commune.example"]
    c = register(meeting, "c@commune.example")
    assert c.registration.state is S.WAITING
    assert (c.outcome, c.position) == (service.Outcome.WAITING, 1)
    assert fresh(meeting).seats_taken == 1


def test_a_newcomer_never_passes_someone_waiting(app):
    """A free seat on a draft with a waiting list: the newcomer queues behind."""
    meeting = factories.create_meeting(capacity=2, status=MeetingStatus.DRAFT)
    factories.create_registration(meeting=meeting, state=S.SEATED)
    waiting = factories.create_registration(meeting=meeting, state=S.WAITING)
    newcomer = factories.create_registration(meeting=meeting, state=S.PENDING_APPROVAL)
    assert service.approve_registration(newcomer, None) is S.WAITING
    assert seats.waiting_position(newcomer) == 2 and seats.waiting_position(waiting) == 1
    assert meeting.seats_taken == 1


def test_a_cancelled_meeting_gives_back_its_seats(app, staff):
    """Bug 2: cancelling a meeting ends every seat, request and waiting place, once each."""
    meeting = factories.create_meeting(capacity=2)
    seated = [factories.create_registration(meeting=meeting, state=S.SEATED) for _ in range(2)]
    waiting = factories.create_registration(meeting=meeting, state=S.WAITING)
    pending = factories.create_registration(meeting=meeting, state=S.PENDING_APPROVAL)
    requested = factories.create_registration(meeting=meeting, state=S.REQUESTED)
    meetings_admin.set_status(meeting, MeetingStatus.CANCELLED, staff)
    db.session.commit()
    meeting = fresh(meeting)
    assert meeting.seats_taken == 0
    ended = [*seated, waiting, pending]
    assert {fresh(r).state for r in ended} == {S.CANCELLED_BY_ORGANISER}
    assert fresh(requested).state is S.REQUESTED  # holds nothing; its confirmation will close
    cancelled = emails("meeting_cancelled_to_registrant")
    assert sorted(e.registration_id for e in cancelled) == sorted(r.id for r in ended)
    assert len(emails()) == len(ended)  # the scheduler did not send the cancellation twice
    audited = db.session.scalars(
        db.select(AuditEvent.object_id).where(AuditEvent.action == "registration.cancel")
    ).all()
    assert sorted(audited) == sorted(r.id for r in ended)
    # The figures and the person's page say it too.
    assert service.person_registrations(seated[0].person)[0].state is S.CANCELLED_BY_ORGANISER
