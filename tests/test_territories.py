"""Communes and EPCI from the official geographic code: loading, search keys, suggestions."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func

from irev.extensions import db
from irev.models import Commune, Departement, Epci, Region
from irev.services import territories as service
from irev.services.territories_load import TerritoryFilesMissing, load_territories
from tests.territory_support import installed_dir

AMIENS = "80021"
MEL = "200093201"  # Métropole Européenne de Lille
AMIENS_METROPOLE = "248000531"


def count(model) -> int:
    return db.session.scalar(db.select(func.count()).select_from(model))


# --- search keys ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "official"),
    [
        ("amiens", "Amiens"),
        ("AMIENS", "Amiens"),
        ("St Quentin", "Saint-Quentin"),
        ("st-quentin", "Saint-Quentin"),
        ("Saint Quentin", "Saint-Quentin"),
        ("Ste Marie", "Sainte-Marie"),
        ("Etaples", "Étaples"),
        ("Quesnoy", "Le Quesnoy"),
        ("les mureaux", "Les Mureaux"),
        ("Villeneuve d'Ascq", "Villeneuve-d'Ascq"),
        ("Villeneuve d’Ascq", "Villeneuve-d'Ascq"),
        ("  Mairie de Roubaix ", "Roubaix"),
        ("Ville de Lille", "Lille"),
        ("Œuilly", "Oeuilly"),
    ],
)
def test_typed_names_have_the_key_of_the_official_name(typed, official):
    assert service.query_key(typed) == service.search_key(official)


@pytest.mark.parametrize(
    ("typed", "official", "kind"),
    [
        ("Communauté d'agglomération Amiens Métropole", "CA Amiens Métropole", "CA"),
        ("CA Amiens Métropole", "CA Amiens Métropole", "CA"),
        ("communaute de communes du pays de lumbres", "CC du Pays de Lumbres", "CC"),
        ("Métropole européenne de Lille", "Métropole Européenne de Lille", "METRO"),
    ],
)
def test_epci_abbreviations_are_spelled_out(typed, official, kind):
    assert service.query_key(typed) == service.search_key(official, kind=kind)


def test_different_names_keep_different_keys():
    assert service.search_key("Saint-Martin") != service.search_key("Saint-Martin-Boulogne")
    assert service.search_key("Lille") != service.search_key("Lillers")


# --- loading --------------------------------------------------------------------------------


def test_load_is_idempotent_and_keeps_only_current_communes(app, territory_subset_dir):
    first = load_territories(territory_subset_dir)
    db.session.commit()
    second = load_territories(territory_subset_dir)
    db.session.commit()
    assert first == second
    assert count(Commune) == first.communes
    assert count(Epci) == first.epci
    assert count(Departement) == first.departements == 109
    assert count(Region) == first.regions == 26
    # Delegated and associated communes and municipal arrondissements are not kept.
    source = json.loads((territory_subset_dir / "communes.json").read_text("utf-8"))
    current = [c for c in source if c["departement"] == "80" and c["type"] == "commune-actuelle"]
    other = [c for c in source if c["departement"] == "80" and c["type"] != "commune-actuelle"]
    assert other  # the Somme has delegated communes: the filter is tested
    somme = db.session.scalar(
        db.select(func.count()).select_from(Commune).where(Commune.departement_code == "80")
    )
    assert somme == len(current) > 700
    amiens = db.session.get(Commune, AMIENS)
    assert (amiens.name, amiens.epci_siren, amiens.region_code) == (
        "Amiens",
        AMIENS_METROPOLE,
        "32",
    )
    assert db.session.get(Epci, AMIENS_METROPOLE).departement_code == "80"


def test_load_from_a_missing_directory_says_how_to_install(app, tmp_path):
    with pytest.raises(TerritoryFilesMissing, match="make territories"):
        load_territories(tmp_path)


def test_load_command_reports_counts_and_refuses_a_missing_directory(
    app, runner, territory_subset_dir, tmp_path
):
    result = runner.invoke(args=["territories", "load", "--dir", str(territory_subset_dir)])
    assert result.exit_code == 0, result.output
    assert "communes" in result.output and "EPCI" in result.output
    assert count(Commune) > 1000
    again = runner.invoke(args=["territories", "load", "--dir", str(territory_subset_dir)])
    assert again.exit_code == 0
    assert count(Commune) == int(result.output.split(" : ")[1].split()[0])
    missing = runner.invoke(args=["territories", "load", "--dir", str(tmp_path / "absent")])
    assert missing.exit_code == 1
    assert "Erreur : Fichier" in missing.output and "make territories" in missing.output


# --- suggestions ----------------------------------------------------------------------------


def codes(found) -> list[str]:
    return [t.code for t in found]


def test_exact_name_first_then_hauts_de_france(territories):
    found = service.search("Ami")
    assert found[0].code == AMIENS
    assert len(found) <= service.SUGGESTIONS
    amiens = service.search("amiens")
    assert codes(amiens)[:2] == [AMIENS, AMIENS_METROPOLE]
    assert amiens[0].description == "commune, Somme (80)"
    assert amiens[1].kind_label == "communauté d’agglomération"


def test_homonyms_put_the_hauts_de_france_and_the_chosen_departement_first(territories):
    found = service.search("Saint-Martin")
    exact = [t for t in found if t.name == "Saint-Martin"]
    assert len(exact) >= 5
    assert found[: len(exact)] == exact  # the exact name before Saint-Martin-au-Laërt…
    preferred = service.search("Saint-Martin", prefer_departement="67")
    assert preferred[0].departement_code == "67"


@pytest.mark.parametrize("typed", ["", " ", "a", "-", "\x00", "%", "_", "é" * 5000, "'; --"])
def test_odd_input_gives_no_error(territories, typed):
    found = service.search(typed)
    assert isinstance(found, list)
    assert service.resolve(typed, typed).territory is None or typed == ""


def test_wildcards_are_not_wildcards(territories):
    assert service.search("%%") == []
    assert service.search("a_i") == []


def test_empty_tables_give_no_suggestion_and_no_code(app):
    assert service.search("Amiens") == []
    resolution = service.resolve("Amiens", AMIENS)
    assert resolution.territory is None
    assert not resolution.needs_choice


# --- matching without JavaScript ------------------------------------------------------------


def test_resolve_unique_name_homonyms_and_unknown(territories):
    assert service.resolve("amiens").territory.code == AMIENS
    homonyms = service.resolve("Saint Martin")
    assert homonyms.territory is None and homonyms.exact
    assert len(homonyms.candidates) >= 5
    assert {t.name for t in homonyms.candidates} == {"Saint-Martin"}
    unknown = service.resolve("Bailleur social Habitat Hauts-de-France")
    assert unknown.territory is None and unknown.candidates == []


def test_resolve_accepts_a_code_only_with_its_name(territories):
    assert service.resolve("Amiens", AMIENS).territory.code == AMIENS
    # A code naming another commune is ignored: the name is matched instead.
    tampered = service.resolve("Amiens", "59350")
    assert tampered.territory.code == AMIENS and tampered.ignored_code
    nonsense = service.resolve("Amiens", "ZZZZZ")
    assert nonsense.territory.code == AMIENS and nonsense.ignored_code
    # A candidate of a close name may be chosen for it (the choice page offers those).
    close = service.resolve("Métropole Lille")
    assert MEL in codes(close.candidates) and not close.exact
    assert service.resolve("Métropole Lille", MEL).territory.code == MEL


# --- the whole of France --------------------------------------------------------------------


def test_full_load_is_fast_and_finds_real_names(all_territories):
    assert all_territories.communes > 34000
    assert all_territories.epci > 1200
    started = time.perf_counter()
    counts = load_territories(installed_dir())
    db.session.commit()
    assert counts == all_territories
    assert time.perf_counter() - started < 30  # about 1 s on SQLite; a refresh, not a chore
    assert service.resolve("Amiens").territory.code == AMIENS
    assert service.resolve("Métropole Européenne de Lille").territory.code == MEL
    assert service.search("Métropole européenne de Lille")[0].code == MEL
    assert service.search("St-Omer")[0].code == "62765"  # the Pas-de-Calais one of two
    assert service.resolve("Villeneuve d’Ascq").territory.code == "59009"
    assert service.search("Douaisis")[0].name == "CA Douaisis Agglo"
    saint_martin = service.resolve("Saint-Martin")
    assert saint_martin.needs_choice and len(saint_martin.candidates) >= 5
    departements = {t.departement_code for t in saint_martin.candidates}
    assert len(departements) == len(saint_martin.candidates)  # told apart by département
    assert service.search("Saint-Quentin")[0].code == "02691"  # the Aisne's, Hauts-de-France
