"""The RGAA 4.1 audit grid: complete and sound, rates computed as the RGAA method says, and the
statement and every page's footer showing exactly the mention the grid earns."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from irev.services import accessibility_audit as audit
from irev.services import accessibility_checks as checks
from tests import test_public
from tests.test_public import get, link_texts


def programme_day(days: int):
    """A UTC start time some days from now."""
    return test_public.utcnow().replace(microsecond=0) + test_public.timedelta(days=days)


#: The demo-like programme fixture of the public pages' tests.
programme = test_public.programme

C, NC, NA, NE = audit.CONFORME, audit.NON_CONFORME, audit.NON_APPLICABLE, audit.NON_EVALUE


def test_the_106_criteria_of_rgaa_4_1_by_theme():
    numbers = [c.number for c in audit.criteria()]
    assert len(numbers) == len(set(numbers)) == 106
    per_theme = Counter(int(n.split(".")[0]) for n in numbers)
    assert per_theme == {
        1: 9,
        2: 2,
        3: 3,
        4: 13,
        5: 8,
        6: 2,
        7: 5,
        8: 10,
        9: 4,
        10: 14,
        11: 13,
        12: 11,
        13: 12,
    }
    assert all(c.title.strip() and c.theme for c in audit.criteria())


def test_the_grid_has_one_judged_row_per_criterion_and_page():
    rows = audit.read_grid()
    assert len(rows) == 106 * len(audit.sample())
    assert audit.grid_problems(rows) == []


def test_the_sample_covers_what_the_method_asks():
    ids = {p.id for p in audit.sample()}
    assert {"accueil", "seance", "inscription-vide", "inscription-erreurs"} <= ids
    assert {"inscription-erreurs-en-ligne", "inscription-envoyee", "confirmation", "gerer"} <= ids
    assert {"mentions-legales", "donnees-personnelles", "accessibilite", "calendrier"} <= ids
    assert {"equipe-connexion", "equipe-tableau-de-bord"} <= ids
    assert any(p.kind == "courriel" for p in audit.sample())


def test_no_row_claims_a_result_without_saying_how_it_was_reached():
    for row in audit.read_grid():
        if row.statut == NE:
            continue
        assert row.methode in (audit.AUTOMATIC, audit.MANUAL), row
        assert row.outil if row.methode == audit.AUTOMATIC else row.date, row


def rows_for(statuses: dict[str, list[str]]) -> list[audit.Row]:
    """Rows for the first pages of the sample: {criterion: [status on page 1, page 2...]}."""
    pages = [p.id for p in audit.sample()]
    rows = []
    for number in (c.number for c in audit.criteria()):
        for page, status in zip(pages, statuses.get(number, [NA, NA]), strict=False):
            rows.append(audit.Row(page, number, status, audit.MANUAL, "", "2026-12-01", "x"))
    return rows


def test_rates_follow_the_rgaa_method():
    found = audit.results(
        rows_for({"1.1": [C, NC], "1.2": [C, NA], "1.3": [NA, C], "1.4": [C, NE], "1.5": [C, C]})
    )
    # Sample level: 1.1 fails somewhere, 1.4 was not evaluated somewhere: 3 met out of 5.
    assert found.by_criterion["1.1"] == NC and found.by_criterion["1.4"] == NE
    assert found.by_criterion["2.1"] == NA
    assert found.global_rate == pytest.approx(60.0)
    # Page 1: 4 met of 4; page 2: 2 met of 4 (NC and NE count against); mean 75 %.
    assert [p.rate for p in found.pages[:2]] == [100.0, 50.0]
    assert found.pages[2].rate is None  # nothing applies: left out of the mean
    assert found.mean_rate == pytest.approx(75.0)
    assert found.mention == "partiellement conforme"


@pytest.mark.parametrize(
    ("statuses", "mention"),
    [
        ({"1.1": [C, C], "1.2": [C, NA]}, "totalement conforme"),
        ({"1.1": [C, C], "1.2": [C, NE]}, "partiellement conforme"),  # 50 %: not totalement
        ({"1.1": [C, NC], "1.2": [NC, NA], "1.3": [C, NA]}, "non conforme"),
        ({}, "non conforme"),  # nothing applicable, nothing shown: no audit
    ],
)
def test_the_mention_follows_the_rate(statuses, mention):
    assert audit.results(rows_for(statuses)).mention == mention


def test_refreshing_keeps_manual_rows_and_replaces_automatic_ones():
    manual = audit.Row("accueil", "1.1", C, audit.MANUAL, "", "2026-12-01", "vu")
    automatic = audit.Row("accueil", "1.2", NE)
    measured = {
        ("accueil", "1.1"): audit.Row("accueil", "1.1", NA, audit.AUTOMATIC, "axe-core", "", "y"),
        ("accueil", "1.2"): audit.Row("accueil", "1.2", NA, audit.AUTOMATIC, "DOM", "", "z"),
    }
    assert audit.merge_automatic([manual, automatic], measured) == [
        manual,
        measured[("accueil", "1.2")],
    ]


def test_an_automatic_row_the_tools_no_longer_decide_goes_back_to_non_evalue():
    old = audit.Row("accueil", "11.1", NA, audit.AUTOMATIC, "DOM", "2026-12-01", "aucun champ")
    assert audit.merge_automatic([old], {}) == [audit.Row("accueil", "11.1")]


def test_a_failure_measured_now_overrides_a_judgement_made_by_hand():
    manual = audit.Row("accueil", "3.2", C, audit.MANUAL, "", "2026-12-01", "relu")
    failed = audit.Row("accueil", "3.2", NC, audit.AUTOMATIC, "axe-core", "", "contraste")
    passed = audit.Row("accueil", "3.2", C, audit.AUTOMATIC, "axe-core", "", "ok")
    assert audit.merge_automatic([manual], {("accueil", "3.2"): failed}) == [failed]
    assert audit.merge_automatic([manual], {("accueil", "3.2"): passed}) == [manual]


def facts_with(**changes):
    """Facts of a plain page with nothing in it, as the browser test collects them."""
    counts = dict.fromkeys(
        [
            "img",
            "svg",
            "canvas",
            "role_img",
            "input_image",
            "area",
            "object",
            "embed",
            "iframe",
            "frame",
            "video",
            "audio",
            "table",
            "layout_table",
            "q",
            "blockquote",
            "dir",
            "lang_in_body",
            "form_controls",
            "select",
            "office_links",
            "animations",
        ],
        0,
    )
    facts = {
        "kind": "page",
        "counts": counts,
        "axe": {"violations": [], "incomplete": [], "passes": []},
        "doctype": "html",
        "lang": "fr",
        "french_ratio": 0.3,
        "title": "Une page",
        "landmarks": dict.fromkeys(("banner", "navigation", "main", "contentinfo"), 1),
        "skip_link": {"works": True, "detail": ""},
        "presentational": [],
        "generated_text": [],
        "zoom_200": [],
        "reflow_320": [],
        "text_spacing": [],
        "orientation": [],
        "tab": {"stops": 0, "invisible_focus": [], "trapped": ""},
        "popups": 0,
        "autocomplete": [],
        "personal_fields": [],
        "headings": ["H1 Titre", "H2 Partie"],
        "english_words": ["zoom"],
        "moving": [],
        "landmark_order": ["header", "main", "footer"],
        "positive_tabindex": [],
        "unexplained_errors": [],
        "scripted": True,
        "status_region": True,
    }
    facts.update(changes)
    return facts


@pytest.mark.parametrize(
    ("changes", "criterion"),
    [
        ({"axe": {"violations": ["list"], "incomplete": [], "passes": []}}, "9.3"),
        ({"axe": {"violations": ["aria-valid-attr-value"], "incomplete": [], "passes": []}}, "7.1"),
        ({"axe": {"violations": ["duplicate-id"], "incomplete": [], "passes": []}}, "8.2"),
        ({"headings": ["H1 Titre", "H3 Saut"]}, "9.1"),
        ({"headings": ["H2 Il y a un problème", "H1 Titre"]}, "9.1"),
        ({"english_words": ["click", "here"]}, "8.7"),
        ({"moving": ["marquee"]}, "13.8"),
        ({"positive_tabindex": ["input"]}, "12.8"),
        ({"unexplained_errors": ["#email"]}, "11.10"),
        ({"scripted": True, "status_region": False}, "7.5"),
        ({"landmark_order": ["main", "header", "footer"]}, "9.2"),
        ({"landmark_order": ["header", "main", "main", "footer"]}, "9.2"),
    ],
)
def test_what_a_tool_sees_failing_makes_the_criterion_non_conforme(changes, criterion):
    rows = checks.automatic_rows("accueil", facts_with(**changes))
    assert rows[("accueil", criterion)].statut == NC
    quiet = checks.automatic_rows("accueil", facts_with())
    assert quiet.get(("accueil", criterion), audit.Row("accueil", criterion, C)).statut != NC


def test_the_statement_lists_the_criteria_judged_by_hand_on_pages_and_e_mails():
    rows = [
        audit.Row("accueil", "7.1", C, audit.MANUAL, "arbre", "2026-12-01", "relu"),
        audit.Row("accueil", "8.1", C, audit.AUTOMATIC, "DOM", "2026-12-01", "doctype"),
        audit.Row("calendrier", "9.1", NA, audit.MANUAL, "lecture", "2026-12-01", "fichier"),
        audit.Row("courriel-place", "8.7", C, audit.MANUAL, "relu", "2026-12-01", "fr"),
    ]
    assert audit.manual_criteria(rows) == ["7.1", "8.7"]


def test_a_page_whose_structure_changed_loses_its_manual_judgements(tmp_path: Path):
    form = {"controls": ["input:text:first_name:given-name"], "headings": ["H1", "H2"]}
    again = {"headings": ["H2", "H1", "H1"], "controls": ["input:text:first_name:given-name"]}
    grown = {**form, "controls": [*form["controls"], "input:text:commune:"]}
    assert audit.fingerprint(form) == audit.fingerprint(again)  # order and counts do not count
    assert audit.fingerprint(form) != audit.fingerprint(grown)
    path = tmp_path / "fingerprints.json"
    audit.write_fingerprints({"inscription-vide": audit.fingerprint(form), "accueil": "x"}, path)
    recorded = audit.read_fingerprints(path)
    measured = {"inscription-vide": audit.fingerprint(grown), "accueil": "x", "plan-du-site": "y"}
    assert audit.changed_pages(recorded, measured) == ["inscription-vide"]  # new page: baseline
    rows = [
        audit.Row("inscription-vide", "11.5", C, audit.MANUAL, "relu", "2026-12-01", "fieldset"),
        audit.Row("inscription-vide", "8.1", C, audit.AUTOMATIC, "DOM", "2026-12-01", "doctype"),
        audit.Row("accueil", "11.5", NA, audit.MANUAL, "relu", "2026-12-01", "aucun champ"),
    ]
    marked = audit.mark_changed_pages(rows, ["inscription-vide"])
    assert marked[0].statut == NE and "à revoir" in marked[0].justification
    assert marked[1:] == rows[1:]  # tools' rows and other pages unchanged


def test_menus_and_footers_are_compared_between_the_pages_of_a_set():
    public = ("Programme", "S’inscrire")
    staff_menu = ("Tableau de bord", "Séances", "Accessibilité")
    footer = ("Cycles précédents", "Mentions légales", "Plan du site")

    def page(nav, foot=footer):
        return facts_with(nav_links=list(nav), footer_links=list(foot))

    facts = {
        "accueil": page(public),
        "seance": page(public),
        "mentions-legales": page(public, ("Mentions légales", "Cycles précédents")),
        "plan-du-site": page(("S’inscrire", "Programme")),
        "equipe-connexion": page(("Connexion de l'équipe",)),
        "equipe-seances": page(staff_menu),
        "equipe-inscriptions": page(staff_menu),
        "courriel-place": {**page(()), "kind": "courriel"},
    }
    rows = checks.consistency_rows(facts)
    status = {key: row.statut for key, row in rows.items()}
    assert status[("accueil", "12.2")] == status[("equipe-seances", "12.2")] == C
    assert status[("equipe-connexion", "12.2")] == C  # its own menu, the shared footer
    assert status[("mentions-legales", "12.2")] == NC  # footer in another order
    assert status[("mentions-legales", "12.4")] == NC  # no site-map link at its end
    assert status[("plan-du-site", "12.2")] == NC  # menu in another order
    assert status[("accueil", "12.4")] == C
    assert ("courriel-place", "12.2") not in rows  # an e-mail has no navigation


def test_an_axe_rule_no_criterion_maps_is_reported():
    future = {"violations": ["a-rule-from-the-future"], "incomplete": [], "passes": []}
    facts = facts_with(axe=future)
    assert checks.unmapped_axe_rules(facts) == ["a-rule-from-the-future"]
    assert checks.unmapped_axe_rules(facts_with()) == []


def test_the_statement_and_every_footer_show_what_the_grid_earns(client, programme):
    found = audit.current_results()
    _, page = get(client, "/accessibilite")
    assert page.by_id("mention-conformite").text == found.mention
    assert page.by_id("taux-global").text == f"{found.global_rate:.1f} %".replace(".", ",")
    assert page.by_id("taux-moyen").text == f"{found.mean_rate:.1f} %".replace(".", ",")
    if found.mention == "totalement conforme":
        assert found.count(NC) == found.count(NE) == 0
    else:
        assert "totalement conforme" not in page.text
    for path in ("/", "/accessibilite", "/mentions-legales", "/inscription", "/admin/connexion"):
        _, shown = get(client, path)
        assert f"Accessibilité : {found.mention}" in link_texts(shown.find("footer")), path


def test_a_fully_conforming_grid_turns_every_mention_to_totalement(
    client, programme, tmp_path: Path, monkeypatch
):
    rows = [
        audit.Row(r.page, r.critere, C if r.critere == "8.1" else NA, audit.MANUAL, "", "d", "j")
        for r in audit.read_grid()
    ]
    grid = tmp_path / "grid.csv"
    audit.write_grid(rows, grid)
    monkeypatch.setattr(audit, "GRID_FILE", grid)
    _, page = get(client, "/accessibilite")
    assert page.by_id("mention-conformite").text == "totalement conforme"
    assert page.by_id("taux-global").text == "100,0 %"
    _, home = get(client, "/mentions-legales")
    assert "Accessibilité : totalement conforme" in link_texts(home.find("footer"))


def test_the_plan_covers_three_years_at_most_and_this_years_actions(client, programme):
    plan = audit.plan()
    years = plan["schema"]["years"]
    assert 1 <= len(years) <= 3 and years == sorted(years)
    assert plan["actions"]["year"] in years and plan["actions"]["items"]
    _, page = get(client, "/accessibilite/schema-pluriannuel")
    assert page.find("h1").text.startswith("Schéma pluriannuel de mise en accessibilité")
    assert page.by_id("plan-actions")


def test_links_with_the_same_text_lead_to_the_same_place(staff_client, create_meeting, programme):
    """RGAA 6.1: several meetings share the placeholder title « Thème à venir »; their links
    on the staff lists must still say which meeting they open (the date, for screen readers)."""
    for day in (40, 70):
        create_meeting(programme=programme, title="Thème à venir", starts_at=programme_day(day))
    test_public.db.session.commit()
    for path in ("/admin/", "/admin/seances"):
        _, page = get(staff_client, path)
        targets: dict[str, set[str]] = {}
        for link in page.find_all("a"):
            name = " ".join(link.text.split())
            targets.setdefault(name, set()).add(link.attrs.get("href", "").split("#")[0])
        ambiguous = {name: hrefs for name, hrefs in targets.items() if len(hrefs) > 1}
        assert not ambiguous, f"{path}: {ambiguous}"
