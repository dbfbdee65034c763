"""Mass changes: a change of time or link, or a cancellation, is previewed (who is e-mailed, by
state, and the message from the real templates) and confirmed by a second POST; the e-mails
received by a real SMTP server say what changed, old and new, each kind with its own subject."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from irev.dates import PARIS
from irev.extensions import db
from irev.models import (
    AuditEvent,
    EmailStatus,
    Meeting,
    MeetingStatus,
    OutboundEmail,
    Registration,
    RegistrationState,
    utcnow,
)
from irev.services import outbox, sending
from irev.services.mass_changes import Preview
from tests.factories import paris
from tests.test_admin_meetings import _form_of

S = RegistrationState
MAY_15 = paris(2030, 5, 15, 17)


@pytest.fixture
def app_config(smtp_server):
    # Seven days before: the link of a meeting three days ahead is due at once.
    return {**smtp_server.app_config(), "IREV_VIDEO_LINK_SCHEDULE": "7j"}


def told(registration: Registration, kind: str = "seated_to_registrant") -> None:
    """Record that a registrant was sent a message about the meeting as it is now."""
    outbox.enqueue(
        kind,
        registration.person.email,
        dedupe_key=f"registration:{registration.id}:{kind}:told",
        registration=registration,
    )
    db.session.flush()
    row = db.session.scalars(select(OutboundEmail).order_by(OutboundEmail.id.desc())).first()
    row.status = EmailStatus.SENT
    row.sent_at = utcnow()


def mass_rows() -> list[OutboundEmail]:
    """Return the change and cancellation e-mails queued so far."""
    kinds = ("meeting_changed_to_registrant", "meeting_cancelled_to_registrant")
    return list(db.session.scalars(select(OutboundEmail).where(OutboundEmail.kind.in_(kinds))))


def audit_actions() -> list[str]:
    """Return the audit actions recorded so far, oldest first."""
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def plain(value) -> str:
    """Return text with its typographic no-break spaces made plain spaces."""
    return str(value).replace("\u202f", " ").replace("\xa0", " ")


def texts(received) -> tuple[str, str]:
    """Return the plain text and HTML of a received message, no-break spaces made plain."""
    message = received.message
    return (
        plain(message.get_body(preferencelist=("plain",)).get_content()),
        plain(message.get_body(preferencelist=("html",)).get_content()),
    )


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({S.SEATED: 1}, "1 personne ayant une place"),
        ({S.WAITING: 3}, "3 personnes en liste d’attente"),
        ({S.SEATED: 12, S.WAITING: 3}, "12 personnes ayant une place, 3 en liste d’attente"),
        (
            {S.WAITING: 1, S.PENDING_APPROVAL: 1, S.SEATED: 2},
            "2 personnes ayant une place, 1 en attente de validation, 1 en liste d’attente",
        ),
        ({S.PENDING_APPROVAL: 1}, "1 personne en attente de validation"),
        ({}, "aucune personne"),
    ],
)
def test_the_counts_read_as_french(counts, expected):
    assert Preview(counts=counts).summary() == expected


def test_a_change_of_time_is_previewed_kept_and_sent_only_once_confirmed(
    staff_client, create_meeting, create_registration, smtp_server
):
    meeting = create_meeting(starts_at=MAY_15)
    seated = [create_registration(meeting=meeting) for _ in range(2)]
    waiting = create_registration(meeting=meeting, state=S.WAITING)
    pending = create_registration(meeting=meeting, state=S.PENDING_APPROVAL)
    for registration in seated:
        told(registration)
    told(waiting, "waiting_to_registrant")
    told(pending, "pending_to_registrant")
    db.session.commit()
    url = f"/admin/seances/{meeting.id}/modifier"
    form = _form_of(meeting, start="18:00", end="20:00")
    before = audit_actions()

    page = staff_client.post(url, data=form)
    html = page.get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ")
    assert page.status_code == 200
    summary = "2 personnes ayant une place, 1 en attente de validation, 1 en liste d’attente"
    assert summary in html
    assert "Nouvel horaire : « " in html  # the subject, from the real template
    assert "la séance est déplacée de 17 h à 18 h" in html
    assert html.count("<pre") == 3  # one message per state
    assert 'name="start" value="18:00"' in html and 'name="end" value="20:00"' in html
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).starts_at == MAY_15  # nothing saved
    assert mass_rows() == [] and audit_actions() == before  # nothing queued, nothing audited

    back = staff_client.post(url, data={**form, "revoir": "1"})
    assert back.status_code == 200 and 'value="18:00"' in back.get_data(as_text=True).replace(
        "\u202f", " "
    ).replace("\xa0", " ")
    assert db.session.get(Meeting, meeting.id).starts_at == MAY_15

    done = staff_client.post(url, data={**form, "confirmer": "1"})
    assert done.status_code == 303
    assert len(mass_rows()) == 4
    sending.run_pass()
    changes = [r for r in smtp_server.received if "horaire" in plain(r.message["Subject"])]
    assert len(changes) == 4
    for received in changes:
        assert plain(received.message["Subject"]).startswith("Nouvel horaire : ")
        text_part, html_part = texts(received)
        for part in (text_part, html_part):
            assert "la séance est déplacée de 17 h à 18 h" in part
            assert "elle se termine à 20 h au lieu de 19 h" in part
        assert "Le lien de connexion a changé" not in text_part


def test_a_change_of_link_is_previewed_and_says_the_link_changed(
    staff_client, create_meeting, create_registration, smtp_server
):
    day = (utcnow().astimezone(PARIS) + timedelta(days=3)).date()
    meeting = create_meeting(starts_at=paris(day.year, day.month, day.day, 10))
    registration = create_registration(meeting=meeting)
    create_registration(meeting=meeting, state=S.WAITING)  # never gets the link
    db.session.commit()
    sending.run_pass()  # the link goes out (seven days before has passed)
    [link] = smtp_server.to(registration.person.email)
    assert meeting.video_url in texts(link)[0]
    url = f"/admin/seances/{meeting.id}/modifier"
    form = _form_of(meeting, video_url="https://zoom.example/j/nouveau")

    html = (
        staff_client.post(url, data=form)
        .get_data(as_text=True)
        .replace("\u202f", " ")
        .replace("\xa0", " ")
    )
    assert "1 personne ayant une place reçoit un e-mail" in html
    assert "Nouveau lien de connexion : « " in html
    assert mass_rows() == []

    assert staff_client.post(url, data={**form, "confirmer": "1"}).status_code == 303
    sending.run_pass()
    _link, correction = smtp_server.to(registration.person.email)
    assert plain(correction.message["Subject"]).startswith("Nouveau lien de connexion : ")
    text_part, html_part = texts(correction)
    assert (
        "Le lien de connexion a changé" in text_part
        and "Le lien de connexion a changé" in html_part
    )
    assert "https://zoom.example/j/nouveau" in text_part
    assert "déplacée" not in text_part


def test_a_change_of_time_and_link_has_its_own_subject(
    staff_client, create_meeting, create_registration, smtp_server
):
    day = (utcnow().astimezone(PARIS) + timedelta(days=3)).date()
    meeting = create_meeting(starts_at=paris(day.year, day.month, day.day, 10))
    registration = create_registration(meeting=meeting)
    db.session.commit()
    sending.run_pass()
    form = _form_of(meeting, start="11:00", end="13:00", video_url="https://zoom.example/j/2")
    form["confirmer"] = "1"
    assert staff_client.post(f"/admin/seances/{meeting.id}/modifier", data=form).status_code == 303
    sending.run_pass()
    _link, correction = smtp_server.to(registration.person.email)
    subject = plain(correction.message["Subject"])
    assert subject.startswith("Nouvel horaire et nouveau lien de connexion : ")
    text_part, _html = texts(correction)
    assert "déplacée de 10 h à 11 h" in text_part
    assert "Le lien de connexion a changé" in text_part


def test_cancelling_asks_a_reason_previews_and_the_reason_reaches_the_email(
    staff_client, create_meeting, create_registration, smtp_server
):
    meeting = create_meeting(starts_at=MAY_15)
    seated = [create_registration(meeting=meeting) for _ in range(2)]
    waiting = create_registration(meeting=meeting, state=S.WAITING)
    db.session.commit()
    url = f"/admin/seances/{meeting.id}/annuler"
    before = audit_actions()

    empty = staff_client.post(url, data={"reason": "   "})
    assert empty.status_code == 422
    assert "Saisissez le motif de l" in empty.get_data(as_text=True).replace("\u202f", " ").replace(
        "\xa0", " "
    )

    reason = "L’intervenante est souffrante ; la séance sera reprogrammée."
    page = staff_client.post(url, data={"reason": reason})
    html = page.get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ")
    assert page.status_code == 200
    assert "2 personnes ayant une place, 1 en liste d’attente reçoivent un e-mail" in html
    assert "Séance annulée : « " in html  # the subject, from the real template
    assert f"Motif de l’annulation : {reason}" in html
    assert "confirmer" in html
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status is MeetingStatus.PUBLISHED
    states = [db.session.get(Registration, r.id).state for r in (*seated, waiting)]
    assert states == [S.SEATED, S.SEATED, S.WAITING]
    assert mass_rows() == [] and audit_actions() == before

    done = staff_client.post(url, data={"reason": reason, "confirmer": "1"})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status is MeetingStatus.CANCELLED
    sending.run_pass()
    received = [r for r in smtp_server.received if "annulée" in plain(r.message["Subject"])]
    assert sorted(r.to for r in received) == sorted(r.person.email for r in (*seated, waiting))
    for message in received:
        text_part, html_part = texts(message)
        assert f"Motif de l’annulation : {reason}" in text_part
        assert "L’intervenante est souffrante" in html_part
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "meeting.cancel"))
    assert event.after["reason"] == reason


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Saisissez le motif de l"),
        ("x" * 1001, "Saisissez au plus 1000 caractères."),
        ("motif\x00nul", "caractère non autorisé"),
    ],
)
def test_a_bad_cancel_reason_is_refused_in_french(
    staff_client, create_meeting, create_registration, reason, message
):
    meeting = create_meeting(starts_at=MAY_15)
    create_registration(meeting=meeting)
    db.session.commit()
    for extra in ({}, {"confirmer": "1"}):
        response = staff_client.post(
            f"/admin/seances/{meeting.id}/annuler", data={"reason": reason, **extra}
        )
        assert response.status_code == 422
        assert message in response.get_data(as_text=True).replace("\u202f", " ").replace(
            "\xa0", " "
        )
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status is MeetingStatus.PUBLISHED
    assert mass_rows() == []


def test_a_change_that_emails_nobody_is_saved_at_once(staff_client, create_meeting):
    meeting = create_meeting(starts_at=MAY_15)
    db.session.commit()
    response = staff_client.post(
        f"/admin/seances/{meeting.id}/modifier", data=_form_of(meeting, start="18:00", end="20:00")
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).starts_at == MAY_15 + timedelta(hours=1)
