"""« Commune ou intercommunalité » on the registration form: suggestions for the combobox
(htmx), matching without JavaScript, the choice page for homonyms, the département derived
from the code, and the codes in exports and figures."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re

import pytest

from irev.extensions import db
from irev.models import Person, RegistrationState
from irev.services import figures
from irev.services.people import PersonDetails, update_person
from tests.factories import paris
from tests.registration_support import confirm_path, form_data, season

HX = {"HX-Request": "true"}
AMIENS = "80021"
AMIENS_METROPOLE = "248000531"
LILLE = "59350"
MEL = "200093201"
ADDRESS = "camille.durand@roubaix.example"


@pytest.fixture
def slug(app) -> str:
    return season()["open"].slug


def person() -> Person | None:
    db.session.expire_all()
    return db.session.scalar(db.select(Person).where(Person.email == ADDRESS))


def plain(page: str) -> str:
    """Return page text with the typography's no-break spaces read as spaces."""
    return page.replace("\u00a0", " ").replace("\u202f", " ")


def codes(p: Person) -> tuple[str, str, str]:
    return (p.commune_code, p.epci_siren, p.department_code)


def hidden_fields(page: str) -> list[tuple[str, str]]:
    """Return the (name, value) of the hidden inputs of a page, unescaped."""
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    return [(name, html_lib.unescape(value)) for name, value in found]


def radio_values(page: str, name: str) -> list[str]:
    return re.findall(rf'<input type="radio" id="[^"]+" name="{name}" value="([^"]+)"', page)


# --- suggestions for the combobox -------------------------------------------------------------


def test_suggestions_are_a_fragment_of_options_with_a_count(client, territories):
    response = client.get("/inscription/collectivites?organisation=Ami", headers=HX)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<body" not in body
    options = re.findall(r'<li [^>]*role="option"[^>]*data-code="([^"]+)"', body)
    assert options[0] == AMIENS
    assert 1 < len(options) <= 10
    assert 'id="organisation-option-0"' in body and 'aria-selected="false"' in body
    assert "commune, Somme (80)" in body
    assert re.search(r'<p id="organisation-status" data-hx-swap-oob="innerHTML">', body)
    assert f"{len(options)}\u00a0suggestions" in body or f"{len(options)} suggestions" in body


def test_no_suggestion_says_the_name_is_kept(client, territories):
    body = client.get("/inscription/collectivites?organisation=Zzzz", headers=HX).get_data(
        as_text=True
    )
    assert 'role="option"' not in body
    assert "Aucune suggestion" in body and "gardé tel quel" in body


def test_suggestions_without_htmx_lead_back_to_the_form(client, territories):
    response = client.get("/inscription/collectivites?organisation=Ami")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/inscription")


@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ("", 200),
        ("a", 200),
        ("%", 200),
        ("é" * 5000, 200),
        ("9" * 400, 200),
        ("<script>", 200),
        ("\x00", 400),  # refused before any view (irev.request_guards)
        ("Ami\x00ens", 400),
    ],
)
def test_odd_suggestion_queries_never_fail(client, territories, typed, status):
    response = client.get(
        "/inscription/collectivites", query_string={"organisation": typed}, headers=HX
    )
    assert response.status_code == status
    assert "<script>" not in response.get_data(as_text=True)


def test_suggestions_with_empty_tables_are_empty(client, app):
    response = client.get("/inscription/collectivites?organisation=Amiens", headers=HX)
    assert response.status_code == 200
    assert 'role="option"' not in response.get_data(as_text=True)


def test_form_offers_the_combobox_field_and_its_status_region(client, slug):
    page = client.get("/inscription").get_data(as_text=True)
    control = re.search(r'<input [^>]*id="organisation"[^>]*>', page).group(0)
    assert 'data-hx-get="/inscription/collectivites"' in control
    assert 'data-hx-trigger="input changed delay:250ms"' in control
    assert 'data-hx-target="#organisation-listbox"' in control
    # Without JavaScript it is a plain text field: the script adds the combobox roles.
    assert 'role="combobox"' not in control
    assert '<ul class="combobox__listbox" id="organisation-listbox" role="listbox"' in page
    assert '<p class="visually-hidden" id="organisation-status" role="status"></p>' in page
    assert '<input type="hidden" id="organisation_code" name="organisation_code" value="">' in page
    assert "js/combobox.js" in page
    assert "<legend>Département</legend>" in page


