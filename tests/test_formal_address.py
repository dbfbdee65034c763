"""Officials as they register: formal address, agreement, typography, needs, the day's link.

Salutations and agreement are checked on the messages a real SMTP server (aiosmtpd) receives,
after the public form and its e-mailed link, as an official goes through them.
"""

from __future__ import annotations

import re
from datetime import timedelta

import icalendar
import pytest
from freezegun import freeze_time

from irev.extensions import db
from irev.models import OutboundEmail, Person, RegistrationState, utcnow
from irev.notifications import manage_url
from irev.salutations import salutation
from irev.services import exports, sending
from irev.typography import NBSP, NNBSP, french, french_html
from tests import factories
from tests.registration_support import confirm_path, emails, form_data, path_of, season

S = RegistrationState
ADDRESS = "camille.durand@roubaix.example"


@pytest.fixture
def app_config(smtp_server):
    return {**smtp_server.app_config(), "IREV_MAIL_BATCH_SIZE": 50}


@pytest.fixture
def meetings(app):
    return season()


def register_and_confirm(client, *slugs, **overrides) -> None:
    """Send the form, open the e-mailed link and press its button."""
    assert client.post("/inscription", data=form_data(*slugs, **overrides)).status_code == 303
    path = confirm_path(overrides.get("email", ADDRESS))
    assert client.post(path).status_code == 200


def received_to(smtp_server, address: str = ADDRESS) -> list:
    """Send what waits, then return the messages the SMTP server received for address."""
    sending.run_pass()
    return [r.message for r in smtp_server.received if r.rcpt_tos == [address]]


def manage_path(person: Person) -> str:
    """Return the path of a person's self-service link, as e-mailed."""
    return path_of(manage_url(person))


