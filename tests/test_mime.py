"""The hand-written MIME layout parses back, with the email package, to exactly what was given."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.header import decode_header, make_header

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
    shown = message["To"].addresses[0].display_name
    if name.isascii():
        assert shown == " ".join(name.split())
    else:
        assert rfc2047_name(build("Objet", name=name)) == " ".join(name.split())


def rfc2047_name(raw: bytes) -> str:
    """Return the To display name as RFC 2047 reads it (space between encoded words ignored).

    Python's own header parser (policy.default) puts a space between adjacent encoded words
    of a name, against RFC 2047 section 6.2; mail readers follow the RFC.
    """
    folded = message_from_bytes(raw, policy=policy.compat32)["To"]
    return str(make_header(decode_header(folded))).rsplit(" <", 1)[0].strip('"')


def header_lines(raw: bytes, name: str) -> list[str]:
    """Return the physical lines of one header as they are on the wire."""
    lines = raw.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}: "))
    end = start + 1
    while end < len(lines) and lines[end][:1] in (" ", "\t"):
        end += 1
    return lines[start:end]


LONG_NAMES = [
    "Marie-Éléonore de La Rochefoucauld-Liancourt Saint-Exupéry de Bourbon-Parme et des "
    "Deux-Siciles, adjointe",
    "Éléonore Bérénice Hélène Françoise Anaïs Clémentine Gaëlle Mélanie Noémie Pétronille",
    "Ａ" * 80,
]


@pytest.mark.parametrize("name", LONG_NAMES)
def test_a_long_name_is_split_into_encoded_words_of_75_characters_at_most(name):
    raw = build("Objet", name=name)
    to_lines = header_lines(raw, "To")
    assert len(to_lines) > 2  # the name took several lines, the address one of its own
    assert all(len(line) <= 78 for line in to_lines)
    words = re.findall(r"=\?utf-8\?b\?[^?]*\?=", "\n".join(to_lines))
    assert len(words) >= 2
    assert all(len(word) <= 75 for word in words)
    message = parse(raw)
    assert message["To"].addresses[0].addr_spec == "elodie@commune.example"
    assert rfc2047_name(raw) == name
    # words a reader joins back are whole words of the name wherever a space allows it
    shown = message["To"].addresses[0].display_name
    assert " ".join(shown.split()) == name or "Ａ" in name


def test_plain_words_of_a_name_stay_readable_in_the_header():
    head = build("Objet", name="Élodie de La Fontaine").split(b"\r\n\r\n", 1)[0]
    assert b" de La Fontaine" in head
    assert (
        parse(build("Objet", name="Élodie de La Fontaine"))["To"].addresses[0].display_name
        == "Élodie de La Fontaine"
    )


@pytest.mark.parametrize("address", ["a@b.fr\r\nBcc: c@d.fr", "a b@c.fr", "nobody", ""])
def test_a_bad_address_is_refused(address):
    with pytest.raises(mime.HeaderError):
        mime.mailbox("Nom", address)


def test_a_line_break_in_free_text_is_refused():
    with pytest.raises(mime.HeaderError):
        mime.unstructured("Subject", "Objet\r\nBcc: pirate@evil.example")
