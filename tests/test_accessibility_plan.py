"""The multi-year accessibility plan and this year's action plan, edited by staff as text:
administration only, refused input saves nothing, every save audited, the public page and
the statement show what was saved."""

from __future__ import annotations

import datetime as dt

import pytest

from irev.extensions import db
from irev.models import AccessibilityPlan, AuditEvent, StaffRole
from irev.services import accessibility_plan
from tests import test_public
from tests.admin_helpers import create_staff, csrf_token, sign_in
from tests.test_public import get

programme = test_public.programme
URL = "/admin/accessibilite"


def valid(**changes) -> dict[str, str]:
    """Form data of a sound plan, with some fields changed."""
    data = {
        "first_year": "2027",
        "last_year": "2029",
        "schema_text": (
            "L’IREV s’engage à :\n\n- tester chaque page ;\n- former l’équipe.\n\n"
            "Sans budget dédié."
        ),
        "actions_year": "2027",
        "actions_text": "- Tester avec NVDA et Firefox.\n- Choisir l’auditeur indépendant.",
        "adopted_on": "2026-12-01",
    }
    data.update(changes)
    return data


def post(client, data: dict[str, str]):
    """Post the plan form with the page's CSRF token."""
    token = csrf_token(client.get(URL).get_data(as_text=True))
    return client.post(URL, data={**data, "csrf_token": token})


def signed_in(client, role: StaffRole):
    """Sign a staff account of this role in."""
    create_staff("role@irev.fr", role=role)
    assert sign_in(client, "role@irev.fr").status_code == 303
    return client


def test_without_a_saved_plan_the_shipped_default_shows(client, programme):
    default = accessibility_plan.default_plan()
    assert 1 <= len(default.years) <= 3
    _, page = get(client, "/accessibilite/schema-pluriannuel")
    assert page.find("h1").text.endswith(f"{default.first_year}-{default.last_year}")
    items = [li.text for li in page.by_id("plan-actions").parent.find_all("li")]
    assert items  # the default actions are listed


def test_an_administrator_saves_the_plan_the_public_pages_show_it(client, programme):
    signed_in(client, StaffRole.ADMIN)
    response = post(client, valid())
    assert response.status_code == 303 and response.location.endswith(URL)
    row = db.session.get(AccessibilityPlan, 1)
    assert (row.first_year, row.last_year, row.actions_year) == (2027, 2029, 2027)
    assert row.adopted_on == dt.date(2026, 12, 1)
    _, page = get(client, "/accessibilite/schema-pluriannuel")
    assert page.find("h1").text == "Schéma pluriannuel de mise en accessibilité 2027-2029"
    texts = [li.text for li in page.find("main").find_all("li")]
    assert "tester chaque page ;" in texts
    assert "Choisir l’auditeur indépendant." in texts
    paragraphs = [p.text for p in page.find("main").find_all("p")]
    assert "L’IREV s’engage à :" in paragraphs
    _, statement = get(client, "/accessibilite")
    assert "plan d'actions 2027" in statement.text.replace("’", "'")
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="accessibility_plan.update"))
    assert event.actor_label == "role@irev.fr"
    # Only what changed is logged: the years are those of the default, the texts are new.
    assert set(event.after) == {"schema_text", "actions_text"}
    # The same values again change nothing and write no second audit row.
    assert post(client, valid()).status_code == 303
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)) == 1
    _, log = get(client, "/admin/journal")
    assert "Schéma pluriannuel ou plan d’actions d’accessibilité modifié" in log.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"last_year": "2030"}, "trois ans au plus"),
        ({"last_year": "2026"}, "La dernière année doit suivre la première"),
        ({"actions_year": "2031"}, "L’année du plan d’actions doit être comprise entre"),
        ({"first_year": "deux mille"}, "Saisissez un nombre entier"),
        ({"first_year": "99999999999999999999999"}, "Saisissez une année entre 2000 et 2100"),
        ({"first_year": ""}, "Saisissez la première année"),
        ({"schema_text": "   "}, "Saisissez le texte du schéma"),
        ({"actions_text": "x" * 20_001}, "Saisissez au plus 20000 caractères"),
        ({"actions_text": "- une action\x07"}, "contient un caractère non autorisé"),
        ({"adopted_on": "31/02/2026"}, "Saisissez une date valide"),
        ({"adopted_on": "0001-01-01"}, "Saisissez une date entre"),
    ],
)
def test_bad_input_is_refused_in_french_and_saves_nothing(client, programme, changes, message):
    signed_in(client, StaffRole.ADMIN)
    response = post(client, valid(**changes))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Il y a un problème" in html and message in html
    assert "<title>Erreur : " in html
    assert db.session.get(AccessibilityPlan, 1) is None
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)) == 0


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_a_post_without_csrf_token_saves_nothing(client, programme, app_config):
    signed_in(client, StaffRole.ADMIN)
    response = client.post(URL, data=valid())
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.get_data(as_text=True)
    assert db.session.get(AccessibilityPlan, 1) is None


def test_a_nul_byte_is_refused_before_the_form(client, programme):
    signed_in(client, StaffRole.ADMIN)
    assert post(client, valid(actions_text="- une action\x00")).status_code == 400
    assert db.session.get(AccessibilityPlan, 1) is None


def test_moderation_gets_403_and_no_menu_entry(client, programme):
    signed_in(client, StaffRole.MODERATION)
    assert client.get(URL).status_code == 403
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    assert client.post(URL, data={**valid(), "csrf_token": token}).status_code == 403
    assert db.session.get(AccessibilityPlan, 1) is None
    _, dashboard = get(client, "/admin/")
    assert URL not in {a.attrs.get("href") for a in dashboard.find("nav").find_all("a")}


def test_a_visitor_is_sent_to_sign_in(client, programme):
    response = client.get(URL)
    assert response.status_code == 303 and "/admin/connexion" in response.location
    assert client.post(URL, data=valid()).status_code in (303, 400)
    assert db.session.get(AccessibilityPlan, 1) is None


def test_the_administrator_menu_and_the_site_map_lead_to_the_plan_page(client, programme):
    signed_in(client, StaffRole.ADMIN)
    _, dashboard = get(client, "/admin/")
    assert URL in {a.attrs.get("href") for a in dashboard.find("nav").find_all("a")}
    _, site_map = get(client, "/plan-du-site")
    assert URL in {a.attrs.get("href") for a in site_map.find("main").find_all("a")}


def test_the_database_refuses_a_plan_of_more_than_three_years(app):
    db.session.add(
        AccessibilityPlan(
            id=1,
            first_year=2027,
            last_year=2030,
            schema_text="x",
            actions_year=2027,
            actions_text="x",
            adopted_on=dt.date(2026, 12, 1),
        )
    )
    with pytest.raises(Exception, match=r"(?i)check|constraint"):
        db.session.flush()
    db.session.rollback()


def test_text_becomes_paragraphs_and_lists():
    blocks = accessibility_plan.blocks("Intro\nsuite.\n\n- un\n- deux\n  sur deux lignes\nFin.")
    assert [(b.text, b.items) for b in blocks] == [
        ("Intro suite.", ()),
        ("", ("un", "deux sur deux lignes")),
        ("Fin.", ()),
    ]
