"""The hand-written MIME layout parses back, with the email package, to exactly what was given."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from irev import mime

TEXT = (
    "Bonjour Élodie,\n\n"
    ".Une ligne qui commence par un point\n"
    "From a line that mbox would mangle\n"
    "Espaces en fin de ligne   \n"
    "Tabulation\tet signe = égal, =3D déjà codé, « guillemets » et l’apostrophe.\n"
    + "Une très longue ligne sans coupure "
    + "x" * 300
    + "\n"
)
HTML = '<html lang="fr"><body><p>Bonjour <a href="https://exemple.fr/?a=1&amp;b=2">ici</a></p>\n'


def parse(raw: bytes):
    """Parse wire bytes the way a mail client would."""
    return message_from_bytes(raw, policy=policy.default)


def build(subject: str, name: str = "Élodie Martin", attachments=()) -> bytes:
    """Return a message with the site's layout."""
    headers = [
        mime.unstructured("Subject", subject),
        f"From: {mime.mailbox('IREV – Rencontres des élus', 'rencontres-elus@irev.fr')}",
        f"To: {mime.mailbox(name, 'elodie@commune.example')}",
        "Message-ID: <1@irev.test>",
    ]
    return mime.message_bytes(headers, TEXT, HTML, list(attachments))


@pytest.mark.parametrize(
    "subject",
    [
        "Lien de connexion",
        "Votre lien de connexion à la séance du mercredi 1er mars 2023 : « Mixité sociale dans "
        "l’habitat, politiques locales et peuplement des quartiers prioritaires » 🙂",
        "A plain ASCII subject that is long enough to be folded over more than one line " * 3,
    ],
)
def test_headers_decode_to_the_text_and_keep_lines_short(subject):
    subject = " ".join(subject.split())  # as render() leaves it
    raw = build(subject)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    message = parse(raw)
    assert str(message["Subject"]) == subject
    assert message["From"].addresses[0].display_name == "IREV – Rencontres des élus"
    assert message["To"].addresses[0].addr_spec == "elodie@commune.example"
    assert message["To"].addresses[0].display_name == "Élodie Martin"


def test_bodies_decode_to_exactly_the_text_and_lines_stay_under_76():
    raw = build("Objet")
    body = raw.split(b"\r\n\r\n", 1)[1]
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF everywhere, no bare LF
    message = parse(raw)
    assert message.get_content_type() == "multipart/alternative"
    # CRLF on the wire; a mail reader shows the same lines.
    text = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(preferencelist=("html",)).get_content().replace("\r\n", "\n")
    assert text == TEXT and html == HTML


def test_an_attachment_wraps_the_alternative_in_mixed():
    data = "BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nSUMMARY:Séance\r\nEND:VCALENDAR\r\n".encode()
    part = mime.attachment_part(
        "seance.ics", "text", "calendar", (("method", "PUBLISH"), ("charset", "utf-8")), data
    )
    message = parse(build("Objet", attachments=[part]))
    assert message.get_content_type() == "multipart/mixed"
    alternative, calendar = message.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_param("method") == "PUBLISH"
    assert calendar.get_filename() == "seance.ics"
    assert calendar.get_payload(decode=True) == data


@pytest.mark.parametrize(
    "name",
    ["Camille\r\nBcc: pirate@evil.example", 'Jean-Pierre "Le Maire" <x>', "Ａ" * 80],
)
def test_a_name_never_adds_a_header(name):
    message = parse(build("Objet", name=name))
    assert message["Bcc"] is None
    assert message["To"].addresses[0].addr_spec == "elodie@commune.example"
    assert message["To"].addresses[0].display_name == " ".join(name.split())


@pytest.mark.parametrize("address", ["a@b.fr\r\nBcc: c@d.fr", "a b@c.fr", "nobody", ""])
def test_a_bad_address_is_refused(address):
    with pytest.raises(mime.HeaderError):
        mime.mailbox("Nom", address)


def test_a_line_break_in_free_text_is_refused():
    with pytest.raises(mime.HeaderError):
        mime.unstructured("Subject", "Objet\r\nBcc: pirate@evil.example")
