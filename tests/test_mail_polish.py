"""E-mails as a reader gets them from a real SMTP server: signature, names, replies, service."""

from __future__ import annotations

from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest

from irev.extensions import db
from irev.models import ApprovalMode, RegistrationState
from irev.services import sending
from irev.services.registration_events import notify_staff
from tests.test_mail import queue, soon_meeting

S = RegistrationState


@pytest.fixture
def app_config(smtp_server):
    return smtp_server.app_config()


def text_of(message: EmailMessage) -> str:
    """Return the plain-text part as a reader sees it."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def html_of(message: EmailMessage) -> str:
    """Return the HTML part."""
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def test_the_signature_separator_is_dash_dash_space_on_its_own_line(
    smtp_server, create_meeting, create_registration
):
    create_registration(soon_meeting(create_meeting))
    db.session.commit()

    sending.run_pass()

    [received] = smtp_server.received
    lines = text_of(received.message).replace("\r\n", "\n").split("\n")
    assert "-- " in lines  # RFC 3676 §4.3: what mail readers recognise as a signature
    assert "--" not in lines
    signature = "\n".join(lines[lines.index("-- ") + 1 :])
    assert "IREV – Institut régional de la ville" in signature
    assert "Bien cordialement" not in signature


def test_a_long_display_name_arrives_whole_in_short_encoded_words(
    smtp_server, create_meeting, create_person, create_registration
):
    person = create_person(
        first_name="Marie-Éléonore Bérénice",
        last_name="de La Rochefoucauld-Liancourt Saint-Exupéry de Bourbon-Parme",
    )
    create_registration(soon_meeting(create_meeting), person=person)
    db.session.commit()

    sending.run_pass()

    [received] = smtp_server.received
    head = received.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    to_header = head.split("\r\nTo: ", 1)[1]
    to_lines = ["To: " + to_header.split("\r\n")[0]]
    for line in to_header.split("\r\n")[1:]:
        if not line.startswith(" "):
            break
        to_lines.append(line)
    assert all(len(line) <= 78 for line in to_lines)
    words = [w for line in to_lines for w in line.split() if w.startswith("=?")]
    assert len(words) >= 2 and all(len(word) <= 75 for word in words)
    folded = " ".join(line.removeprefix("To: ").strip() for line in to_lines)
    name = str(make_header(decode_header(folded))).rsplit(" <", 1)[0]
    assert name == person.full_name
    assert received.message["To"].addresses[0].addr_spec == person.email


def test_staff_reply_to_the_registrant_and_the_footer_says_so(
    smtp_server, create_meeting, create_person, create_registration
):
    meeting = create_meeting(approval_mode=ApprovalMode.MODERATED)
    person = create_person(first_name="Élodie", last_name="Martin", email="elodie@mairie.example")
    registration = create_registration(meeting, person=person, state=S.PENDING_APPROVAL)
    notify_staff(registration)
    db.session.commit()

    sending.run_pass()

    [received] = smtp_server.received
    message = received.message
    staff_address = message["To"].addresses[0].addr_spec
    [reply_to] = message["Reply-To"].addresses
    assert reply_to.addr_spec == "elodie@mairie.example" != staff_address
    assert reply_to.display_name == "Élodie Martin"
    for body in (text_of(message), html_of(message)):
        assert "répondez simplement à ce message" not in body
        assert "Pour écrire à Élodie Martin, répondez à ce message" in body


@pytest.mark.parametrize(
    ("url", "heading"),
    [
        ("https://us02web.zoom.us/j/123456", "visioconférence (Zoom) :"),
        ("https://teams.microsoft.com/l/meetup-join/19%3a", "visioconférence (Microsoft Teams) :"),
        ("https://meet.google.com/abc-defg-hij", "visioconférence (Google Meet) :"),
        ("https://irev.webex.com/meet/equipe", "visioconférence (Webex) :"),
        ("https://visio.example.org/salle", "visioconférence :"),
        ("https://zoom.us.example.org/j/1", "visioconférence :"),
    ],
)
def test_the_video_service_is_named_from_the_link(
    smtp_server, create_meeting, create_registration, url, heading
):
    create_registration(soon_meeting(create_meeting, video_url=url))
    db.session.commit()

    sending.run_pass()

    [received] = smtp_server.received
    text = text_of(received.message)
    assert f"Pour rejoindre la séance en {heading}" in text
    assert ("(Zoom)" in text) == ("zoom.us/" in url)
    html = html_of(received.message)
    assert heading.rstrip(" :") + "</h2>" in html


def test_the_rejection_says_reply_to_this_message_once(
    smtp_server, create_meeting, create_registration
):
    registration = create_registration(create_meeting(), state=S.REJECTED)
    queue(registration, "rejected_to_registrant", reason="Séance réservée aux maires.")
    db.session.commit()

    sending.run_pass()

    [received] = smtp_server.received
    for body in (text_of(received.message), html_of(received.message)):
        assert body.count("répondez simplement à ce message") == 1
        assert "Séance réservée aux maires." in body


def test_the_ehlo_name_is_the_configured_one(app, smtp_server, create_meeting, create_registration):
    create_registration(soon_meeting(create_meeting))
    db.session.commit()
    app.config["IREV_MAIL_EHLO_NAME"] = "rencontres.irev.fr"

    sending.run_pass()

    [received] = smtp_server.received
    assert received.ehlo_name == "rencontres.irev.fr"
