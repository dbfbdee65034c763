"""Find a commune or an EPCI from what a person typed: suggestions, and matching without JS.

Decisions:
- Names are compared by a search key: lower case, no accents, punctuation and hyphens as spaces,
  « St »/« Ste » read as « Saint »/« Sainte », small words (le, la, de, du, sur…) dropped, and an
  EPCI's « CA », « CC », « CU » spelled out. « saint-quentin », « St Quentin » and « Saint
  Quentin » are one key; « Communauté d’agglomération du Douaisis » finds « CA Douaisis Agglo ».
- Suggestions rank an exact name first, then names starting with what was typed, then the
  Hauts-de-France (the site's public), then population; ten at most.
- Without JavaScript the typed name is matched on submit: one exact match gives its code, several
  (homonyms such as Saint-Martin) or none exact but close names give a page to choose, nothing
  close keeps the text without a code (a bailleur, a département, a body from elsewhere).
- A code sent with the form (the combobox's hidden field) is used only if it exists and its name
  has the key of the text sent with it; otherwise it is ignored and the text is matched.
- Empty tables (data not loaded) mean no suggestion and no code: the form still works.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, case

from irev.extensions import db
from irev.models import Commune, Departement, Epci

#: Code of the Hauts-de-France région: its communes and EPCI come first.
HAUTS_DE_FRANCE = "32"
#: The départements the form offers by name (services.reference.DEPARTMENTS), by code.
FORM_DEPARTMENTS = {"02": "Aisne", "59": "Nord", "60": "Oise", "62": "Pas-de-Calais", "80": "Somme"}
#: How an EPCI's kind reads, and how its abbreviation is spelled out in search keys.
EPCI_KINDS = {
    "CC": "communauté de communes",
    "CA": "communauté d’agglomération",
    "CU": "communauté urbaine",
    "METRO": "métropole",
    "MET69": "métropole",
}
SUGGESTIONS = 10
#: Longest text looked up (the form's organisation field holds 200 characters).
QUERY_MAX = 200
#: The choice sent by the ambiguity page for « keep the name as I typed it ».
KEEP_TEXT = "texte"

#: Small words people drop or add (« Quesnoy », « Le Quesnoy »; « Marcq-en-Barœul »).
_SMALL_WORDS = frozenset("l le la les d de du des et en a au aux sur sous lez".split())  # noqa: SIM905
_EXPANSIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_ABBREVIATIONS = {
    "cc": "communaute communes",
    "ca": "communaute agglomeration",
    "cu": "communaute urbaine",
}
_LEADING = re.compile(r"^(mairie|ville|commune)\s+(de|d|du)\s+")
CODE_PATTERN = re.compile(r"[0-9][0-9AB][0-9]{3}|[0-9]{9}")


def _words(text: str) -> list[str]:
    """Return the lower-case, accent-free words of text (punctuation and hyphens split)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = re.sub(r"[^0-9a-z]+", " ", plain.replace("œ", "oe").replace("æ", "ae"))
    return plain.split()


def search_key(name: str, kind: str = "") -> str:
    """Return the key a name is compared by (an EPCI's abbreviation spelled out)."""
    words = _words(name)
    if kind and words and words[0] in _ABBREVIATIONS:
        words = _ABBREVIATIONS[words[0]].split() + words[1:]
    words = [_EXPANSIONS.get(w, w) for w in words]
    kept = [w for w in words if w not in _SMALL_WORDS]
    return " ".join(kept or words)


def query_key(text: str) -> str:
    """Return the key of typed text (« Mairie de », « Ville de » dropped)."""
    text = (text or "")[:QUERY_MAX]
    lowered = " ".join(_words(text))
    lowered = _LEADING.sub("", lowered)
    words = [_EXPANSIONS.get(w, w) for w in lowered.split()]
    if words and words[0] in _ABBREVIATIONS:
        words = _ABBREVIATIONS[words[0]].split() + words[1:]
    kept = [w for w in words if w not in _SMALL_WORDS]
    return " ".join(kept or words)


