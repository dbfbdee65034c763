"""The proof: random sequences of every lifecycle move keep the seat and waiting-list invariants.

A hypothesis state machine drives the services (no routes), committing after each step as a
route does, on the test database (SQLite, or PostgreSQL with TEST_DATABASE_URL). After each
step it checks:

- seats_taken equals the number of people seated, and never exceeds the capacity;
- on a published meeting not yet started, nobody waits while a seat is free;
- a cancelled meeting holds no seat, no waiting place, no request awaiting approval;
- the waiting list keeps the order in which people joined it, and seats offered by the system
  go to its head;
- each change of state of a registration produced its one e-mail and its one audit row (a
  request withdrawn before confirmation e-mails nobody: its address was never proved).
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func

from irev.extensions import db
from irev.models import (
    ApprovalMode,
    AuditEvent,
    IllegalTransition,
    Meeting,
    MeetingStatus,
    OutboundEmail,
    Person,
    Registration,
    RegistrationState,
    StaffUser,
)
from irev.services import gdpr, meetings_admin, seats
from irev.services import registrations as service
from irev.services.meetings_admin import MeetingError
from irev.services.moderation import waiting_positions
from irev.services.people import PersonDetails
from tests import factories

S = RegistrationState
PEOPLE = 5
MEETINGS = 2


class Lifecycle(RuleBasedStateMachine):
    """Registrations of five people for two small meetings, moved at random."""

    @initialize(
        capacities=st.lists(st.integers(1, 2), min_size=MEETINGS, max_size=MEETINGS),
        moderated=st.booleans(),
        queued=st.lists(st.integers(0, 2), min_size=MEETINGS, max_size=MEETINGS),
    )
    def start(self, capacities: list[int], moderated: bool, queued: list[int]) -> None:
        """Create two meetings (the second one moderated or not), full, with waiting lists."""
        programme = factories.create_programme()
        self.meeting_ids = [
            factories.create_meeting(
                programme=programme,
                capacity=capacity,
                approval_mode=ApprovalMode.MODERATED if moderated and n else ApprovalMode.AUTOMATIC,
            ).id
            for n, capacity in enumerate(capacities)
        ]
        staff = StaffUser(
            email=f"equipe{programme.id}@irev.example", display_name="Équipe", password_hash="x"
        )
        db.session.add(staff)
        db.session.commit()
        self.staff_id = staff.id
        self.tag = f"p{programme.id}"
        self.requests: list[tuple[str, int]] = []
        #: The waiting list of each meeting as the test saw people join it.
        self.queues: dict[int, list[int]] = {m: [] for m in self.meeting_ids}
        self.explicit_promotion = False
        self.snapshot()
        for index, (capacity, extra) in enumerate(zip(capacities, queued, strict=True)):
            for person in range(capacity + extra):
                self.request(person, index, True)
                if moderated and index:
                    self.moderate(-1, "approve")

    # --- helpers ------------------------------------------------------------------------

    @property
    def staff(self) -> StaffUser:
        return db.session.get(StaffUser, self.staff_id)

    def meeting(self, index: int) -> Meeting:
        return db.session.get(Meeting, self.meeting_ids[index % MEETINGS])

    def registrations(self) -> list[Registration]:
        return list(
            db.session.scalars(
                db.select(Registration)
                .where(Registration.meeting_id.in_(self.meeting_ids))
                .order_by(Registration.id)
            )
        )

    def pick(self, index: int, *states: RegistrationState) -> Registration | None:
        """Return one registration (in one of states, when given), chosen by index."""
        rows = [r for r in self.registrations() if not states or r.state in states]
        return rows[index % len(rows)] if rows else None

    def person_email(self, index: int) -> str:
        return f"{self.tag}-{index}@commune.example"

    def counts(self) -> tuple[Counter, Counter]:
        """Return the e-mails to people and the audit rows, per registration."""
        ids = [r.id for r in self.registrations()]
        mails = Counter(
            db.session.scalars(
                db.select(OutboundEmail.registration_id).where(
                    OutboundEmail.registration_id.in_(ids),
                    ~OutboundEmail.kind.like("%_to_staff"),
                )
            )
        )
        audits = Counter(
            db.session.scalars(
                db.select(AuditEvent.object_id).where(
                    AuditEvent.object_type == "registration", AuditEvent.object_id.in_(ids)
                )
            )
        )
        return mails, audits

    def snapshot(self) -> None:
        """Remember states and counts before a step."""
        db.session.expire_all()
        self.states = {r.id: r.state for r in self.registrations()}
        self.mails, self.audits = self.counts()

    def step(self, move, *expected) -> None:
        """Run one move; commit it as a route does, or roll it back on an expected refusal."""
        self.snapshot()
        self.explicit_promotion = False
        try:
            move()
        except expected:
            db.session.rollback()
        else:
            db.session.commit()
        db.session.expire_all()
        self.check_moves()

    # --- the moves ----------------------------------------------------------------------

    def register(self, person: int, meeting: int) -> None:
        """Send the public form for one meeting."""
        details = PersonDetails(
            email=self.person_email(person), first_name="Camille", last_name=f"Élue {person}"
        )

        def move():
            result = service.request_registration(details, [self.meeting(meeting)])
            if result.request_key:
                self.requests.append((result.request_key, result.person.id))

        self.step(move, service.RegistrationError)

    def confirm(self, choice: int) -> None:
        """Open one of the confirmation links sent so far (used, expired or not)."""
        if not self.requests:
            return
        key, person_id = self.requests[choice % len(self.requests)]
        self.step(
            lambda: service.confirm_request(key, person_id),
            service.RequestNotFound,
            service.AlreadyConfirmed,
        )

    @rule(
        person=st.integers(0, PEOPLE - 1),
        meeting=st.integers(0, MEETINGS - 1),
        confirmed=st.sampled_from([True, True, True, False]),
    )
    def request(self, person: int, meeting: int, confirmed: bool) -> None:
        self.register(person, meeting)
        if confirmed and self.requests:
            self.confirm(len(self.requests) - 1)

    @rule(choice=st.integers(0, 50))
    def confirm_an_old_link(self, choice: int) -> None:
        self.confirm(choice)

    @rule(choice=st.integers(0, 50), seated=st.booleans())
    def withdraw(self, choice: int, seated: bool) -> None:
        """The person cancels (half the time someone seated: that frees a seat)."""
        states = (S.SEATED,) if seated else (S.WAITING, S.PENDING_APPROVAL, S.REQUESTED)
        registration = self.pick(choice, *states)
        if registration is not None:
            person = registration.person
            self.step(
                lambda: service.cancel_registration(registration, person, by_organiser=False),
                IllegalTransition,
            )

    @rule(
        choice=st.integers(0, 50),
        action=st.sampled_from(["approve", "reject", "promote", "cancel", "anything"]),
    )
    def moderate(self, choice: int, action: str) -> None:
        """A staff move; "anything" tries an approval on any state (refused unless listed)."""
        states = {
            "approve": (S.PENDING_APPROVAL,),
            "reject": (S.PENDING_APPROVAL, S.WAITING),
            "promote": (S.WAITING,),
            "cancel": (S.SEATED, S.WAITING, S.PENDING_APPROVAL),
            "anything": (),
        }[action]
        registration = self.pick(choice, *states)
        if registration is None:
            return
        staff = self.staff

        def move():
            if action in ("approve", "anything"):
                service.approve_registration(registration, staff)
            elif action == "reject":
                service.reject_registration(registration, staff, "Complet.")
            elif action == "promote":
                self.explicit_promotion = True
                service.promote_from_waiting_list(registration, staff)
            else:
                service.cancel_registration(registration, staff, by_organiser=True)

        self.step(move, IllegalTransition)

    def set_status(self, meeting: int, status: MeetingStatus) -> None:
        found = self.meeting(meeting)
        self.step(lambda: meetings_admin.set_status(found, status, self.staff), MeetingError)

    @rule(meeting=st.integers(0, MEETINGS - 1))
    def publish_or_unpublish(self, meeting: int) -> None:
        """Take a published meeting back to draft, or publish a draft."""
        draft = self.meeting(meeting).status is MeetingStatus.DRAFT
        self.set_status(meeting, MeetingStatus.PUBLISHED if draft else MeetingStatus.DRAFT)

    @rule(meeting=st.integers(0, MEETINGS - 1), dice=st.integers(0, 9))
    def cancel_meeting(self, meeting: int, dice: int) -> None:
        # Rarely (hypothesis favours 0 and the bounds): nothing moves after a cancellation.
        if dice == 7:
            self.set_status(meeting, MeetingStatus.CANCELLED)

    @rule(meeting=st.integers(0, MEETINGS - 1), capacity=st.integers(1, 4))
    def change_capacity(self, meeting: int, capacity: int) -> None:
        found = self.meeting(meeting)
        data = {**meetings_admin.form_data(found), "capacity": capacity}
        self.step(lambda: meetings_admin.update_meeting(found, data, self.staff), MeetingError)

    @rule(person=st.integers(0, PEOPLE - 1), dice=st.integers(0, 2))
    def erase(self, person: int, dice: int) -> None:
        if dice != 1:
            return  # less often: an erasure ends every registration of the person
        found = db.session.scalar(
            db.select(Person).where(Person.email == self.person_email(person))
        )
        if found is not None:
            self.step(lambda: gdpr.erase(found, self.staff))

    # --- what every step must leave true ------------------------------------------------

    def check_moves(self) -> None:
        """Each change of state: one e-mail, one audit row; the waiting list kept in order."""
        mails, audits = self.counts()
        rows = self.registrations()
        for registration in rows:
            before = self.states.get(registration.id)
            if before is None or before is registration.state:
                continue  # new (a request, e-mailed per person) or unchanged
            new_mails = mails[registration.id] - self.mails[registration.id]
            new_audits = audits[registration.id] - self.audits[registration.id]
            # an unconfirmed request ends without e-mail, withdrawn by its person or by staff
            withdrawn = before is S.REQUESTED and not registration.is_active
            assert new_mails == (0 if withdrawn else 1), (registration, before)
            assert new_audits == 1, (registration, before)
        by_id = {r.id: r for r in rows}
        for meeting_id, queue in self.queues.items():
            left = [i for i in queue if i not in by_id or by_id[i].state is not S.WAITING]
            if not self.explicit_promotion:
                offered = [i for i in left if i in by_id and by_id[i].state is S.SEATED]
                assert offered == queue[: len(offered)], "seats go to the head of the list"
            queue[:] = [i for i in queue if i not in left]
            joined = [
                r
                for r in rows
                if r.meeting_id == meeting_id and r.state is S.WAITING and r.id not in queue
            ]
            queue.extend(r.id for r in sorted(joined, key=lambda r: (r.state_changed_at, r.id)))
        self.mails, self.audits = mails, audits

    @invariant()
    def seats_match_the_seated(self) -> None:
        for meeting_id in getattr(self, "meeting_ids", []):
            meeting = db.session.get(Meeting, meeting_id)
            seated = db.session.scalar(
                db.select(func.count(Registration.id)).where(
                    Registration.meeting_id == meeting_id, Registration.state == S.SEATED
                )
            )
            assert meeting.seats_taken == seated <= meeting.capacity

    @invariant()
    def nobody_waits_beside_a_free_seat(self) -> None:
        for meeting_id in getattr(self, "meeting_ids", []):
            meeting = db.session.get(Meeting, meeting_id)
            waiting = waiting_positions(meeting)
            if meeting.is_published and not meeting.is_past() and waiting:
                assert meeting.seats_taken == meeting.capacity, "a seat is free beside the list"

    @invariant()
    def a_cancelled_meeting_holds_nobody(self) -> None:
        for meeting_id in getattr(self, "meeting_ids", []):
            meeting = db.session.get(Meeting, meeting_id)
            if meeting.is_cancelled:
                held = db.session.scalar(
                    db.select(func.count(Registration.id)).where(
                        Registration.meeting_id == meeting_id,
                        Registration.state.in_([S.SEATED, S.WAITING, S.PENDING_APPROVAL]),
                    )
                )
                assert (meeting.seats_taken, held) == (0, 0)

    @invariant()
    def waiting_positions_follow_the_order_of_joining(self) -> None:
        for meeting_id, queue in getattr(self, "queues", {}).items():
            meeting = db.session.get(Meeting, meeting_id)
            positions = waiting_positions(meeting)
            assert sorted(positions, key=positions.get) == queue
            for registration_id, position in positions.items():
                registration = db.session.get(Registration, registration_id)
                assert seats.waiting_position(registration) == position


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_random_lifecycles_keep_the_invariants(app):
    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            database=None,
            # No shrinking: each step costs database round trips, and shrinking a long
            # sequence would take minutes; the failing sequence is printed as found.
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
