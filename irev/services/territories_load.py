"""Load Etalab's decoupage-administratif JSON into the territory tables.

Decisions:
- All of France is loaded, not only the Hauts-de-France: elected officials from elsewhere may
  register, and the full load (about 35,000 communes) takes a few seconds in bulk inserts.
- Only current communes (`type == "commune-actuelle"`): delegated and associated communes and
  municipal arrondissements share names with them and would make false homonyms.
- A load replaces the four tables in one transaction (delete, then bulk insert): running it
  twice gives the same rows, and a failed load leaves the previous ones.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, insert

from irev.extensions import db
from irev.models import Commune, Departement, Epci, Region
from irev.services.territories import search_key

FILES = ("communes", "epci", "departements", "regions")
CURRENT_COMMUNE = "commune-actuelle"


class TerritoryFilesMissing(FileNotFoundError):
    """The JSON files are not installed (make territories); the message says so in French."""


@dataclass(frozen=True)
class LoadCounts:
    """How many rows a load wrote."""

    regions: int
    departements: int
    epci: int
    communes: int


def read_files(directory: Path) -> dict[str, list[dict]]:
    """Return the four JSON lists of the directory, or raise TerritoryFilesMissing."""
    data = {}
    for name in FILES:
        path = Path(directory) / f"{name}.json"
        if not path.is_file():
            raise TerritoryFilesMissing(
                f"Fichier {path} introuvable : lancez « make territories » pour l’installer."
            )
        data[name] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _rows(data: dict[str, list[dict]]) -> dict[type, list[dict]]:
    """Turn Etalab's records into rows of the four tables."""
    communes = {
        c["code"]: {
            "code": c["code"],
            "name": c["nom"],
            "departement_code": c.get("departement", ""),
            "region_code": c.get("region", ""),
            "epci_siren": None,
            "population": int(c.get("population") or 0),
            "search_key": search_key(c["nom"]),
        }
        for c in data["communes"]
        if c.get("type") == CURRENT_COMMUNE
    }
    epcis = []
    for e in data["epci"]:
        by_departement: dict[str, int] = defaultdict(int)
        region = ""
        for member in e.get("membres", []):
            commune = communes.get(member["code"])
            if commune is None:
                continue
            commune["epci_siren"] = e["code"]
            by_departement[commune["departement_code"]] += int(member.get("populationTotale") or 0)
            region = region or commune["region_code"]
        departement = max(by_departement, key=by_departement.__getitem__, default="")
        epcis.append(
            {
                "siren": e["code"],
                "name": e["nom"],
                "kind": e.get("type", ""),
                "departement_code": departement,
                "region_code": region,
                "population": int(e.get("populationTotale") or 0),
                "search_key": search_key(e["nom"], kind=e.get("type", "")),
            }
        )
    return {
        Region: [{"code": r["code"], "name": r["nom"]} for r in data["regions"]],
        Departement: [
            {"code": d["code"], "name": d["nom"], "region_code": d.get("region", "")}
            for d in data["departements"]
        ],
        Epci: epcis,
        Commune: list(communes.values()),
    }


def load_territories(directory: Path) -> LoadCounts:
    """Replace the territory tables with the files of directory (the caller commits)."""
    tables = _rows(read_files(directory))
    for model in (Commune, Epci, Departement, Region):
        db.session.execute(delete(model))
    for model, rows in tables.items():
        # executemany in chunks: one round trip per chunk, whatever the dialect.
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(model), rows[start : start + 5000])
    return LoadCounts(
        regions=len(tables[Region]),
        departements=len(tables[Departement]),
        epci=len(tables[Epci]),
        communes=len(tables[Commune]),
    )
