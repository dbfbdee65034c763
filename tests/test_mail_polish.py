"""E-mails as a reader gets them from a real SMTP server: signature, names, replies, service."""

from __future__ import annotations

from datetime import timedelta
from email.header import decode_header, make_header
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest

from irev.dates import hour, to_paris
from irev.extensions import db
from irev.models import ApprovalMode, RegistrationState, utcnow
from irev.notifications import manage_url
from irev.services import sending
from irev.services.people import PersonDetails
from irev.services.registration_events import correct_own_details, notify_staff
from tests.factories import paris
from tests.registration_support import form_data
from tests.test_mail import queue, soon_meeting

S = RegistrationState


@pytest.fixture
def app_config(smtp_server):
    return smtp_server.app_config()


def readable(text: str) -> str:
    """Return text with its typographic no-break spaces read as plain spaces."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def text_of(message: EmailMessage) -> str:
    """Return the plain-text part as a reader sees it (no-break spaces as spaces)."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return readable(part.get_content())


def html_of(message: EmailMessage) -> str:
    """Return the HTML part."""
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return readable(part.get_content()).replace("&nbsp;", " ")


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


def test_correcting_ones_details_sends_what_changed_old_and_new(
    client, smtp_server, create_meeting, create_person, create_registration
):
    person = create_person(
        email="camille@roubaix.example", first_name="Camille", last_name="Durand"
    )
    create_registration(create_meeting(), person=person)
    db.session.commit()
    path = urlsplit(manage_url(person)).path + "/coordonnees"
    data = form_data(first_name="Camille", last_name="Durand", email=person.email)
    data.update(organisation="Métropole européenne de Lille", mandate="maire", department="Nord")

    assert client.post(path, data=data).status_code == 303
    assert client.post(path, data=data).status_code == 303  # the same again: nothing changed
    sending.run_pass()

    [received] = [r for r in smtp_server.received if "coordonnées" in str(r.message["Subject"])]
    assert received.to == "camille@roubaix.example"
    assert str(received.message["Subject"]) == "Vos coordonnées ont été modifiées"
    text = text_of(received.message)
    assert "Collectivité ou structure : Commune de Roubaix → Métropole européenne de Lille" in text
    assert "Téléphone : (vide) → 06 12 34 56 78" in text
    assert "Prénom" not in text  # unchanged details are not listed
    assert "/inscription/gerer/" in text
    assert "Métropole européenne de Lille" in html_of(received.message)


def test_a_changed_address_is_told_at_the_old_one_too_without_the_personal_link(
    smtp_server, create_person
):
    person = create_person(email="ancienne@roubaix.example", first_name="Camille")
    details = PersonDetails(
        email="nouvelle@roubaix.example",
        first_name="Camille",
        last_name=person.last_name,
        organisation=person.organisation,
        mandate=person.mandate,
        department=person.department,
    )
    correct_own_details(person, details)
    db.session.commit()

    sending.run_pass()

    by_address = {r.to: r for r in smtp_server.received}
    assert set(by_address) == {"ancienne@roubaix.example", "nouvelle@roubaix.example"}
    new_text = text_of(by_address["nouvelle@roubaix.example"].message)
    old_text = text_of(by_address["ancienne@roubaix.example"].message)
    for text in (new_text, old_text):
        line = "Adresse électronique : ancienne@roubaix.example → nouvelle@roubaix.example"
        assert line in text
    assert "ancienne adresse" in old_text and "ancienne adresse" not in new_text
    assert "/inscription/gerer/" in new_text
    assert "/inscription/gerer/" not in old_text  # the personal link never goes to an old one


def _seated_text(smtp_server) -> str:
    """Return the plain text of the seat confirmation the server received."""
    [seated] = [r for r in smtp_server.received if "confirmée" in str(r.message["Subject"])]
    return " ".join(text_of(seated.message).split())


def test_a_seat_taken_on_the_day_says_the_link_comes_in_minutes(
    smtp_server, create_meeting, create_registration
):
    meeting = soon_meeting(create_meeting, hours=3)  # the day before has passed, 1 h has not
    registration = create_registration(meeting)
    queue(registration, "seated_to_registrant", key="seated")
    db.session.commit()

    sending.run_pass()

    text = _seated_text(smtp_server)
    assert "la veille à 10 h" not in text  # that moment has passed: the link goes now
    one_hour_before = meeting.starts_at - timedelta(hours=1)
    # Late in the evening the meeting starts after midnight: its last reminder is then the
    # evening before, which the message rightly calls « la veille ».
    same_day = to_paris(one_hour_before).date() == to_paris(meeting.starts_at).date()
    day = "le jour même" if same_day else "la veille"
    assert (
        "vous est envoyé par courriel dans les prochaines minutes, puis de nouveau "
        f"{day} à {hour(one_hour_before)}." in text
    )
    # and it really is: the link message came in the same pass
    assert any(meeting.video_url in text_of(r.message) for r in smtp_server.received)


def test_a_seat_taken_well_before_says_the_day_before_and_the_hour(
    smtp_server, create_meeting, create_registration
):
    year = utcnow().year + 1
    meeting = create_meeting(starts_at=paris(year, 3, 4, 17), ends_at=paris(year, 3, 4, 19))
    queue(create_registration(meeting), "seated_to_registrant", key="seated")
    db.session.commit()

    sending.run_pass()

    text = _seated_text(smtp_server)
    assert (
        "Le lien de connexion à la visioconférence vous sera envoyé par courriel la veille à "
        "10 h, puis le jour même à 16 h." in text
    )
