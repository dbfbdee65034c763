"""Assistants (cabinet, secrétariat) register officials: the form, e-mails to both, confirmation
by either, the assistants' own page, staff views and erasure of either side.

E-mails are read as a real SMTP server (aiosmtpd) receives them.
"""

from __future__ import annotations

import re
from datetime import timedelta

import icalendar
import pytest
from freezegun import freeze_time

from irev.extensions import db
from irev.models import (
    AssistantLink,
    EmailStatus,
    OutboundEmail,
    Person,
    Registration,
    RegistrationState,
    utcnow,
)
from irev.services import assistants, gdpr, sending
from irev.services.assistants import assistant_url
from tests import factories
from tests.admin_helpers import create_staff
from tests.registration_support import counts, emails, form_data, path_of, season

S = RegistrationState
OFFICIAL = "claire.dupont@roubaix.example"
ASSISTANT = "samia.benali@roubaix.example"


@pytest.fixture
def app_config(smtp_server):
    return {**smtp_server.app_config(), "IREV_MAIL_BATCH_SIZE": 50}


@pytest.fixture
def meetings(app):
    return season()


def assistant_form(*slugs: str, **overrides) -> dict:
    """Return a valid submission by an assistant for Mme Dupont, maire."""
    data = form_data(
        *slugs,
        for_whom="elu",
        assistant_civilite="madame",
        assistant_first_name="Samia",
        assistant_last_name="Benali",
        assistant_email=ASSISTANT,
        assistant_function="Assistante de direction",
        civilite="madame",
        first_name="Claire",
        last_name="Dupont",
        email=OFFICIAL,
        mandate="maire",
    )
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def received(smtp_server, address: str) -> list:
    """Send what waits, then return the messages the SMTP server received for address."""
    sending.run_pass()
    return [r.message for r in smtp_server.received if r.rcpt_tos == [address]]


def bodies(message) -> tuple[str, str]:
    """Return the plain-text and HTML parts of a received message (no-break spaces as spaces)."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text.translate(PLAIN), html.translate(PLAIN)


PLAIN = str.maketrans({"\u00a0": " ", "\u202f": " "})


def page_text(response) -> str:
    """Return a page's HTML with no-break spaces read as spaces (French typography)."""
    return response.get_data(as_text=True).translate(PLAIN)


def person(address: str) -> Person:
    """Return the person with this address."""
    db.session.expire_all()
    return db.session.scalar(db.select(Person).where(Person.email == address))


def confirm_path_for(address: str) -> str:
    """Return the confirmation path of the last request e-mail queued to an address."""
    return path_of(emails("request_to_registrant", address)[-1].context["confirm_url"])


# --- the form -----------------------------------------------------------------------------------


def test_form_offers_the_choice_without_javascript(client, meetings):
    page = page_text(client.get("/inscription"))
    assert "<legend>Qui inscrivez-vous ?</legend>" in page
    assert 'id="for_whom-0" name="for_whom" value="moi" checked' in page
    assert "J’inscris un ou une élue (cabinet, secrétariat)" in page
    # The assistant's fields are always in the page, labelled.
    for label in ("Votre prénom", "Votre nom", "Votre adresse électronique"):
        assert f">{label}</label>" in page
    assert "Votre fonction (facultatif)" in page
    preselected = page_text(client.get("/inscription?pour=elu"))
    assert 'id="for_whom-1" name="for_whom" value="elu" checked' in preselected


OFFICIAL_PURPOSES = {
    "first_name": "given-name",
    "last_name": "family-name",
    "email": "email",
    "phone": "tel",
    "organisation": "organization",
    "mandate": "organization-title",
}


def purposes(page: str, names) -> dict[str, str]:
    """Return the autocomplete attribute of each named control of the page."""
    found = {}
    for name in names:
        control = re.search(rf'<(?:input|select)[^>]*id="{name}"[^>]*>', page).group(0)
        found[name] = re.search(r'autocomplete="([^"]*)"', control).group(1)
    return found


