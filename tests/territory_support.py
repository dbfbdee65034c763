"""Territory data for tests: the real files `make territories` installs, whole or a subset.

Most tests load a subset cut from the real files (two départements and a few homonyms from
elsewhere) so that each test's own database fills in a fraction of a second; tests marked
`full_territories` load all of France once per test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from irev.config import Defaults
from irev.extensions import db
from irev.services.territories_load import FILES, load_territories

INSTALLED = Path(Defaults.IREV_TERRITORIES_DIR)
#: Départements kept whole in the subset: the Somme and the Nord.
SUBSET_DEPARTEMENTS = {"80", "59"}
#: Communes kept from elsewhere: homonyms and big names the tests look for.
SUBSET_NAMES = {"Saint-Martin", "Paris", "Saint-Quentin", "Quesnoy"}


def installed_dir() -> Path:
    """Return the installed directory, or skip (CI fails on skips: make test installs it)."""
    if not all((INSTALLED / f"{name}.json").is_file() for name in FILES):
        pytest.skip(f"territory files missing in {INSTALLED}: run `make territories`")
    return INSTALLED


def write_subset(source: Path, target: Path) -> Path:
    """Write to target the subset of source's files the fast tests use; return target."""
    data = {name: json.loads((source / f"{name}.json").read_text("utf-8")) for name in FILES}
    communes = [
        c
        for c in data["communes"]
        if c.get("departement") in SUBSET_DEPARTEMENTS or c["nom"] in SUBSET_NAMES
    ]
    kept = {c["code"] for c in communes}
    epci = []
    for e in data["epci"]:
        members = [m for m in e.get("membres", []) if m["code"] in kept]
        if members:
            epci.append({**e, "membres": members})
    subset = {**data, "communes": communes, "epci": epci}
    target.mkdir(parents=True, exist_ok=True)
    for name, rows in subset.items():
        (target / f"{name}.json").write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
    return target


@pytest.fixture(scope="session")
def territory_subset_dir(tmp_path_factory) -> Path:
    """The subset's directory, cut once per test session from the installed files."""
    return write_subset(installed_dir(), tmp_path_factory.mktemp("territoires"))


@pytest.fixture
def territories(app, territory_subset_dir):
    """Load the subset into this test's database."""
    counts = load_territories(territory_subset_dir)
    db.session.commit()
    return counts


@pytest.fixture
def all_territories(app):
    """Load the whole of France into this test's database."""
    counts = load_territories(installed_dir())
    db.session.commit()
    return counts