@dataclass(frozen=True)
class Territory:
    """A commune (code INSEE) or an EPCI (SIREN), as the form and the staff pages show it."""

    code: str
    name: str
    #: "commune", or the EPCI's kind ("CA", "CC" …).
    kind: str
    departement_code: str
    departement_name: str
    epci_siren: str
    region_code: str
    population: int
    key: str

    @property
    def is_commune(self) -> bool:
        return self.kind == "commune"

    @property
    def kind_label(self) -> str:
        """Return « commune » or the EPCI's kind in words."""
        return "commune" if self.is_commune else EPCI_KINDS.get(self.kind, "intercommunalité")

    @property
    def description(self) -> str:
        """Return « commune, Somme (80) » : what tells homonyms apart."""
        where = self.departement_name or "département inconnu"
        code = f" ({self.departement_code})" if self.departement_code else ""
        return f"{self.kind_label}, {where}{code}"

    @property
    def department_label(self) -> str:
        """Return the value of the form's « Département » question this territory implies."""
        return FORM_DEPARTMENTS.get(self.departement_code, "Autre")

    @property
    def commune_code(self) -> str:
        return self.code if self.is_commune else ""


@dataclass
class Resolution:
    """What the typed text (and code) gave: a territory, candidates to choose from, or neither."""

    territory: Territory | None = None
    candidates: list[Territory] = field(default_factory=list)
    #: A code was sent that does not exist or does not match the text: it was ignored.
    ignored_code: bool = False
    #: The candidates bear the very name typed (homonyms), not only close names.
    exact: bool = False

    @property
    def needs_choice(self) -> bool:
        return self.territory is None and bool(self.candidates)


def departement_names(codes: set[str]) -> dict[str, str]:
    """Return {code: name} for these départements."""
    codes = {code for code in codes if code}
    if not codes:
        return {}
    rows = db.session.execute(
        db.select(Departement.code, Departement.name).where(Departement.code.in_(codes))
    )
    return {code: name for code, name in rows}


def _territories(communes: list[Commune], epcis: list[Epci]) -> list[Territory]:
    """Return Territory views of rows, with their départements' names."""
    names = departement_names(
        {c.departement_code for c in communes} | {e.departement_code for e in epcis}
    )
    found = [
        Territory(
            c.code,
            c.name,
            "commune",
            c.departement_code,
            names.get(c.departement_code, ""),
            c.epci_siren or "",
            c.region_code,
            c.population,
            c.search_key,
        )
        for c in communes
    ]
    found += [
        Territory(
            e.siren,
            e.name,
            e.kind,
            e.departement_code,
            names.get(e.departement_code, ""),
            e.siren,
            e.region_code,
            e.population,
            e.search_key,
        )
        for e in epcis
    ]
    return found


def _rank(query: str, prefer_departement: str = ""):
    """Return the sort key of suggestions for query (smaller comes first)."""
    first = query.split()[0] if query else ""

    def key(t: Territory):
        if t.key == query:
            closeness = 0
        elif t.key.startswith(query):
            closeness = 1
        elif any(w.startswith(first) for w in t.key.split()):
            closeness = 2
        else:
            closeness = 3
        return (
            closeness,
            t.departement_code != prefer_departement if prefer_departement else False,
            t.region_code != HAUTS_DE_FRANCE,
            -t.population,
            t.name,
        )

    return key


def _matching(model, query: str, limit: int) -> list:
    """Return rows of model whose key holds every word of query, Hauts-de-France first."""
    words = query.split()
    population = model.population
    return list(
        db.session.scalars(
            db.select(model)
            .where(and_(*(model.search_key.contains(w, autoescape=True) for w in words)))
            .order_by(case((model.region_code == HAUTS_DE_FRANCE, 0), else_=1), population.desc())
            .limit(limit)
        )
    )