@pytest.mark.parametrize(
    ("url", "data", "official"),
    [
        pytest.param("/inscription", None, False, id="vide, moi-même"),
        pytest.param("/inscription?pour=elu", None, True, id="vide, pour un élu"),
        pytest.param("/inscription", {"for_whom": "moi"}, False, id="erreurs, moi-même"),
        pytest.param("/inscription", {"for_whom": "elu"}, True, id="erreurs, pour un élu"),
    ],
)
def test_autocomplete_names_the_users_own_data_only(client, meetings, url, data, official):
    """WCAG 1.3.5 / RGAA 11.13: the participant's fields carry the user's purposes when the
    user registers themself; when an assistant registers an official they are « off » (not
    the user's data: the browser must not fill in the assistant's own name), and the
    assistant's own fields carry theirs, in a section of their own."""
    response = client.post(url, data=data) if data else client.get(url)
    page = response.get_data(as_text=True)
    got = purposes(page, OFFICIAL_PURPOSES)
    assert got == ({n: "off" for n in OFFICIAL_PURPOSES} if official else OFFICIAL_PURPOSES)
    for name, token in OFFICIAL_PURPOSES.items():  # what registration.js puts back
        control = re.search(rf'<(?:input|select)[^>]*id="{name}"[^>]*>', page).group(0)
        assert f'data-own-autocomplete="{token}"' in control
    assert purposes(page, ["assistant_first_name", "assistant_email"]) == {
        "assistant_first_name": "section-assistant given-name",
        "assistant_email": "section-assistant email",
    }


def test_an_assistant_registers_an_official_the_seat_is_hers(client, meetings):
    response = client.post("/inscription", data=assistant_form("seance-ouverte"))
    assert response.status_code == 303
    official, helper = person(OFFICIAL), person(ASSISTANT)
    assert (official.first_name, official.mandate, official.civilite) == (
        "Claire",
        "maire",
        "madame",
    )
    assert (helper.first_name, helper.last_name, helper.civilite) == ("Samia", "Benali", "madame")
    [registration] = db.session.scalars(db.select(Registration)).all()
    assert registration.person_id == official.id
    [link] = db.session.scalars(db.select(AssistantLink)).all()
    assert (link.assistant_id, link.official_id) == (helper.id, official.id)
    assert link.function == "Assistante de direction"
    assert helper.registrations == []
    page = page_text(client.get("/inscription/envoyee"))
    assert OFFICIAL in page and ASSISTANT in page


def test_choosing_myself_ignores_the_assistant_fields(client, meetings):
    data = form_data("seance-ouverte", for_whom="moi", assistant_first_name="X")
    assert client.post("/inscription", data=data).status_code == 303
    assert db.session.scalars(db.select(AssistantLink)).all() == []
    assert [r.to_address for r in emails()] == ["camille.durand@roubaix.example"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"assistant_first_name": ""}, "assistant_first_name", "Saisissez votre prénom."),
        ({"assistant_last_name": "  "}, "assistant_last_name", "Saisissez votre nom."),
        ({"assistant_email": ""}, "assistant_email", "Saisissez votre propre adresse."),
        ({"assistant_email": "pas-une-adresse"}, "assistant_email", "adresse électronique valide"),
        ({"assistant_email": OFFICIAL.upper()}, "assistant_email", "doit être différente"),
        ({"assistant_email": "a@b.fr\r\nBcc: x@y.fr"}, "assistant_email", "une seule ligne"),
        ({"assistant_function": "x" * 101}, "assistant_function", "100 caractères au plus"),
        ({"assistant_civilite": "docteur"}, "assistant_civilite", "Choisissez « Madame »"),
        ({"for_whom": "autre"}, "for_whom", "Choisissez « Je m’inscris moi-même »"),
        ({"first_name": ""}, "first_name", "Saisissez le prénom de l’élu ou de l’élue."),
        ({"email": ""}, "email", "Saisissez l’adresse électronique de l’élu ou de l’élue."),
        ({"mandate": ""}, "mandate", "Choisissez le mandat de l’élu ou de l’élue."),
    ],
)
def test_bad_assistant_input_is_refused_in_french_and_nothing_is_saved(
    client, meetings, overrides, field, message
):
    before = counts()
    response = client.post("/inscription", data=assistant_form("seance-ouverte", **overrides))
    page = page_text(response)
    assert response.status_code == 422
    assert message in page
    assert f'href="#{field}' in page  # the error summary leads to the field
    assert "<title>Erreur : " in page
    assert counts() == before
    assert db.session.scalars(db.select(AssistantLink)).all() == []


