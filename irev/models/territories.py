"""Communes, EPCI, départements and régions: INSEE's official geographic code (Etalab's JSON).

Reference tables, replaced as a whole by `flask territories load` (services.territories_load);
people keep the codes they chose, without a foreign key, so a refresh that merges or renames a
commune never breaks or deletes a registration.
"""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from irev.extensions import db


class Region(db.Model):
    """A région (code INSEE, e.g. "32" for the Hauts-de-France)."""

    __tablename__ = "territory_region"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Departement(db.Model):
    """A département (code INSEE: "80", "2A", "974")."""

    __tablename__ = "territory_departement"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(String(3), default="")


class Epci(db.Model):
    """An EPCI à fiscalité propre (SIREN), e.g. a communauté d'agglomération."""

    __tablename__ = "territory_epci"
    __table_args__ = (Index("ix_territory_epci_search_key", "search_key"),)

    siren: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: "CC", "CA", "CU", "METRO" or "MET69" (the Métropole de Lyon).
    kind: Mapped[str] = mapped_column(String(10), default="")
    #: The département holding most of its population (an EPCI may straddle two).
    departement_code: Mapped[str] = mapped_column(String(3), default="")
    region_code: Mapped[str] = mapped_column(String(3), default="")
    population: Mapped[int] = mapped_column(default=0)
    #: services.territories.search_key(name): what suggestions match against.
    search_key: Mapped[str] = mapped_column(String(300), default="")


class Commune(db.Model):
    """A current commune (code INSEE); delegated and associated communes are not kept."""

    __tablename__ = "territory_commune"
    __table_args__ = (Index("ix_territory_commune_search_key", "search_key"),)

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    departement_code: Mapped[str] = mapped_column(String(3), default="")
    region_code: Mapped[str] = mapped_column(String(3), default="")
    #: The EPCI it belongs to (None for the few island communes outside any).
    epci_siren: Mapped[str | None] = mapped_column(String(9), index=True)
    #: Legal population: ranks homonyms (Saint-Martin) in suggestions.
    population: Mapped[int] = mapped_column(default=0)
    search_key: Mapped[str] = mapped_column(String(300), default="")