# --- without JavaScript: matched on the server ----------------------------------------------


def test_a_unique_name_stores_its_codes_and_derives_the_departement(client, territories, slug):
    response = client.post(
        "/inscription", data=form_data(slug, organisation="amiens", department="Nord")
    )
    assert response.status_code == 303
    p = person()
    assert p.organisation == "Amiens"  # the official spelling
    assert codes(p) == (AMIENS, AMIENS_METROPOLE, "80")
    assert p.department == "Somme"  # from the code, not the answer given


def test_an_epci_stores_its_siren_and_no_commune(client, territories, slug):
    data = form_data(slug, organisation="Métropole européenne de Lille", department=None)
    assert client.post("/inscription", data=data).status_code == 303
    assert codes(person()) == ("", MEL, "59")
    assert person().department == "Nord"


def test_an_unknown_name_is_kept_without_code(client, territories, slug):
    data = form_data(slug, organisation="Office public de l’habitat", department="Oise")
    assert client.post("/inscription", data=data).status_code == 303
    p = person()
    assert (p.organisation, p.department) == ("Office public de l’habitat", "Oise")
    assert codes(p) == ("", "", "")


def test_without_a_code_the_departement_is_still_asked(client, territories, slug):
    data = form_data(slug, organisation="Office public de l’habitat", department=None)
    response = client.post("/inscription", data=data)
    assert response.status_code == 422
    assert "Choisissez votre département." in response.get_data(as_text=True)
    assert person() is None


def test_homonyms_lead_to_a_choice_page_then_the_chosen_code_is_stored(client, territories, slug):
    data = form_data(slug, organisation="Saint-Martin", department="Autre", phone="03 22 00 00 00")
    data["accessibility_options"] = ["sous_titrage", "lsf"]
    page = client.post("/inscription", data=data)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Précisez votre collectivité" in html
    assert "Plusieurs collectivités s’appellent « Saint-Martin »" in plain(html)
    choices = radio_values(html, "organisation_code")
    assert len(choices) >= 6 and choices[-1] == "texte"
    assert "– commune, Bas-Rhin (67)" in plain(html)
    assert person() is None  # nothing saved before the choice
    carried = hidden_fields(html)
    assert ("accessibility_options", "lsf") in carried and ("phone", "03 22 00 00 00") in carried
    bas_rhin = "67426"
    assert bas_rhin in choices
    answer = [*[(k, v) for k, v in carried if k != "csrf_token"], ("organisation_code", bas_rhin)]
    response = client.post("/inscription", data=_multi(answer))
    assert response.status_code == 303
    p = person()
    assert codes(p)[0] == bas_rhin and p.department_code == "67"
    assert p.department == "Autre" and p.organisation == "Saint-Martin"
    assert p.accessibility_options == "sous_titrage,lsf" and p.phone == "03 22 00 00 00"


