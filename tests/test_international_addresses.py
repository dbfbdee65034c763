"""Internationalised addresses: what a form accepts, the real SMTP server receives.

An internationalised domain (elu@mairie-exämple.fr) is accepted and goes on the wire in its
ASCII form; a non-ASCII mailbox name (josé@example.org) needs SMTPUTF8 on every relay, so the
forms refuse it with a French message instead of accepting an address never delivered.
"""

from __future__ import annotations

import pytest

from irev import mime
from irev.extensions import db
from irev.models import EmailStatus, OutboundEmail, Person, Registration
from irev.services import sending
from tests import factories
from tests.registration_support import confirm_path, counts, form_data

IDN = "elu@mairie-exämple.fr"
IDN_ON_THE_WIRE = "elu@xn--mairie-exmple-jfb.fr"
NON_ASCII_MAILBOX = "josé@example.org"
REFUSAL = "partie avant le signe @ contient des accents"


@pytest.fixture
def app_config(smtp_server):
    return smtp_server.app_config()


@pytest.mark.parametrize(
    ("address", "wire"),
    [
        ("camille@ville.fr", "camille@ville.fr"),
        (IDN, IDN_ON_THE_WIRE),
        ("elu@MAIRIE-EXÄMPLE.fr", IDN_ON_THE_WIRE),
        ("contact@bücher.example", "contact@xn--bcher-kva.example"),
    ],
)
def test_wire_address_puts_the_domain_in_ascii(address, wire):
    assert mime.wire_address(address) == wire
    assert mime.mailbox("Élu Local", address).endswith(f"<{wire}>")


@pytest.mark.parametrize("address", [NON_ASCII_MAILBOX, "élu@mairie-exämple.fr", "a@b@c.fr"])
def test_wire_address_refuses_what_it_cannot_carry(address):
    with pytest.raises(mime.HeaderError):
        mime.wire_address(address)


def delivered(smtp_server) -> list:
    """Run the worker once and return what the server received."""
    db.session.commit()
    report = sending.send_pending()
    assert not report.errors
    return smtp_server.received


def test_an_idn_address_from_the_public_form_is_delivered(client, smtp_server):
    meeting = factories.create_meeting()
    db.session.commit()
    response = client.post("/inscription", data=form_data(meeting.slug, email=IDN))
    assert response.status_code == 303
    assert db.session.scalar(db.select(Person.email)) == IDN  # kept as typed, lower case
    [request] = delivered(smtp_server)
    assert request.rcpt_tos == [IDN_ON_THE_WIRE]
    assert request.message["To"].addresses[0].addr_spec == IDN_ON_THE_WIRE
    # The link it carries works: the person confirms, and the next e-mail reaches them too.
    assert client.post(confirm_path(IDN)).status_code == 200
    smtp_server.clear()
    [seated] = delivered(smtp_server)
    assert seated.rcpt_tos == [IDN_ON_THE_WIRE]
    statuses = set(db.session.scalars(db.select(OutboundEmail.status)))
    assert statuses == {EmailStatus.SENT}


def test_an_idn_address_registered_by_staff_is_delivered(staff_client, smtp_server):
    meeting = factories.create_meeting()
    db.session.commit()
    data = {
        "first_name": "Jean",
        "last_name": "Dupont",
        "email": IDN,
        "organisation": "Lille",
        "mandate": "maire",
        "department": "Nord",
    }
    response = staff_client.post(f"/admin/seances/{meeting.id}/inscrire", data=data)
    assert response.status_code == 303
    [seated] = delivered(smtp_server)
    assert seated.rcpt_tos == [IDN_ON_THE_WIRE]


def test_a_non_ascii_mailbox_is_refused_by_the_public_form(client, smtp_server):
    meeting = factories.create_meeting()
    db.session.commit()
    before = counts()
    response = client.post("/inscription", data=form_data(meeting.slug, email=NON_ASCII_MAILBOX))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert REFUSAL in html and "Il y a un problème" in html
    assert 'value="josé@example.org"' in html  # kept, to be corrected
    assert counts() == before
    assert delivered(smtp_server) == []


def test_a_non_ascii_mailbox_is_refused_by_staff_forms(staff_client):
    meeting = factories.create_meeting()
    db.session.commit()
    data = {
        "first_name": "José",
        "last_name": "Martin",
        "email": NON_ASCII_MAILBOX,
        "organisation": "Lille",
        "mandate": "maire",
        "department": "Nord",
    }
    response = staff_client.post(f"/admin/seances/{meeting.id}/inscrire", data=data)
    assert response.status_code == 422
    assert REFUSAL in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0
    programme = meeting.programme
    response = staff_client.post(
        f"/admin/programme?id={programme.id}",
        data={
            "title": programme.title,
            "contact_email": NON_ASCII_MAILBOX,
            "retention_months": "12",
        },
    )
    assert response.status_code == 422
    assert REFUSAL in response.get_data(as_text=True)
    db.session.expire_all()
    assert programme.contact_email != NON_ASCII_MAILBOX


def test_an_idn_reply_to_reaches_the_header(app, staff_client, smtp_server):
    app.config["MAIL_REPLY_TO"] = ""  # the programme's contact address answers
    programme = factories.create_programme(contact_email="equipe@irev-exämple.fr")
    meeting = factories.create_meeting(programme=programme)
    db.session.commit()
    data = {
        "first_name": "Jean",
        "last_name": "Dupont",
        "email": "jean.dupont@mairie.example",
        "organisation": "Lille",
        "mandate": "maire",
        "department": "Nord",
    }
    assert staff_client.post(f"/admin/seances/{meeting.id}/inscrire", data=data).status_code == 303
    [seated] = delivered(smtp_server)
    assert seated.message["Reply-To"].addresses[0].addr_spec == "equipe@xn--irev-exmple-r8a.fr"
