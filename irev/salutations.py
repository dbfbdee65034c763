"""How IREV addresses a person: the salutation and the words that agree with them.

Decisions, in one place:
- The salutation comes from the civilité and the mandate together: « Madame la Maire, »,
  « Monsieur le Vice-président, ». A mandate without a title of its own (« Autre », or none)
  gives « Madame, » or « Monsieur, »; without a civilité, « Madame, Monsieur, » whatever the
  mandate (the mandate alone does not tell which form to use).
- Words that agree with the reader (inscrite/inscrit) follow the civilité; without one, the
  caller gives a wording that needs no agreement (« votre inscription est confirmée »), never a
  masculine by default and never « inscrit(e) ».
"""

from __future__ import annotations

from typing import Protocol

#: Civilités offered, as (stored value, label). The empty value means « not given ».
CIVILITES: list[tuple[str, str]] = [("madame", "Madame"), ("monsieur", "Monsieur")]
CIVILITE_LABELS = dict(CIVILITES)

#: The title each mandate gives in a salutation: (feminine, masculine). A mandate missing here
#: (« autre ») has no title: the salutation is the civilité alone.
MANDATE_TITLES: dict[str, tuple[str, str]] = {
    "maire": ("la Maire", "le Maire"),
    "adjoint": ("l’Adjointe", "l’Adjoint"),
    "conseiller_delegue": (
        "la Conseillère municipale déléguée",
        "le Conseiller municipal délégué",
    ),
    "conseiller_municipal": ("la Conseillère municipale", "le Conseiller municipal"),
    "president_epci": ("la Présidente", "le Président"),
    "vice_president_epci": ("la Vice-présidente", "le Vice-président"),
    "conseiller_communautaire": (
        "la Conseillère communautaire",
        "le Conseiller communautaire",
    ),
    "conseiller_departemental": (
        "la Conseillère départementale",
        "le Conseiller départemental",
    ),
    "conseiller_regional": ("la Conseillère régionale", "le Conseiller régional"),
}

NEUTRAL_SALUTATION = "Madame, Monsieur,"


class Addressee(Protocol):
    """Anything with a civilité and a mandate (a Person, a PersonDetails)."""

    civilite: str
    mandate: str


def salutation(civilite: str | None, mandate: str | None) -> str:
    """Return the opening line of a letter to someone with this civilité and mandate."""
    if civilite not in CIVILITE_LABELS:
        return NEUTRAL_SALUTATION
    title = MANDATE_TITLES.get(mandate or "")
    word = CIVILITE_LABELS[civilite]
    if title is None:
        return f"{word},"
    feminine, masculine = title
    return f"{word} {feminine if civilite == 'madame' else masculine},"


def salutation_for(person: Addressee | None) -> str:
    """Return the salutation of a person (neutral when there is nobody to address)."""
    if person is None:
        return NEUTRAL_SALUTATION
    return salutation(getattr(person, "civilite", ""), getattr(person, "mandate", ""))


def agree(person: Addressee | None, feminine: str, masculine: str, neutral: str) -> str:
    """Return the wording that agrees with the person's civilité, or the neutral one."""
    civilite = getattr(person, "civilite", "") if person is not None else ""
    if civilite == "madame":
        return feminine
    if civilite == "monsieur":
        return masculine
    return neutral