def search(
    text: str,
    limit: int = SUGGESTIONS,
    prefer_departement: str = "",
    exact: list[Territory] | None = None,
) -> list[Territory]:
    """Return communes and EPCI matching text, best first (nothing under two letters).

    exact: exact_matches(text), when the caller read it already in this transaction.
    """
    query = query_key(text)
    if len(query.replace(" ", "")) < 2:
        return []
    # Exact names first, whatever their population; then the broad match, ranked here.
    if exact is None:
        exact = _exact(query)
    broad = _territories(_matching(Commune, query, 200), _matching(Epci, query, 50))
    unique = {t.code: t for t in [*exact, *broad]}
    return sorted(unique.values(), key=_rank(query, prefer_departement))[:limit]


def exact_matches(text: str) -> list[Territory]:
    """Return the communes and EPCI whose name has the key of text (homonyms included)."""
    query = query_key(text)
    if not query:
        return []
    return sorted(_exact(query), key=_rank(query))


def _exact(query: str) -> list[Territory]:
    """Return the communes, then the EPCI, whose search key is query."""
    communes, epcis = _exact_statements()
    return _territories(
        list(db.session.scalars(communes, {"key": query})),
        list(db.session.scalars(epcis, {"key": query})),
    )


@functools.cache
def _exact_statements():
    """Build the two exact-name lookups once; the key is a parameter (each submit runs them)."""
    key = bindparam("key")
    return (
        db.select(Commune).where(Commune.search_key == key),
        db.select(Epci).where(Epci.search_key == key),
    )


def get(code: str) -> Territory | None:
    """Return the commune (5 characters) or EPCI (9 digits) with this code, or None."""
    if not code or not CODE_PATTERN.fullmatch(code):
        return None
    if len(code) == 5:
        found = _territories([c for c in [db.session.get(Commune, code)] if c], [])
    else:
        found = _territories([], [e for e in [db.session.get(Epci, code)] if e])
    return found[0] if found else None


def resolve(text: str, code: str = "", prefer_departement: str = "") -> Resolution:
    """Return what text (and the code sent with it) designates; see the module's decisions.

    A code is accepted when its name has the key of text, or when it is one of the candidates
    text itself gives (the choice page offers close names, not only homonyms).
    """
    chosen = get(code) if code else None
    if chosen is not None and chosen.key == query_key(text):
        return Resolution(territory=chosen)
    exact = exact_matches(text)
    if len(exact) == 1 and not code:
        return Resolution(territory=exact[0])
    if exact:
        exact.sort(key=_rank(query_key(text), prefer_departement))
        found = Resolution(candidates=exact, exact=True)
    else:  # no exact name: search() need not look for one again
        found = Resolution(
            candidates=search(text, prefer_departement=prefer_departement, exact=exact)
        )
    if chosen is not None and chosen.code in {t.code for t in found.candidates}:
        return Resolution(territory=chosen)
    if code:
        found.ignored_code = True
        if len(found.candidates) == 1 and found.exact:
            found.territory = found.candidates[0]
    return found


def unique_match(text: str) -> Territory | None:
    """Return the one commune or EPCI named exactly text, or None (none, or homonyms)."""
    exact = exact_matches(text)
    return exact[0] if len(exact) == 1 else None


def departement_code_for(form_department: str) -> str:
    """Return the code of a département the form names (« Somme » → "80"), or ''."""
    return next((code for code, name in FORM_DEPARTMENTS.items() if name == form_department), "")


def describe(codes: list[str]) -> dict[str, Territory]:
    """Return {code: Territory} for the commune codes and SIRENs given (for staff pages)."""
    communes = [c for c in codes if len(c) == 5]
    sirens = [c for c in codes if len(c) == 9]
    rows_c = (
        list(db.session.scalars(db.select(Commune).where(Commune.code.in_(communes))))
        if communes
        else []
    )
    rows_e = (
        list(db.session.scalars(db.select(Epci).where(Epci.siren.in_(sirens)))) if sirens else []
    )
    return {t.code: t for t in _territories(rows_c, rows_e)}