def test_choice_page_sent_without_a_choice_asks_again(client, territories, slug):
    data = {**form_data(slug, organisation="Saint-Martin"), "choix": "1"}
    response = client.post("/inscription", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<title>Erreur : Précisez votre collectivité" in plain(html)
    assert "Choisissez votre collectivité dans la liste, ou gardez le nom saisi." in html
    assert person() is None


def test_choice_page_can_keep_the_typed_name(client, territories, slug):
    data = form_data(slug, organisation="Saint-Martin", department="Autre")
    response = client.post("/inscription", data={**data, "organisation_code": "texte"})
    assert response.status_code == 303
    assert codes(person()) == ("", "", "")
    assert person().organisation == "Saint-Martin"


def test_a_close_name_offers_candidates_and_accepts_one(client, territories, slug):
    data = form_data(slug, organisation="Métropole Lille", department="Nord")
    html = client.post("/inscription", data=data).get_data(as_text=True)
    assert "Nous n’avons pas trouvé « Métropole Lille » tel quel" in plain(html)
    assert MEL in radio_values(html, "organisation_code")
    response = client.post("/inscription", data={**data, "organisation_code": MEL})
    assert response.status_code == 303
    assert person().organisation == "Métropole Européenne de Lille"
    assert codes(person()) == ("", MEL, "59")


def test_htmx_submit_with_homonyms_swaps_in_the_choice_form(client, territories, slug):
    data = form_data(slug, organisation="Saint-Martin")
    response = client.post("/inscription", data=data, headers=HX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert not body.lstrip().startswith("<!doctype")
    assert body.lstrip().startswith("<title>Précisez votre collectivité")
    assert '<form id="inscription"' in body and "autofocus" in body


def test_the_choice_is_required_and_its_htmx_swap_stops_the_seat_refresh(client, territories, slug):
    """RGAA 11.10: the choice is marked required; the swapped-in choice shows no seat figure,
    so the form page's 30 s refresh and its pause control (« Les chiffres de cette page se
    mettent à jour… ») go away with the form (out-of-band delete and hidden control)."""
    page = client.get("/inscription").get_data(as_text=True)
    assert 'id="places-inscription"' in page and 'id="actualisation"' in page
    body = client.post(
        "/inscription", data=form_data(slug, organisation="Saint-Martin"), headers=HX
    ).get_data(as_text=True)
    radios = re.findall(r'<input type="radio"[^>]*name="organisation_code"[^>]*>', body)
    assert len(radios) >= 6 and all(" required" in r for r in radios)
    assert "Choisissez une réponse pour continuer" in plain(body)
    assert '<form id="places-inscription" data-hx-swap-oob="delete"></form>' in body
    control = re.search(r'<p id="actualisation"[^>]*>', body).group(0)
    assert " hidden" in control and 'data-hx-swap-oob="outerHTML"' in control
    full = client.post("/inscription", data=form_data(slug, organisation="Saint-Martin")).get_data(
        as_text=True
    )  # without JavaScript: a page of its own, nothing to delete
    assert "data-hx-swap-oob" not in full and all(
        " required" in r
        for r in re.findall(r'<input type="radio"[^>]*name="organisation_code"[^>]*>', full)
    )


# --- with JavaScript: the hidden code, re-checked ---------------------------------------------


def test_a_chosen_code_needs_no_departement(client, territories, slug):
    data = form_data(slug, organisation="Amiens", organisation_code=AMIENS, department=None)
    assert client.post("/inscription", data=data).status_code == 303
    assert codes(person()) == (AMIENS, AMIENS_METROPOLE, "80")


@pytest.mark.parametrize(
    ("organisation", "code", "stored"),
    [
        ("Amiens", LILLE, AMIENS),  # a real code for another name: the name wins
        ("Amiens", "99999", AMIENS),  # no such commune
        ("Amiens", "2" * 9, AMIENS),  # no such EPCI
        ("Amiens", "x" * 5000, AMIENS),
        ("Amiens", "800\x0021", AMIENS),
        ("Office public de l’habitat", AMIENS, ""),  # a code with a name it does not have
    ],
)
def test_a_tampered_code_is_ignored(client, territories, slug, organisation, code, stored):
    data = form_data(slug, organisation=organisation, organisation_code=code, department="Oise")
    assert client.post("/inscription", data=data).status_code == 303
    assert person().commune_code == stored


def test_a_tampered_code_with_homonyms_says_so_on_the_choice_page(client, territories, slug):
    data = form_data(slug, organisation="Saint-Martin", organisation_code=AMIENS)
    html = client.post("/inscription", data=data).get_data(as_text=True)
    assert "La collectivité choisie ne correspond pas au nom saisi" in plain(html)
    assert AMIENS not in radio_values(html, "organisation_code")
    assert person() is None


@pytest.mark.parametrize(
    ("organisation", "message"),
    [
        ("Ami\x00ens", "Le nom de la collectivité doit tenir sur une seule ligne."),
        ("A" * 201, "Le nom de la collectivité doit faire 200 caractères au plus."),
        ("", "Saisissez le nom de votre commune ou de votre intercommunalité."),
    ],
)
def test_bad_organisation_is_refused_in_french(client, territories, slug, organisation, message):
    response = client.post("/inscription", data=form_data(slug, organisation=organisation))
    assert response.status_code == 422
    assert message in plain(response.get_data(as_text=True))
    assert person() is None


def test_empty_tables_keep_the_text_and_never_fail(client, slug):
    data = form_data(slug, organisation="Amiens", organisation_code=AMIENS, department="Somme")
    assert client.post("/inscription", data=data).status_code == 303
    assert (person().organisation, codes(person())) == ("Amiens", ("", "", ""))


def test_codes_of_a_known_person_wait_for_the_link(client, territories, slug):
    assert (
        client.post("/inscription", data=form_data(slug, organisation="Lille")).status_code == 303
    )
    client.post(confirm_path())
    assert codes(person()) == (LILLE, MEL, "59")
    other = season_second_slug()
    data = form_data(other, organisation="Amiens", organisation_code=AMIENS)
    assert client.post("/inscription", data=data).status_code == 303
    assert codes(person()) == (LILLE, MEL, "59")  # an unconfirmed form rewrites nobody


def season_second_slug() -> str:
    from irev.models import Meeting

    return db.session.scalar(db.select(Meeting.slug).where(Meeting.slug == "seance-seconde"))


def test_a_corrected_name_is_matched_again(app, territories, create_person):
    p = create_person(organisation="Amiens", commune_code=AMIENS, epci_siren=AMIENS_METROPOLE)

    def details():  # what staff forms send: the current details, the name typed anew
        return {k: getattr(p, k) for k in PersonDetails.__dataclass_fields__}

    update_person(
        p,
        PersonDetails(
            **{
                **details(),
                "organisation": "Lille",
                "commune_code": "",
                "epci_siren": "",
                "department_code": "",
            }
        ),
    )
    assert codes(p) == (LILLE, MEL, "59")
    update_person(p, PersonDetails(**{**details(), "organisation": "Bailleur du Nord"}))
    assert codes(p) == ("", "", "")
    update_person(p, PersonDetails(**{**details(), "organisation": "Lille"}))
    no_codes = dict.fromkeys(("commune_code", "epci_siren", "department_code"), "")
    update_person(p, PersonDetails(**{**details(), **no_codes}))  # the self-service form
    assert codes(p) == (LILLE, MEL, "59")  # the same name keeps its codes


# --- staff: exports and figures ----------------------------------------------------------------


def test_exports_and_figures_show_departement_epci_and_commune_with_codes(
    staff_client, territories, create_meeting, create_person, create_registration
):
    meeting = create_meeting(starts_at=paris(2030, 3, 1, 17))
    amiens = create_person(
        organisation="Amiens",
        department="Somme",
        commune_code=AMIENS,
        epci_siren=AMIENS_METROPOLE,
        department_code="80",
    )
    mel = create_person(
        organisation="Métropole Européenne de Lille",
        department="Nord",
        epci_siren=MEL,
        department_code="59",
    )
    other = create_person(organisation="Office public de l’habitat", department="Oise")
    for p in (amiens, mel, other):
        create_registration(meeting=meeting, person=p, state=RegistrationState.SEATED)
    db.session.commit()
    response = staff_client.get(f"/admin/seances/{meeting.id}/export.csv")
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    header = table[0]
    by_name = {row[header.index("Collectivité")]: row for row in table[1:]}
    row = by_name["Amiens"]
    assert row[header.index("Code département")] == "80"
    assert row[header.index("Département (code officiel)")] == "Somme"
    assert row[header.index("SIREN EPCI")] == AMIENS_METROPOLE
    assert row[header.index("EPCI")] == "CA Amiens Métropole"
    assert row[header.index("Code INSEE commune")] == AMIENS
    assert row[header.index("Commune")] == "Amiens"
    assert by_name["Métropole Européenne de Lille"][header.index("EPCI")] == (
        "Métropole Européenne de Lille"
    )
    assert by_name["Office public de l’habitat"][header.index("Code INSEE commune")] == ""
    xlsx = staff_client.get(f"/admin/seances/{meeting.id}/export.xlsx")
    assert xlsx.status_code == 200

    result = figures.meeting_figures(meeting)
    labels = {r.label: r.seated for r in result.by_department}
    assert labels == {"Somme (80)": 1, "Nord (59)": 1, "Oise": 1}
    assert {r.label for r in result.by_epci} == {
        f"CA Amiens Métropole ({AMIENS_METROPOLE})",
        f"Métropole Européenne de Lille ({MEL})",
        "Non renseigné",
    }
    assert f"Amiens ({AMIENS})" in {r.label for r in result.by_commune}
    page = staff_client.get(f"/admin/seances/{meeting.id}/chiffres")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Par intercommunalité (EPCI)" in html and f"Amiens ({AMIENS})" in html
    people = staff_client.get(f"/admin/personnes/{amiens.id}").get_data(as_text=True)
    assert f"commune INSEE {AMIENS}" in people and f"EPCI SIREN {AMIENS_METROPOLE}" in people


def _multi(pairs: list[tuple[str, str]]):
    """Return form data with repeated names, as a browser sends them."""
    from werkzeug.datastructures import MultiDict

    return MultiDict(pairs)