def test_the_form_keeps_what_the_assistant_typed_after_an_error(client, meetings):
    page = page_text(
        client.post("/inscription", data=assistant_form("seance-ouverte", assistant_last_name=""))
    )
    assert 'value="Samia"' in page and f'value="{ASSISTANT}"' in page
    assert 'id="for_whom-1" name="for_whom" value="elu" checked' in page


# --- e-mails to both ------------------------------------------------------------------------


def test_both_receive_the_request_each_addressed_formally(client, smtp_server, meetings):
    client.post("/inscription", data=assistant_form("seance-ouverte"))
    [to_official] = received(smtp_server, OFFICIAL)
    [to_assistant] = received(smtp_server, ASSISTANT)
    text, html = bodies(to_official)
    assert text.splitlines()[0] == "Madame la Maire,"
    assert "assistante" not in text
    a_text, a_html = bodies(to_assistant)
    assert a_text.splitlines()[0] == "Madame,"
    assert (
        "Vous recevez ce courriel en tant qu’assistante de Madame la Maire, Claire Dupont "
        "(Ville de Roubaix), qui le reçoit aussi." in a_text
    )
    assert "Madame la Maire," in a_text.split("Message adressé à Claire Dupont")[1]
    assert str(to_assistant["To"]).startswith("Samia Benali")
    assert to_assistant["Subject"] == to_official["Subject"]
    # Each holds its own confirmation link; the assistant's page link comes with the copy.
    assert "Les inscriptions que vous gérez" in a_text
    assert "Message adressé à Claire Dupont :" in a_html and "<p" in a_html
    assert "Confirmer mon inscription" in html and "Confirmer mon inscription" in a_html
    assert html.count("/inscription/confirmer/") and a_html.count("/inscription/confirmer/")
    assert confirm_path_for(ASSISTANT) in a_text and confirm_path_for(ASSISTANT) not in text
    # The token's signature holds the second it was made: compare what it carries.
    assert assistant_url(person(ASSISTANT)).rsplit(".", 2)[0] in a_text
    assert "/inscription/gerer/" not in a_text
    assert "/inscription/gerer/" in text
    assert "Une copie de ce courriel est envoyée à Samia Benali, qui gère vos inscriptions." in text
    assert "Une copie de ce courriel" not in a_text


@pytest.mark.parametrize(
    ("official", "helper", "official_opening", "helper_opening", "because", "notice"),
    [
        (
            {"civilite": "madame", "mandate": "maire"},
            {"assistant_civilite": "monsieur"},
            "Madame la Maire,",
            "Monsieur,",
            "en tant qu’assistant de Madame la Maire, Claire Dupont",
            "Votre assistant, M. Benali (",
        ),
        (
            {"civilite": "monsieur", "mandate": "vice_president_epci"},
            {"assistant_civilite": "madame"},
            "Monsieur le Vice-président,",
            "Madame,",
            "en tant qu’assistante de Monsieur le Vice-président, Claire Dupont",
            "Votre assistante, Mme Benali (",
        ),
        (
            {"civilite": "", "mandate": "maire"},
            {"assistant_civilite": ""},
            "Madame, Monsieur,",
            "Madame, Monsieur,",
            "parce que vous gérez les inscriptions de Claire Dupont",
            "La personne qui vous inscrit, Samia Benali (",
        ),
    ],
)
def test_salutations_and_agreement_for_each_case(
    client,
    smtp_server,
    meetings,
    official,
    helper,
    official_opening,
    helper_opening,
    because,
    notice,
):
    client.post("/inscription", data=assistant_form("seance-ouverte", **official, **helper))
    client.post(confirm_path_for(ASSISTANT))
    to_official = received(smtp_server, OFFICIAL)
    to_assistant = received(smtp_server, ASSISTANT)
    # Request, seat; the official also hears that the assistant confirmed.
    assert len(to_official) == 3 and len(to_assistant) == 2
    for message in to_official:
        assert bodies(message)[0].splitlines()[0] == official_opening
    notices = [bodies(m)[0] for m in to_official if "a confirmé" in bodies(m)[0]]
    assert len(notices) == 1 and notice in notices[0], notices
    for message in to_assistant:
        text, html = bodies(message)
        assert text.splitlines()[0] == helper_opening
        assert f">{helper_opening}</p>" in html
        assert because in text and because in html
        assert official_opening in text.split("Message adressé à")[1]


