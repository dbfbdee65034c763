"""The legal notice's publisher address and host come from settings: shown when set, left out
(never made up) when not, and listed « à compléter » on the staff dashboard until then."""

from __future__ import annotations

from irev.config import Defaults
from irev.extensions import db
from irev.services.legal import LEGAL_SETTINGS
from tests.test_public import parse

HOST = {
    "IREV_PUBLISHER_ADDRESS": "1 rue de l'Exemple, 59000 Lille",
    "IREV_HOST_NAME": "Hébergeur <Exemple> SAS",
    "IREV_HOST_ADDRESS": "2 avenue du Serveur, 75000 Paris, France",
    "IREV_HOST_PHONE": "01 23 45 67 89",
}


def _text(response) -> str:
    """Return a page's text, French typography undone (’ and no-break spaces) for comparison."""
    text = parse(response.data).text.replace("’", "'")
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def test_the_defaults_are_empty_in_config_only():
    assert {name for name, _ in LEGAL_SETTINGS} == set(HOST)
    assert all(getattr(Defaults, name) == "" for name in HOST)


def test_unset_details_are_left_out_of_the_public_page(client, create_programme):
    create_programme()
    db.session.commit()
    response = client.get("/mentions-legales")
    assert response.status_code == 200
    text = _text(response)
    assert "Adresse postale" not in text and "hébergé par" not in text
    assert "à compléter" not in text
    assert "Les coordonnées de l'hébergeur ne sont pas encore publiées" in text


def test_set_details_are_shown_and_escaped(app, client, create_programme):
    app.config.update(HOST)
    create_programme()
    db.session.commit()
    response = client.get("/mentions-legales")
    html = response.get_data(as_text=True)
    text = _text(response)
    assert "Adresse postale : 1 rue de l'Exemple, 59000 Lille" in text
    assert "Le site est hébergé par :" in text
    assert "Hébergeur <Exemple> SAS" in text and "<Exemple>" not in html  # escaped
    assert "Adresse : 2 avenue du Serveur, 75000 Paris, France" in text
    assert "Téléphone : 01 23 45 67 89" in text
    assert "pas encore publiées" not in text


def test_the_dashboard_lists_what_is_still_to_be_set(app, staff_client):
    page = parse(staff_client.get("/admin/").data)
    section = page.find("section", **{"aria-labelledby": "mentions-a-completer"})
    items = [" ".join(li.text.split()) for li in section.find_all("li")]
    assert items == [
        "Adresse postale de l'éditeur : à compléter (réglage FLASK_IREV_PUBLISHER_ADDRESS)",
        "Nom de l'hébergeur : à compléter (réglage FLASK_IREV_HOST_NAME)",
        "Adresse de l'hébergeur : à compléter (réglage FLASK_IREV_HOST_ADDRESS)",
        "Téléphone de l'hébergeur : à compléter (réglage FLASK_IREV_HOST_PHONE)",
    ]

    app.config["IREV_HOST_NAME"] = "Hébergeur SAS"
    app.config["IREV_PUBLISHER_ADDRESS"] = "   "  # blank is not set
    page = staff_client.get("/admin/").get_data(as_text=True)
    assert "FLASK_IREV_HOST_NAME" not in page and "FLASK_IREV_PUBLISHER_ADDRESS" in page

    app.config.update(HOST)
    page = staff_client.get("/admin/").get_data(as_text=True)
    assert "mentions-a-completer" not in page and "à compléter" not in page