def bodies(message) -> tuple[str, str]:
    """Return the plain-text and HTML parts of a received message."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


# --- salutations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("civilite", "mandate", "expected"),
    [
        ("madame", "maire", "Madame la Maire,"),
        ("monsieur", "maire", "Monsieur le Maire,"),
        ("madame", "adjoint", "Madame l’Adjointe,"),
        ("monsieur", "adjoint", "Monsieur l’Adjoint,"),
        ("madame", "vice_president_epci", "Madame la Vice-présidente,"),
        ("monsieur", "vice_president_epci", "Monsieur le Vice-président,"),
        ("madame", "president_epci", "Madame la Présidente,"),
        ("madame", "conseiller_municipal", "Madame la Conseillère municipale,"),
        ("monsieur", "conseiller_delegue", "Monsieur le Conseiller municipal délégué,"),
        ("madame", "conseiller_communautaire", "Madame la Conseillère communautaire,"),
        ("monsieur", "conseiller_departemental", "Monsieur le Conseiller départemental,"),
        ("madame", "conseiller_regional", "Madame la Conseillère régionale,"),
        ("madame", "autre", "Madame,"),
        ("monsieur", "autre", "Monsieur,"),
        ("", "maire", "Madame, Monsieur,"),
        ("", "autre", "Madame, Monsieur,"),
    ],
)
def test_salutation_from_civilite_and_mandate(civilite, mandate, expected):
    assert salutation(civilite, mandate) == expected


def test_every_mandate_has_its_salutation_or_the_civilite_alone():
    from irev.services.reference import MANDATES

    for value, _label in MANDATES:
        for civilite in ("madame", "monsieur"):
            text = salutation(civilite, value)
            assert text.startswith(civilite.capitalize()) and text.endswith(",")
            assert "(" not in text  # never « Conseiller(ère) »


@pytest.mark.parametrize(
    ("civilite", "mandate", "opening", "waiting_words", "subject_start"),
    [
        ("madame", "maire", "Madame la Maire,", "vous serez prévenue", "Vous êtes déjà inscrite"),
        ("monsieur", "maire", "Monsieur le Maire,", "vous serez prévenu", "Vous êtes déjà inscrit"),
        (
            "madame",
            "vice_president_epci",
            "Madame la Vice-présidente,",
            "vous serez prévenue",
            "Vous êtes déjà inscrite",
        ),
        (
            "",
            "maire",
            "Madame, Monsieur,",
            "un courriel vous en avertira",
            "Votre inscription est déjà enregistrée",
        ),
    ],
)
def test_messages_received_open_formally_and_agree(
    client, smtp_server, meetings, civilite, mandate, opening, waiting_words, subject_start
):
    meetings["second"].capacity = 0  # the second meeting puts her on its waiting list
    db.session.commit()
    register_and_confirm(client, "seance-seconde", civilite=civilite, mandate=mandate)
    client.post("/inscription", data=form_data("seance-seconde", civilite=civilite))

    messages = received_to(smtp_server)

    kinds = [m["Subject"] for m in messages]
    assert len(messages) == 3, kinds  # the link, the waiting list, « already registered »
    for message in messages:
        text, html = bodies(message)
        assert text.splitlines()[0] == opening, text[:60]
        assert f">{opening}</p>" in html
        assert "Bonjour" not in text and "Camille," not in text
    waiting_text, waiting_html = bodies(messages[1])
    assert waiting_words in waiting_text and waiting_words in waiting_html
    assert str(messages[2]["Subject"]).startswith(subject_start)
    if civilite:
        # The wrong agreement never appears.
        other = "inscrit," if civilite == "madame" else "inscrite"
        assert other not in bodies(messages[2])[0]


def test_the_self_service_page_and_results_agree(client, smtp_server, meetings):
    meetings["open"].capacity = 0
    db.session.commit()
    register_and_confirm(client, "seance-ouverte", civilite="madame", mandate="maire")
    page = client.post(confirm_path()).get_data(as_text=True)  # the link again: already done
    person = db.session.scalar(db.select(Person))
    assert person.civilite == "madame"
    manage = client.get(manage_path(person)).get_data(as_text=True)
    assert "Madame la Maire, voici vos inscriptions" in manage
    assert page  # the page answers (already confirmed)


def test_a_civilite_outside_the_list_is_refused_in_french(client, meetings):
    response = client.post("/inscription", data=form_data("seance-ouverte", civilite="docteur"))
    assert response.status_code == 422
    assert "Choisissez" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Person.id))) == 0


def test_the_form_offers_civilite_and_needs_in_fieldsets(client, meetings):
    html = client.get("/inscription").get_data(as_text=True)
    assert re.search(r"<legend>Civilité \(facultatif\)</legend>", html)
    for value in ("madame", "monsieur", ""):
        assert f'name="civilite" value="{value}"' in html
    assert "<legend>Besoins d’accessibilité (facultatif)</legend>" in html
    for value in ("sous_titrage", "lsf", "documents_adaptes", "autre"):
        assert f'name="accessibility_options" value="{value}"' in html


# --- typography -------------------------------------------------------------------------------


def test_french_typography_rules():
    assert french("Lieu : Lille") == f"Lieu{NNBSP}: Lille"
    assert french("Vraiment ? Oui ! Bien ; fin") == f"Vraiment{NNBSP}? Oui{NNBSP}! Bien{NNBSP}; fin"
    assert french("« Habitat »") == f"«{NNBSP}Habitat{NNBSP}»"
    assert french("de 17 h à 19 h 30") == f"de 17{NBSP}h à 19{NBSP}h{NBSP}30"
    assert french("100 places, 3 séances") == f"100{NBSP}places, 3{NBSP}séances"
    assert french("l'IREV") == "l’IREV"
    assert french("2023 à Lille") == "2023 à Lille"  # a year and a preposition may part
    assert french("06 12 34 56 78") == "06 12 34 56 78"


def test_french_typography_leaves_urls_addresses_and_markup_alone():
    url = "https://zoom.us/j/123?pwd=a:b;c!d'e"
    assert french(f"Lien : {url}") == f"Lien{NNBSP}: {url}"
    assert french("Écrivez à o'neil@mairie.fr !") == f"Écrivez à o'neil@mairie.fr{NNBSP}!"
    html = (
        '<p title="Titre : x" data-hx-target="#a">Note : l&#39;IREV &amp; vous</p>'
        "<textarea>Sous-titrage : oui</textarea><code>a ; b</code><pre>x : y</pre>"
    )
    result = french_html(html)
    assert '<p title="Titre : x" data-hx-target="#a">' in result
    assert f"Note{NNBSP}: l’IREV &amp; vous" in result
    assert "<textarea>Sous-titrage : oui</textarea><code>a ; b</code><pre>x : y</pre>" in result
    assert french_html(result) == result  # applying it twice changes nothing


def test_pages_and_emails_are_typeset_in_one_place(client, smtp_server, meetings):
    page = client.get("/inscription").get_data(as_text=True)
    assert "Téléphone (facultatif)" in page
    assert f"Par exemple{NNBSP}: 06 12 34 56 78" in page
    assert " : " not in re.sub(r"<[^>]*>", "", page.split("<main", 1)[1])
    register_and_confirm(client, "seance-ouverte", civilite="monsieur", mandate="maire")
    [link, seated] = received_to(smtp_server)
    text, html = bodies(link)
    assert "Monsieur le Maire," in text
    assert " : " not in text.split("--")[0] and " : " not in re.sub(r"<[^>]*>", "", html)
    # The link to copy may break anywhere; the sentence before it only between words.
    sentence = re.search(r"<p style=\"([^\"]*)\">Si le bouton ne fonctionne pas", html)
    assert sentence and "break-all" not in sentence.group(1)
    assert re.search(r'<span style="word-break:break-all;[^"]*">https?://', html)
    assert f"{NBSP}h" in bodies(seated)[0]


# --- accessibility needs ----------------------------------------------------------------------


def test_needs_are_stored_and_reach_staff(client, smtp_server, meetings):
    register_and_confirm(
        client,
        "seance-moderee",
        accessibility_options=["sous_titrage", "lsf", "inconnu"],
        accessibility_needs="Boucle magnétique",
    )
    person = db.session.scalar(db.select(Person))
    assert person.accessibility_options == "sous_titrage,lsf"  # unknown values dropped
    [staff] = emails("new_request_to_staff")
    text = sending.notifications.render(staff).text
    assert "Sous-titrage, Interprète LSF – Boucle magnétique" in text
    table = exports.rows(exports.registrations_for([meetings["moderated"]]))
    row = dict(zip(exports.HEADERS, table[0], strict=True))
    assert row["Besoins d'accessibilité"] == "Sous-titrage, Interprète LSF"
    assert row["Précisions sur les besoins"] == "Boucle magnétique"


# --- the link on the day ----------------------------------------------------------------------


def test_join_button_appears_when_the_link_is_due(client, app, meetings):
    start = utcnow().replace(microsecond=0) + timedelta(days=3)
    meeting = factories.create_meeting(
        programme=meetings["open"].programme,
        slug="seance-visio",
        title="Séance en visio",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        video_url="https://us02web.zoom.us/j/123456",
        video_meeting_id="123 456",
        video_passcode="secret",
        video_dial_in="+33 1 70 37 22 46",
    )
    seated = factories.create_registration(meeting=meeting, state=S.SEATED)
    waiting = factories.create_registration(meeting=meeting, state=S.WAITING)
    db.session.commit()
    seated_path, waiting_path = manage_path(seated.person), manage_path(waiting.person)

    early = client.get(seated_path).get_data(as_text=True)
    assert "Rejoindre la réunion" not in early and "us02web.zoom.us" not in early
    # Calendar links beside the .ics, without the video link.
    outlook = re.search(r'href="(https://outlook\.office\.com[^"]*)"', early).group(1)
    google = re.search(r'href="(https://calendar\.google\.com[^"]*)"', early).group(1)
    for link in (outlook, google):
        assert "us02web" not in link and "123456" not in link and "secret" not in link
    assert "Rencontre+des+%C3%A9lus" in google and "dates=" in google

    with freeze_time(start - timedelta(minutes=30)):  # every schedule has sent the link by now
        page = client.get(seated_path).get_data(as_text=True)
        assert "Rejoindre la réunion" in page
        assert 'href="https://us02web.zoom.us/j/123456"' in page
        assert 'href="https://zoom.us/test"' in page
        assert "+33 1 70 37 22 46" in page
        other = client.get(waiting_path).get_data(as_text=True)
        assert "Rejoindre la réunion" not in other and "us02web" not in other
    with freeze_time(start + timedelta(hours=3)):  # over
        assert "Rejoindre la réunion" not in client.get(seated_path).get_data(as_text=True)


# --- fewer e-mails ----------------------------------------------------------------------------


def test_a_whole_season_gives_one_request_and_one_summary(client, smtp_server, meetings):
    meetings["second"].capacity = 0
    db.session.commit()
    register_and_confirm(client, whole_season="y", civilite="madame", mandate="adjoint")

    messages = received_to(smtp_server)

    assert len(messages) == 2, [str(m["Subject"]) for m in messages]
    request, summary = messages
    assert "Confirmez votre inscription" in str(request["Subject"])
    text, html = bodies(summary)
    assert text.startswith("Madame l’Adjointe,")
    assert "Votre place est réservée." in text and "liste d’attente, en position 1" in text
    assert "transmise à l’équipe" in text and "vous serez prévenue" in html
    [attachment] = list(summary.iter_attachments())
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    events = [c for c in calendar.walk("VEVENT")]
    assert [str(e["SUMMARY"]) for e in events] == ["Rencontre des élus – Séance ouverte"]
    assert (
        db.session.scalar(
            db.select(db.func.count(OutboundEmail.id)).where(
                OutboundEmail.kind == "summary_to_registrant"
            )
        )
        == 1
    )