def test_confirmation_by_the_assistant_tells_the_official(client, smtp_server, meetings):
    client.post("/inscription", data=assistant_form("seance-ouverte"))
    path = confirm_path_for(ASSISTANT)
    assert path != confirm_path_for(OFFICIAL)  # the assistant's copy names who confirms
    page = page_text(client.get(path))
    assert "Confirmer l’inscription de Claire Dupont" in page
    assert "Confirmer son inscription" in page
    done = client.post(path)
    assert done.status_code == 200
    assert "L’inscription de Claire Dupont est enregistrée" in page_text(done)
    [registration] = db.session.scalars(db.select(Registration)).all()
    assert registration.state is S.SEATED
    to_official = received(smtp_server, OFFICIAL)
    told = [m for m in to_official if "a confirmé votre inscription" in str(m["Subject"])]
    assert len(told) == 1
    text, _ = bodies(told[0])
    assert text.splitlines()[0] == "Madame la Maire,"
    assert f"Votre assistante, Mme Benali ({ASSISTANT}), a confirmé votre inscription" in text
    # The assistant is not told of their own click; the official's link still works after.
    subjects = [str(m["Subject"]) for m in received(smtp_server, ASSISTANT)]
    assert not any("a confirmé" in s for s in subjects)
    assert client.post(confirm_path_for(OFFICIAL)).status_code == 409  # already confirmed


def test_confirmation_by_the_official_sends_no_notice(client, smtp_server, meetings):
    client.post("/inscription", data=assistant_form("seance-ouverte"))
    assert client.post(confirm_path_for(OFFICIAL)).status_code == 200
    assert emails(assistants.ASSISTANT_CONFIRMED) == []
    assert client.post(confirm_path_for(ASSISTANT)).status_code == 409


