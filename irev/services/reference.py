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


#: Accessibility needs a person may tick, as (stored value, label); details go in free text.
ACCESSIBILITY_NEEDS: list[tuple[str, str]] = [
    ("sous_titrage", "Sous-titrage"),
    ("lsf", "Interprète en langue des signes française (LSF)"),
    ("documents_adaptes", "Documents adaptés (gros caractères, formats accessibles)"),
    ("autre", "Autre besoin (précisez ci-dessous)"),
]
ACCESSIBILITY_NEED_LABELS = dict(ACCESSIBILITY_NEEDS)
#: Short labels for staff lists and exports.
ACCESSIBILITY_NEED_SHORT = {
    "sous_titrage": "Sous-titrage",
    "lsf": "Interprète LSF",
    "documents_adaptes": "Documents adaptés",
    "autre": "Autre",
}


def join_needs(values) -> str:
    """Return ticked needs as stored: known values only, in the list's order, comma-separated."""
    ticked = set(values or ())
    return ",".join(value for value, _ in ACCESSIBILITY_NEEDS if value in ticked)


def split_needs(stored: str | None) -> list[str]:
    """Return the stored needs as a list of values."""
    return [value for value in (stored or "").split(",") if value in ACCESSIBILITY_NEED_LABELS]


def needs_summary(options: str | None, details: str | None = "") -> str:
    """Return a person's needs in one line for staff: « Sous-titrage, Interprète LSF – détail »."""
    labels = [ACCESSIBILITY_NEED_SHORT[value] for value in split_needs(options)]
    text = ", ".join(labels)
    details = " ".join((details or "").split())
    if details:
        text = f"{text} – {details}" if text else details
    return text


#: A person's details as the person reads them named (in the e-mail that lists what changed).
DETAIL_LABELS: dict[str, str] = {
    "email": "Adresse électronique",
    "first_name": "Prénom",
    "last_name": "Nom",
    "phone": "Téléphone",
    "organisation": "Collectivité ou structure",
    "mandate": "Mandat",
    "department": "Département",
    "civilite": "Civilité",
    "accessibility_options": "Besoins d’accessibilité",
    "accessibility_needs": "Besoins d’accessibilité (précisions)",
}


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
