"""Erasure ends seats: each ended seat's cancellation (METHOD:CANCEL) leaves once, then goes.

Whoever asks for erasure still holds our calendar entries. The one message that removes each
from their agenda is sent to the address as it was, through the real worker and a real SMTP
server; once sent (or given up), the row keeps only the placeholder address, no name, no
message and no context. Nothing else is ever sent to that person.
"""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest

from irev.calendars import meeting_uid
from irev.extensions import db
from irev.models import EmailStatus, OutboundEmail, RegistrationState, utcnow
from irev.services import gdpr, outbox, sending
from tests import factories
from tests.admin_helpers import create_staff

S = RegistrationState


@pytest.fixture
def app_config(smtp_server):
    return smtp_server.app_config()


def _calendars(received) -> list[icalendar.Calendar]:
    """Return the calendar attachments of one received message."""
    return [
        icalendar.Calendar.from_ical(part.get_payload(decode=True))
        for part in received.message.iter_attachments()
        if part.get_content_type() == "text/calendar"
    ]


def _rows(person_id: int) -> list[OutboundEmail]:
    db.session.expire_all()
    query = db.select(OutboundEmail).filter_by(person_id=person_id).order_by(OutboundEmail.id)
    return list(db.session.scalars(query))


def test_erasure_sends_one_cancel_per_seat_then_forgets_it(app, smtp_server):
    staff = create_staff()
    seated_meeting = factories.create_meeting(title="Mixité sociale dans l’habitat")
    waiting_meeting = factories.create_meeting(
        capacity=1, starts_at=seated_meeting.starts_at + timedelta(days=28)
    )
    factories.create_registration(waiting_meeting, state=S.SEATED)
    person = factories.create_person(first_name="Inès", last_name="Haddad", email="ines@lens.fr")
    seat = factories.create_registration(seated_meeting, person=person, state=S.SEATED)
    factories.create_registration(waiting_meeting, person=person, state=S.WAITING)
    db.session.commit()

    gdpr.erase(person, staff)
    db.session.commit()
    report = sending.send_pending()

    assert report.failed == 0
    [received] = smtp_server.to("ines@lens.fr")  # one message: the seat's, not the wait's
    [calendar] = _calendars(received)
    [event] = calendar.walk("VEVENT")
    assert calendar["METHOD"] == "CANCEL" and event["STATUS"] == "CANCELLED"
    assert str(event["UID"]) == meeting_uid(seated_meeting)
    assert int(event["SEQUENCE"]) > (seated_meeting.sequence or 0)
    text = received.message.get_body(preferencelist=("plain",)).get_content()
    assert "vos données personnelles ont été effacées" in text
    assert "retire la séance de votre agenda" in text
    assert "Mixité sociale dans l’habitat" in text
    # Dead links and a name we no longer hold are never written.
    assert "/inscription/gerer/" not in text and "/inscription/annuler/" not in text
    assert "Personne" not in text and "anonymisée" not in text
    assert "Vous inscrire de nouveau" not in text

    rows = _rows(person.id)
    assert rows and all("ines@lens.fr" not in (row.to_address or "") for row in rows)
    [sent] = [row for row in rows if row.status is EmailStatus.SENT]
    assert sent.registration_id == seat.id and sent.kind == "cancelled_to_registrant"
    assert sent.to_address == gdpr.placeholder_email(person) and sent.to_name == ""
    assert sent.raw_message is None and sent.context == {}
    assert all(row.status is EmailStatus.FAILED for row in rows if row is not sent)

    assert sending.send_pending().sent == 0  # nothing more ever leaves
    assert len(smtp_server.to("ines@lens.fr")) == 1


def test_a_farewell_given_up_is_forgotten_too(app, smtp_server):
    staff = create_staff()
    person = factories.create_person(email="refus@lens.fr")
    factories.create_registration(factories.create_meeting(), person=person, state=S.SEATED)
    db.session.commit()
    gdpr.erase(person, staff)
    db.session.commit()
    [farewell] = [row for row in _rows(person.id) if row.status is EmailStatus.PENDING]

    outbox.mark_failure(farewell, "refusé", now=utcnow() + timedelta(days=2))
    db.session.commit()

    [row] = [row for row in _rows(person.id) if row.id == farewell.id]
    assert row.status is EmailStatus.FAILED
    assert row.to_address == gdpr.placeholder_email(person) and row.context == {}