def test_seat_and_video_link_reach_both_with_the_same_calendar(client, smtp_server, meetings):
    meeting = meetings["open"]
    meeting.video_url = "https://zoom.us/j/123456789"
    meeting.video_meeting_id = "123 456 789"
    db.session.commit()
    client.post("/inscription", data=assistant_form("seance-ouverte"))
    client.post(confirm_path_for(OFFICIAL))
    received(smtp_server, OFFICIAL)
    with freeze_time(meeting.starts_at - timedelta(minutes=30)):
        links_official = [
            m for m in received(smtp_server, OFFICIAL) if "zoom.us/j/123456789" in bodies(m)[0]
        ]
        links_assistant = [
            m for m in received(smtp_server, ASSISTANT) if "zoom.us/j/123456789" in bodies(m)[0]
        ]
    assert len(links_official) == 1 and len(links_assistant) == 1
    assert bodies(links_assistant[0])[0].splitlines()[0] == "Madame,"

    def calendar(message):
        [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
        event = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
        return str(event["UID"]), int(event["SEQUENCE"])

    assert calendar(links_official[0]) == calendar(links_assistant[0])


def test_cancellation_reaches_both_with_the_same_cancel_calendar(client, smtp_server, meetings):
    client.post("/inscription", data=assistant_form("seance-ouverte"))
    client.post(confirm_path_for(OFFICIAL))
    registration = db.session.scalar(db.select(Registration))
    seat_calendar = {}
    for address in (OFFICIAL, ASSISTANT):
        [seat] = [e for e in map(_event, received(smtp_server, address)) if e[2] == "PUBLISH"]
        seat_calendar[address] = seat
    token = assistants.assistant_token(person(ASSISTANT))
    url = f"/inscription/assistant/{token}/elu/{registration.person_id}/annuler/{registration.id}"
    assert "Annuler l’inscription de Claire Dupont" in page_text(client.get(url))
    assert client.post(url).status_code == 303
    assert db.session.get(Registration, registration.id).state is S.CANCELLED_BY_PERSON
    cancels = {}
    for address in (OFFICIAL, ASSISTANT):
        [cancel] = [e for e in map(_event, received(smtp_server, address)) if e[2] == "CANCEL"]
        cancels[address] = cancel
    assert cancels[OFFICIAL] == cancels[ASSISTANT]
    assert cancels[OFFICIAL][0] == seat_calendar[OFFICIAL][0]  # same UID
    assert cancels[OFFICIAL][1] > seat_calendar[OFFICIAL][1]  # higher SEQUENCE
    assert cancels[OFFICIAL][2] == "CANCEL"


def _event(message) -> tuple[str, int, str]:
    """Return UID, SEQUENCE and METHOD of a message's calendar (empty without one)."""
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    if not parts:
        return ("", 0, "")
    [part] = parts
    calendar = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    event = calendar.walk("VEVENT")[0]
    return str(event["UID"]), int(event["SEQUENCE"]), str(calendar["METHOD"])


# --- the assistant's page ----------------------------------------------------------------------


def test_one_link_manages_several_officials(client, smtp_server, meetings):
    client.post("/inscription", data=assistant_form("seance-ouverte"))
    client.post(confirm_path_for(ASSISTANT))
    second = assistant_form(
        "seance-seconde",
        civilite="monsieur",
        first_name="Marc",
        last_name="Lefebvre",
        email="marc.lefebvre@tourcoing.example",
        organisation="Ville de Tourcoing",
        mandate="adjoint",
    )
    client.post("/inscription", data=second)
    assert len(person(ASSISTANT).registrations) == 0
    token = assistants.assistant_token(person(ASSISTANT))
    page = client.get(f"/inscription/assistant/{token}")
    html = page_text(page)
    assert page.status_code == 200
    assert "Madame la Maire, Claire Dupont" in html and "Monsieur l’Adjoint, Marc Lefebvre" in html
    assert "Annuler son inscription" in html and "sa place est réservée" in html
    assert "mon inscription" not in html and "votre place" not in html
    assert html.index("Claire Dupont") < html.index("Marc Lefebvre")  # by name
    assert "Séance ouverte" in html and "Séance seconde" in html
    assert "Inscrire un autre élu ou une autre élue" in html
    # Add a meeting for Mme Dupont from the page: registered at once, e-mailed to both.
    dupont = person(OFFICIAL)
    response = client.post(
        f"/inscription/assistant/{token}/elu/{dupont.id}/ajouter",
        data={"meetings": "seance-seconde"},
    )
    assert response.status_code == 200
    states = {r.meeting.slug: r.state for r in person(OFFICIAL).registrations}
    assert states == {"seance-ouverte": S.SEATED, "seance-seconde": S.SEATED}
    # Nothing ticked: a French error, 422, nothing added.
    bad = client.post(f"/inscription/assistant/{token}/elu/{dupont.id}/ajouter", data={})
    assert bad.status_code == 422 and "Choisissez au moins une séance." in page_text(bad)
    # Correct her details: she is told (old and new), the assistant gets the copy.
    details = client.post(
        f"/inscription/assistant/{token}/elu/{dupont.id}/coordonnees",
        data={**form_data(), "first_name": "Claire-Anne", "civilite": "madame", "mandate": "maire"},
    )
    assert details.status_code == 303
    assert person(OFFICIAL).first_name == "Claire-Anne"
    changed = [r.to_address for r in emails("details_changed_to_registrant")]
    assert sorted(changed) == sorted([OFFICIAL, ASSISTANT])


def test_the_assistant_page_refuses_others_and_old_links(client, meetings):
    client.post("/inscription", data=assistant_form("seance-ouverte"))
    stranger = factories.create_person(email="autre@lille.example")
    registration = db.session.scalar(db.select(Registration))
    db.session.commit()
    helper = person(ASSISTANT)
    token = assistants.assistant_token(helper)
    assert (
        client.get(f"/inscription/assistant/{token}/elu/{stranger.id}/coordonnees").status_code
        == 404
    )
    other_token = assistants.assistant_token(stranger)
    url = (
        f"/inscription/assistant/{other_token}/elu/{registration.person_id}"
        f"/annuler/{registration.id}"
    )
    assert client.get(url).status_code == 404
    assert client.get("/inscription/assistant/abc").status_code == 400
    # A manage link of the official is not an assistant link (one salt per purpose).
    from irev.notifications import manage_url

    official_token = path_of(manage_url(person(OFFICIAL))).rsplit("/", 1)[1]
    assert client.get(f"/inscription/assistant/{official_token}").status_code == 400
    helper.link_version += 1
    db.session.commit()
    assert client.get(f"/inscription/assistant/{token}").status_code == 404


def test_the_official_can_remove_the_assistant(client, smtp_server, meetings):
    client.post("/inscription", data=assistant_form("seance-ouverte"))
    client.post(confirm_path_for(OFFICIAL))
    from irev.notifications import manage_url

    manage = path_of(manage_url(person(OFFICIAL)))
    page = page_text(client.get(manage))
    assert "Les personnes qui gèrent vos inscriptions" in page and "Samia Benali" in page
    [link] = db.session.scalars(db.select(AssistantLink)).all()
    response = client.post(f"{manage}/assistants/{link.id}/retirer")
    assert response.status_code == 303
    assert db.session.scalars(db.select(AssistantLink)).all() == []
    assert db.session.scalar(db.select(Registration)).state is S.SEATED
    # Copies already queued are not sent any more.
    sending.run_pass()
    pending = [e for e in emails(to=ASSISTANT) if e.status is EmailStatus.SKIPPED]
    assert all("ne gère plus" in e.last_error for e in pending)


# --- erasure --------------------------------------------------------------------------------


def test_erasing_the_official_removes_the_link_and_the_lonely_assistant(
    client, staff_client, meetings
):
    client.post("/inscription", data=assistant_form("seance-ouverte"))
    client.post(confirm_path_for(OFFICIAL))
    official = person(OFFICIAL)
    staff = create_staff(email="moderation@irev.example")
    gdpr.erase(official, staff)
    db.session.commit()
    assert db.session.scalars(db.select(AssistantLink)).all() == []
    helper = db.session.scalar(db.select(Person).where(Person.first_name == "Samia"))
    assert helper is None  # the assistant served only her: erased too
    assert not [e for e in emails() if ASSISTANT in (e.to_address, e.raw_message or "")]


def test_erasing_the_assistant_keeps_the_officials_seats(client, smtp_server, meetings):
    client.post("/inscription", data=assistant_form("seance-ouverte"))
    client.post(confirm_path_for(ASSISTANT))
    sending.run_pass()
    helper, official = person(ASSISTANT), person(OFFICIAL)
    version = official.link_version
    staff = create_staff(email="moderation@irev.example")
    gdpr.erase(helper, staff)
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalars(db.select(AssistantLink)).all() == []
    assert db.session.scalar(db.select(Registration)).state is S.SEATED
    assert db.session.get(Person, official.id).link_version == version + 1
    rows = db.session.scalars(db.select(OutboundEmail)).all()
    assert not [r for r in rows if r.to_address == ASSISTANT or ASSISTANT in (r.raw_message or "")]
    assert [r.to_address for r in rows if r.to_address == OFFICIAL]


def test_unconfirmed_requests_purged_take_the_assistant_along(client, meetings):
    client.post("/inscription", data=assistant_form("seance-ouverte"))
    from irev.services.registration_requests import purge_expired_requests

    assert purge_expired_requests(utcnow() + timedelta(days=30)) == (1, 2)
    assert db.session.scalars(db.select(Person)).all() == []


# --- staff area -------------------------------------------------------------------------------


def _registered_by_assistant(client) -> Registration:
    """Register Mme Dupont through her assistant and confirm; return her registration."""
    client.post("/inscription", data=assistant_form("seance-ouverte"))
    client.post(confirm_path_for(ASSISTANT))
    return db.session.scalar(db.select(Registration))


@pytest.mark.parametrize("role", ["admin", "moderation"])
def test_staff_see_who_registered_the_official(client, meetings, role):
    registration = _registered_by_assistant(client)
    create_staff(email=f"{role}@irev.example", role=role)
    from tests.admin_helpers import sign_in

    assert sign_in(client, email=f"{role}@irev.example").status_code == 303
    listing = page_text(client.get(f"/admin/seances/{registration.meeting_id}/inscriptions"))
    assert f"inscrit·e par son assistant·e Samia Benali ({ASSISTANT})" in listing
    detail = page_text(client.get(f"/admin/personnes/{registration.person_id}"))
    assert (
        "Assistant·e" in detail and "Samia Benali" in detail and "Assistante de direction" in detail
    )
    helper = page_text(client.get(f"/admin/personnes/{person(ASSISTANT).id}"))
    assert "Assistant·e de" in helper and "Claire Dupont" in helper


def test_staff_pages_need_a_sign_in(client, meetings):
    registration = _registered_by_assistant(client)
    response = client.get(f"/admin/personnes/{registration.person_id}")
    assert response.status_code in (302, 303)


def test_exports_name_the_assistant(staff_client, meetings):
    registration = _registered_by_assistant(staff_client)
    factories.create_registration(meeting=meetings["open"], state=S.SEATED)
    db.session.commit()
    response = staff_client.get(f"/admin/seances/{registration.meeting_id}/export.csv")
    import csv
    import io

    rows = list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    )
    header = rows[0]
    at = header.index("Assistant·e")
    assert header[at : at + 2] == ["Assistant·e", "E-mail de l'assistant·e"]
    by_email = {row[header.index("E-mail")]: row for row in rows[1:]}
    assert by_email[OFFICIAL][at : at + 2] == ["Samia Benali", ASSISTANT]
    others = [row for email, row in by_email.items() if email != OFFICIAL]
    assert others and all(row[at : at + 2] == ["", ""] for row in others)
    export = staff_client.get(f"/admin/personnes/{registration.person_id}/export.json").get_json()
    assert export["assistants"] == [
        {"nom": "Samia Benali", "email": ASSISTANT, "fonction": "Assistante de direction"}
    ]


def test_htmx_submission_returns_the_form_alone_with_the_assistants_errors(client, meetings):
    data = assistant_form("seance-ouverte", assistant_email="")
    response = client.post("/inscription", data=data, headers={"HX-Request": "true"})
    page = page_text(response)
    assert response.status_code == 422
    assert page.lstrip().startswith("<title>Erreur : ")  # the fragment, not the whole page
    assert "<html" not in page
    assert 'href="#assistant_email"' in page and 'id="assistant_email-error"' in page
    assert "Saisissez votre propre adresse." in page


def test_inline_check_of_an_assistant_field(client, meetings):
    data = {
        **assistant_form("seance-ouverte", assistant_email=OFFICIAL),
        "champ": "assistant_email",
    }
    response = client.post("/inscription/valider", data=data)
    assert "doit être différente" in page_text(response)
