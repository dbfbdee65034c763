"""The registration form, confirmation by link, self-service and the e-mails of the flow."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from irev.extensions import db
from irev.models import Meeting, Person, RegistrationState, utcnow
from irev.notifications import cancel_url, manage_url, render
from irev.services import registrations as service
from irev.typography import french
from tests import factories
from tests.registration_support import (
    confirm_path,
    counts,
    emails,
    form_data,
    fresh,
    path_of,
    registrations,
    season,
)

S = RegistrationState
HX = {"HX-Request": "true"}
ADDRESS = "camille.durand@roubaix.example"


@pytest.fixture
def meetings(app) -> dict[str, Meeting]:
    return season()


def register(client, *slugs, **overrides):
    """Post the form (no JavaScript) and return the response."""
    return client.post("/inscription", data=form_data(*slugs, **overrides))


def register_and_confirm(client, *slugs, **overrides):
    """Post the form, open the e-mailed link and press the button; return the final response."""
    assert register(client, *slugs, **overrides).status_code == 303
    address = overrides.get("email", ADDRESS)
    return client.post(confirm_path(address.lower()))


# --- the form -----------------------------------------------------------------------------


def test_form_has_labelled_fields_with_autocomplete_and_no_asterisk(client, meetings):
    page = client.get("/inscription")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<title>Inscription – Rencontres des élus – IREV</title>" in html
    for field_id, token in [
        ("first_name", "given-name"),
        ("last_name", "family-name"),
        ("email", "email"),
        ("phone", "tel"),
        ("organisation", "organization"),
        ("mandate", "organization-title"),
    ]:
        assert f'<label for="{field_id}">' in html
        control = re.search(rf'<(?:input|select)[^>]*id="{field_id}"[^>]*>', html).group(0)
        assert f'autocomplete="{token}"' in control
    assert "Téléphone (facultatif)" in html
    assert "Besoins d’accessibilité (facultatif)" in html
    main_text = re.sub(r"<[^>]+>", " ", html.split("<main", 1)[1].split("</main>", 1)[0])
    assert "*" not in main_text  # no asterisks: optional fields say "(facultatif)"
    assert re.search(r"<form[^>]*id=\"inscription\"[^>]*novalidate", html)
    assert "<legend>Les séances auxquelles vous vous inscrivez</legend>" in html
    assert "<legend>Département</legend>" in html
    assert 'href="/donnees-personnelles"' in html
    assert "Vos données personnelles" in html  # the short notice under the form
    assert "hx-boost" not in html
    assert "hx-on" not in html


def test_form_lists_meetings_with_dates_and_refuses_unavailable_ones(client, meetings):
    html = client.get("/inscription").get_data(as_text=True)
    open_box = re.search(r'<input[^>]*id="meetings-seance-ouverte"[^>]*>', html).group(0)
    assert "disabled" not in open_box
    assert "places restantes sur 50" in html
    from irev.registration.helpers import when

    assert french(when(meetings["open"])) in html  # "Mercredi 1er mars 2023, de 17 h à 19 h"
    for slug in ("seance-close", "seance-annulee"):
        box = re.search(rf'<input[^>]*id="meetings-{slug}"[^>]*>', html).group(0)
        assert "disabled" in box
    assert "seance-brouillon" not in html  # drafts are never shown
    assert "seance-passee" not in html  # past meetings are not offered


def test_form_ticks_the_meeting_named_in_the_address(client, meetings):
    html = client.get("/inscription?seance=seance-seconde").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="meetings-seance-seconde"[^>]*checked', html)
    assert not re.search(r'<input[^>]*id="meetings-seance-ouverte"[^>]*checked', html)
    closed = client.get("/inscription?seance=seance-close").get_data(as_text=True)
    assert not re.search(r'<input[^>]*id="meetings-seance-close"[^>]*checked', closed)


def test_honeypot_is_hidden_from_everyone(client, meetings):
    html = client.get("/inscription").get_data(as_text=True)
    block = re.search(r'<div class="hp" aria-hidden="true">.*?</div>', html, re.S).group(0)
    assert 'tabindex="-1"' in block
    assert 'autocomplete="off"' in block


def test_a_failed_submit_shows_the_error_summary_and_keeps_the_values(client, meetings):
    response = register(client, "seance-ouverte", first_name="", email="pas-une-adresse")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert french("<title>Erreur : Inscription – Rencontres des élus – IREV</title>") in html
    summary = re.search(r'<div class="error-summary".*?</ul>', html, re.S).group(0)
    assert 'tabindex="-1"' in summary and "autofocus" in summary
    assert "Il y a un problème" in summary
    assert '<a href="#first_name">Saisissez votre prénom.</a>' in summary
    assert '<a href="#email">Saisissez une adresse électronique valide' in summary
    first = re.search(r'<input[^>]*id="first_name"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in first
    assert 'aria-describedby="first_name-error"' in first
    assert re.search(
        r'id="first_name-error"[^>]*><span class="visually-hidden">Erreur\u202f:</span> Saisissez',
        html,
    )
    assert 'value="Durand"' in html  # what was typed stays
    assert 'value="pas-une-adresse"' in html
    assert re.search(r'<input[^>]*id="meetings-seance-ouverte"[^>]*checked', html)
    assert counts()["registrations"] == 0 and counts()["emails"] == 0


def test_htmx_submit_with_errors_returns_the_form_alone_with_a_title(client, meetings):
    response = client.post("/inscription", data=form_data(last_name=""), headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422  # base.html's responseHandling swaps 422
    assert "<html" not in html and "<main" not in html
    assert html.lstrip().startswith(french("<title>Erreur : Inscription"))
    assert '<form id="inscription"' in html
    assert "autofocus" in html
    assert "Choisissez au moins une séance" in html


def test_inline_check_returns_the_message_and_an_announcement(client, meetings):
    data = form_data("seance-ouverte", email="nope")
    response = client.post(
        "/inscription/valider", data=data, headers={**HX, "HX-Trigger-Name": "email"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<p class="error-message" id="email-error" data-error-for="email">' in html
    assert "Saisissez une adresse électronique valide" in html
    assert (
        '<div id="annonces" data-hx-swap-oob="innerHTML">'
        + french("Adresse électronique : Saisissez")
        in html
    )
    assert "<input" not in html  # never the control itself
    fine = client.post(
        "/inscription/valider",
        data=form_data("seance-ouverte"),
        headers={**HX, "HX-Trigger-Name": "email"},
    ).get_data(as_text=True)
    assert 'data-error-for="email"></p>' in fine
    assert '<div id="annonces" data-hx-swap-oob="innerHTML"></div>' in fine
    # The whole-season box reports on the meetings group.
    group = client.post(
        "/inscription/valider",
        data=form_data(),
        headers={**HX, "HX-Trigger-Name": "whole_season"},
    ).get_data(as_text=True)
    assert 'id="meetings-error"' in group and "Choisissez au moins une séance" in group
    assert counts()["people"] == 0


def test_inline_check_ignores_unknown_fields(client, meetings):
    response = client.post(
        "/inscription/valider", data=form_data(), headers={**HX, "HX-Trigger-Name": "website"}
    )
    assert response.status_code == 200
    assert "error-message" not in response.get_data(as_text=True)


def test_seat_poll_announces_only_changes(client, meetings):
    response = client.get("/inscription/places?dernier-seance-ouverte=open:50", headers=HX)
    html = response.get_data(as_text=True)
    assert '<form id="places-inscription"' in html
    assert 'id="inscription-places-seance-ouverte" data-hx-swap-oob="innerHTML"' in html
    assert 'id="annonces"' not in html
    meetings["open"].seats_taken = 49
    db.session.commit()
    html = client.get("/inscription/places?dernier-seance-ouverte=open:50", headers=HX).get_data(
        as_text=True
    )
    assert '<div id="annonces" data-hx-swap-oob="innerHTML">Séance du' in html
    assert french("1 place restante sur 50") in html
    assert client.get("/inscription/places").status_code == 303  # not htmx: the form


# --- the flow -----------------------------------------------------------------------------


def test_submit_records_a_request_and_sends_the_confirmation_link(client, meetings):
    response = register(
        client, "seance-ouverte", "seance-seconde", email="  Camille.Durand@Roubaix.EXAMPLE "
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/inscription/envoyee"
    page = client.get("/inscription/envoyee").get_data(as_text=True)
    assert "Vérifiez votre messagerie" in page
    assert ADDRESS in page
    person = db.session.scalar(db.select(Person))
    assert person.email == ADDRESS  # normalised
    assert (person.first_name, person.mandate, person.department) == ("Camille", "adjoint", "Nord")
    rows = registrations()
    assert [r.state for r in rows] == [S.REQUESTED, S.REQUESTED]
    assert len({r.request_key for r in rows}) == 1
    assert fresh(meetings["open"]).seats_taken == 0  # a request holds no seat
    (mail,) = emails()
    assert mail.kind == "request_to_registrant" and mail.to_address == ADDRESS
    assert "/inscription/confirmer/" in mail.context["confirm_url"]
    assert [line["title"] for line in mail.context["meetings"]] == [
        "Séance ouverte",
        "Séance seconde",
    ]


def test_htmx_submit_redirects_the_whole_page(client, meetings):
    response = client.post("/inscription", data=form_data("seance-ouverte"), headers=HX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/inscription/envoyee"
    assert len(registrations(S.REQUESTED)) == 1


def test_the_answer_is_the_same_for_known_and_unknown_addresses(client, meetings):
    register_and_confirm(client, "seance-ouverte")
    again = register(client, "seance-ouverte")
    stranger = register(client, "seance-ouverte", email="inconnu@ville.example")
    assert again.status_code == stranger.status_code == 303
    assert again.headers["Location"] == stranger.headers["Location"]
    known_page = client.get("/inscription/envoyee").get_data(as_text=True)
    assert "inconnu@ville.example" in known_page  # only the typed address differs
    assert len(emails("already_registered_to_registrant", ADDRESS)) == 1
    assert len(emails("request_to_registrant", ADDRESS)) == 1
    assert len(registrations(S.SEATED)) == 1


def test_a_known_person_is_not_rewritten_by_an_unverified_form(client, meetings):
    register_and_confirm(client, "seance-ouverte")
    register(client, "seance-seconde", first_name="Usurpateur")
    person = db.session.scalar(db.select(Person))
    assert person.first_name == "Camille"
    (mail,) = emails("request_to_registrant", ADDRESS)[-1:]
    assert [line["title"] for line in mail.context["already"]] == []


def test_opening_the_link_changes_nothing_and_the_button_confirms(client, meetings):
    register(client, "seance-ouverte")
    path = confirm_path()
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" in page.headers["Cache-Control"]
    assert "Confirmer mon inscription" in page.get_data(as_text=True)
    assert registrations(S.REQUESTED)  # still unconfirmed after a GET
    done = client.post(path)
    html = done.get_data(as_text=True)
    assert done.status_code == 200
    assert done.headers["HX-Trigger"] == "seats-changed"
    assert "Votre place est réservée." in html
    (registration,) = registrations()
    assert registration.state is S.SEATED and registration.confirmed_at is not None
    assert fresh(meetings["open"]).seats_taken == 1
    assert [m.kind for m in emails(to=ADDRESS)] == ["request_to_registrant", "seated_to_registrant"]


def test_confirmation_sorts_each_meeting_by_its_rules(client, meetings, create_person):
    full = meetings["second"]
    full.capacity = 1
    factories.create_registration(meeting=full, person=create_person())
    db.session.commit()
    html = register_and_confirm(
        client, "seance-ouverte", "seance-seconde", "seance-moderee"
    ).get_data(as_text=True)
    states = {r.meeting.slug: r.state for r in registrations() if r.person.email == ADDRESS}
    assert states == {
        "seance-ouverte": S.SEATED,
        "seance-seconde": S.WAITING,
        "seance-moderee": S.PENDING_APPROVAL,
    }
    assert "vous êtes sur la liste d’attente, en position 1" in html
    assert "Votre demande est transmise à l’équipe de l’IREV." in html
    kinds = sorted(m.kind for m in emails() if m.kind != "request_to_registrant")
    # Three meetings confirmed at once: one summary to the person, not three messages.
    assert kinds == ["new_request_to_staff", "summary_to_registrant"]
    [summary] = emails("summary_to_registrant")
    outcomes = [(line["title"], line["outcome"]) for line in summary.context["lines"]]
    assert outcomes == [
        ("Séance ouverte", "seated"),
        ("Séance seconde", "waiting"),
        ("Séance moderee", "pending"),
    ]
    assert summary.context["lines"][1]["position"] == 1  # the waiting list's position
    (staff,) = emails("new_request_to_staff")
    assert staff.to_address == meetings["moderated"].programme.contact_email


def test_a_reused_link_is_harmless(client, meetings):
    register_and_confirm(client, "seance-ouverte")
    path = confirm_path()
    before = counts()
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 409
        assert "Inscription déjà confirmée" in response.get_data(as_text=True)
    assert counts() == before
    assert fresh(meetings["open"]).seats_taken == 1


def test_whole_season_registers_for_every_open_meeting(client, meetings):
    register_and_confirm(client, whole_season="y")
    slugs = sorted(r.meeting.slug for r in registrations())
    assert slugs == ["seance-moderee", "seance-ouverte", "seance-seconde"]


def test_a_second_request_gets_a_link_of_its_own(client, meetings):
    register(client, "seance-ouverte")
    first_link = confirm_path()
    register(client, "seance-seconde")
    second_link = confirm_path()
    assert len({r.request_key for r in registrations()}) == 2
    client.post(first_link)  # the older link confirms what it asked, nothing more
    states = {r.meeting.slug: r.state for r in registrations()}
    assert states == {"seance-ouverte": S.SEATED, "seance-seconde": S.REQUESTED}
    client.post(second_link)
    assert {r.state for r in registrations()} == {S.SEATED}


def test_someone_elses_unconfirmed_address_changes_nothing_until_it_confirms(client, meetings):
    """Issue 9, part 9: a second form with the same unconfirmed address."""
    register(client, "seance-ouverte")
    owner_link = confirm_path()
    register(client, "seance-seconde", first_name="Usurpateur", organisation="Ailleurs")
    third_party_link = confirm_path()
    person = fresh(db.session.scalar(db.select(Person)))
    assert (person.first_name, person.organisation) != ("Usurpateur", "Ailleurs")
    # The owner's link confirms only the owner's meeting, and the details stay theirs.
    client.post(owner_link)
    person = fresh(person)
    states = {r.meeting.slug: r.state for r in registrations()}
    assert states == {"seance-ouverte": S.SEATED, "seance-seconde": S.REQUESTED}
    assert person.first_name != "Usurpateur"
    # Once the address has confirmed, a later link cannot rewrite a verified person either.
    client.post(third_party_link)
    assert fresh(person).first_name != "Usurpateur"
    assert all(r.submitted_details is None for r in registrations())


def test_details_typed_again_apply_when_their_link_confirms(client, meetings):
    register(client, "seance-ouverte", first_name="Camile")
    register(client, "seance-seconde", first_name="Camille")
    person = db.session.scalar(db.select(Person))
    assert person.first_name == "Camile"  # not before the address proves it
    client.post(confirm_path())  # the latest link: its details come with it
    assert fresh(person).first_name == "Camille"


def test_sending_the_form_again_keeps_the_earlier_link(client, meetings):
    register(client, "seance-ouverte")
    register(client, "seance-ouverte")  # the e-mail was lost: the same request, sent again
    assert len({r.request_key for r in registrations()}) == 1
    # Within the duplicate window the outbox keeps one message for the same request.
    assert len(emails("request_to_registrant")) == 1
    client.post(confirm_path())
    assert {r.state for r in registrations()} == {S.SEATED}


def test_meetings_closed_after_the_request_are_reported(client, meetings):
    register(client, "seance-ouverte", "seance-seconde")
    meetings["second"].registration_closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    html = client.post(confirm_path()).get_data(as_text=True)
    assert "Les inscriptions à cette séance sont closes." in html
    assert [r.meeting.slug for r in registrations()] == ["seance-ouverte"]


def test_expired_requests_are_purged(app, client, meetings, runner):
    register(client, "seance-ouverte")
    register(client, "seance-ouverte", email="autre@ville.example")
    other = registrations()[1]
    other.requested_at = utcnow() - timedelta(days=8)
    db.session.commit()
    result = runner.invoke(args=["registrations", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 demande" in result.output
    assert [p.email for p in db.session.scalars(db.select(Person))] == [ADDRESS]
    assert len(registrations()) == 1


def test_an_expired_link_says_so_and_offers_to_start_again(app, client, meetings):
    register(client, "seance-ouverte")
    path = confirm_path()
    with app.test_request_context():
        app.config["IREV_LINK_MAX_AGE_DAYS"] = -1  # every link is now too old
        response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "Lien expiré" in html and 'href="/inscription"' in html
    assert registrations(S.REQUESTED)


# --- self-service -------------------------------------------------------------------------


def manage_path(person: Person) -> str:
    return path_of(manage_url(person))


def test_manage_page_lists_registrations_and_offers_the_rest(client, meetings):
    register_and_confirm(client, "seance-ouverte")
    person = db.session.scalar(db.select(Person))
    response = client.get(manage_path(person))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Séance ouverte" in html and "Inscription confirmée, votre place est réservée" in html
    assert "Annuler mon inscription" in html
    assert 'id="ajout-seance-seconde"' in html and 'id="ajout-seance-ouverte"' not in html
    assert "camille.durand@roubaix.example" in html


def test_manage_link_dies_with_its_version(client, meetings):
    register_and_confirm(client, "seance-ouverte")
    person = db.session.scalar(db.select(Person))
    path = manage_path(person)
    person.link_version += 1
    db.session.commit()
    response = client.get(path)
    assert response.status_code == 404
    assert "Lien plus valable" in response.get_data(as_text=True)


def test_cancelling_a_seat_gives_it_to_the_first_waiting(client, meetings, create_person):
    meeting = meetings["open"]
    meeting.capacity = 1
    db.session.commit()
    register_and_confirm(client, "seance-ouverte")
    first = factories.create_registration(meeting=meeting, person=create_person(), state=S.WAITING)
    second = factories.create_registration(meeting=meeting, person=create_person(), state=S.WAITING)
    first.state_changed_at = utcnow() - timedelta(hours=2)
    second.state_changed_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    person = db.session.scalar(db.select(Person).where(Person.email == ADDRESS))
    mine = registrations(S.SEATED)[0]
    ask = client.get(f"{manage_path(person)}/annuler/{mine.id}")
    assert ask.status_code == 200 and "Oui, annuler mon inscription" in ask.get_data(as_text=True)
    assert fresh(mine).state is S.SEATED  # the GET only asks
    done = client.post(f"{manage_path(person)}/annuler/{mine.id}")
    assert done.status_code == 303 and done.headers["HX-Trigger"] == "seats-changed"
    assert fresh(mine).state is S.CANCELLED_BY_PERSON
    assert fresh(first).state is S.SEATED and fresh(second).state is S.WAITING
    assert fresh(meeting).seats_taken == 1
    (promoted,) = emails("promoted_to_registrant")
    assert promoted.registration_id == first.id
    assert emails("cancelled_to_registrant", ADDRESS)
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Votre inscription à la séance du" in page and "est annulée" in page


def test_leaving_a_waiting_list_and_cancelling_everything(client, meetings, create_person):
    meetings["second"].capacity = 0
    db.session.commit()
    register_and_confirm(client, "seance-ouverte", "seance-seconde")
    person = db.session.scalar(db.select(Person).where(Person.email == ADDRESS))
    base = manage_path(person)
    waiting = registrations(S.WAITING)[0]
    assert "Quitter la liste d’attente" in client.get(base).get_data(as_text=True)
    client.post(f"{base}/annuler/{waiting.id}")
    assert fresh(waiting).state is S.CANCELLED_BY_PERSON
    assert "Annuler toutes vos inscriptions" in client.get(f"{base}/tout-annuler").get_data(
        as_text=True
    )
    client.post(f"{base}/tout-annuler")
    assert {r.state for r in registrations()} == {S.CANCELLED_BY_PERSON}
    assert fresh(meetings["open"]).seats_taken == 0


def test_adding_meetings_from_the_manage_page(client, meetings):
    register_and_confirm(client, "seance-ouverte")
    person = db.session.scalar(db.select(Person))
    response = client.post(f"{manage_path(person)}/ajouter", data={"meetings": ["seance-seconde"]})
    assert response.status_code == 200
    assert "Votre place est réservée." in response.get_data(as_text=True)
    assert {r.meeting.slug for r in registrations(S.SEATED)} == {"seance-ouverte", "seance-seconde"}
    refused = client.post(f"{manage_path(person)}/ajouter", data={"meetings": ["seance-close"]})
    assert refused.status_code == 422
    assert "Une des séances choisies n’existe pas" in refused.get_data(as_text=True)


def test_correcting_details_from_the_manage_page(client, meetings):
    register_and_confirm(client, "seance-ouverte")
    person = db.session.scalar(db.select(Person))
    path = f"{manage_path(person)}/coordonnees"
    form = client.get(path).get_data(as_text=True)
    assert 'value="Camille"' in form
    bad = client.post(path, data={**form_data(), "first_name": "x" * 101})
    assert bad.status_code == 422
    assert french("100 caractères au plus") in bad.get_data(as_text=True)
    done = client.post(path, data={**form_data(), "organisation": "Métropole européenne de Lille"})
    assert done.status_code == 303
    assert fresh(person).organisation == "Métropole européenne de Lille"
    assert fresh(person).email == ADDRESS


def test_cancel_link_from_the_video_email(client, meetings):
    register_and_confirm(client, "seance-ouverte")
    (registration,) = registrations()
    path = path_of(cancel_url(registration))
    page = client.get(path)
    assert page.status_code == 200
    assert french("Libérer votre place ?") in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert fresh(registration).state is S.SEATED
    done = client.post(path)
    assert done.status_code == 200 and "Votre inscription est annulée" in done.get_data(
        as_text=True
    )
    assert fresh(registration).state is S.CANCELLED_BY_PERSON
    again = client.post(path)
    assert again.status_code == 409 and "déjà annulée" in again.get_data(as_text=True)


# --- the e-mails read well ----------------------------------------------------------------


def test_every_email_of_the_flow_renders_in_french(client, meetings, create_person):
    meetings["second"].capacity = 0
    db.session.commit()
    # One meeting per request: each confirmation sends its own message (several at once send
    # one summary, see tests/test_formal_address.py).
    register_and_confirm(client, "seance-ouverte", accessibility_needs="Sous-titrage <b>svp</b>")
    register_and_confirm(client, "seance-seconde")
    register_and_confirm(client, "seance-moderee")
    register(client, "seance-ouverte")  # already registered
    person = db.session.scalar(db.select(Person))
    seated = registrations(S.SEATED)[0]
    waiting = factories.create_registration(
        meeting=meetings["open"], person=create_person(), state=S.WAITING
    )
    meetings["open"].capacity = 1
    service.cancel_registration(seated, person, by_organiser=False)
    db.session.commit()
    rendered = {mail.kind: render(mail) for mail in emails()}
    assert set(rendered) == {
        "request_to_registrant",
        "seated_to_registrant",
        "waiting_to_registrant",
        "pending_to_registrant",
        "new_request_to_staff",
        "already_registered_to_registrant",
        "cancelled_to_registrant",
        "promoted_to_registrant",
    }
    assert fresh(waiting).state is S.SEATED
    request = rendered["request_to_registrant"]
    assert request.subject.startswith(french("Confirmez votre inscription : « Séance moderee »"))
    assert request.text.startswith("Madame, Monsieur,\n")  # no civilité given
    assert "/inscription/confirmer/" in request.text and "Confirmer mon inscription" in request.html
    assert rendered["seated_to_registrant"].subject.startswith(
        french("Inscription confirmée : « Séance ouverte »")
    )
    assert rendered["seated_to_registrant"].attachments[0][0] == "seance-ouverte.ics"
    assert "en position 1" in rendered["waiting_to_registrant"].text
    staff = rendered["new_request_to_staff"]
    assert "Camille Durand" in staff.subject
    assert french("mandat : Adjoint(e) au maire") in staff.text
    assert "Sous-titrage &lt;b&gt;svp&lt;/b&gt;" in staff.html  # escaped in HTML
    assert "Sous-titrage <b>svp</b>" in staff.text  # plain text is plain
    assert "Votre inscription est déjà enregistrée" in (
        rendered["already_registered_to_registrant"].text
    )
    assert "une place s’est libérée" in rendered["promoted_to_registrant"].text.lower()
    for mail in rendered.values():
        assert "{{" not in mail.text and "{%" not in mail.html
        assert "None" not in mail.text
