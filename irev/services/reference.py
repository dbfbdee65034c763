"""Reference lists kept in one place: the mandates and départements a person may choose.

The public form, the staff form, the filters, the exports and the labels all read them here
(a service never imports a blueprint's form to learn them).
"""

from __future__ import annotations

#: Mandates offered, as (stored value, label).
MANDATES: list[tuple[str, str]] = [
    ("maire", "Maire"),
    ("adjoint", "Adjoint(e) au maire"),
    ("conseiller_delegue", "Conseiller(ère) municipal(e) délégué(e)"),
    ("conseiller_municipal", "Conseiller(ère) municipal(e)"),
    ("president_epci", "Président(e) d’EPCI"),
    ("vice_president_epci", "Vice-président(e) d’EPCI"),
    ("conseiller_communautaire", "Conseiller(ère) communautaire"),
    ("conseiller_departemental", "Conseiller(ère) départemental(e)"),
    ("conseiller_regional", "Conseiller(ère) régional(e)"),
    ("autre", "Autre"),
]
MANDATE_LABELS = dict(MANDATES)

#: Départements of the Hauts-de-France, plus "Autre"; the value is the name.
DEPARTMENTS: list[tuple[str, str]] = [
    (name, name) for name in ("Aisne", "Nord", "Oise", "Pas-de-Calais", "Somme", "Autre")
]
DEPARTMENT_LABELS = dict(DEPARTMENTS)


def mandate_choices() -> list[tuple[str, str]]:
    """Return the mandates as (value, label) pairs."""
    return list(MANDATES)


def department_choices() -> list[tuple[str, str]]:
    """Return the départements as (value, label) pairs."""
    return list(DEPARTMENTS)


def mandate_label(value: str) -> str:
    """Return the French label of a stored mandate value (the value itself if unknown)."""
    return MANDATE_LABELS.get(value, value)


def department_label(value: str) -> str:
    """Return the label of a stored département value."""
    return DEPARTMENT_LABELS.get(value, value)
