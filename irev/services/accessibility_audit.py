"""The RGAA 4.1 audit kept as data, and the figures the accessibility statement shows.

Decisions:
- The grid (`irev/data/rgaa/grid.csv`) holds one row per criterion and page of the sample
  (`sample.yaml`), with its status, how it was judged (automatic: which tool; manual: the date
  and what was done) and a short French justification. It is reviewed like code.
- A criterion nobody checked is « non évalué »: it counts as applicable and not met, so an
  unfinished audit can never read as conformity.
- Rates follow the RGAA method (see the access42/DINUM explanation of the statement model):
  the **global rate** on the sample is C / (C + NC), where a criterion is non conforme when it
  fails on at least one page, conforme when it is met on at least one page and fails on none,
  non applicable when it applies nowhere. The **mean rate** is the mean, over the pages having
  at least one applicable criterion, of each page's C / (C + NC). The legal mention
  (« totalement », « partiellement », « non conforme ») follows the global rate: 100 % (and
  nothing left unevaluated) for « totalement », at least 50 % for « partiellement ».
- Automatic rows are rebuilt from what the browser measured (`automatic_rows`): the audit
  test (`tests/browser/test_rgaa_audit.py`) measures every page in Chromium and fails when the
  grid disagrees; `bench/rgaa_refresh.py` runs it in writing mode. Manual rows are never
  overwritten by the tools.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parents[1] / "data" / "rgaa"
GRID_FILE = DATA / "grid.csv"
#: The structure each page had when its manual rows were last judged (see mark_changed_pages).
FINGERPRINT_FILE = DATA / "fingerprints.json"

CONFORME = "conforme"
NON_CONFORME = "non conforme"
NON_APPLICABLE = "non applicable"
NON_EVALUE = "non évalué"
STATUSES = (CONFORME, NON_CONFORME, NON_APPLICABLE, NON_EVALUE)

AUTOMATIC = "automatique"
MANUAL = "manuel"

COLUMNS = ("page", "critere", "statut", "methode", "outil", "date", "justification")


@dataclass(frozen=True)
class Criterion:
    """One RGAA criterion: its official number, theme and short title."""

    number: str
    theme: str
    title: str


@dataclass(frozen=True)
class SamplePage:
    """One page (or e-mail, or file) of the audited sample."""

    id: str
    title: str
    url: str
    kind: str


@dataclass(frozen=True)
class Row:
    """One cell of the grid: a criterion judged on a page."""

    page: str
    critere: str
    statut: str = NON_EVALUE
    methode: str = ""
    outil: str = ""
    date: str = ""
    justification: str = ""


def _number_key(number: str) -> tuple[int, int]:
    """Sort key for "10.2" style numbers."""
    theme, rank = number.split(".")
    return int(theme), int(rank)


@functools.cache
def criteria() -> tuple[Criterion, ...]:
    """Return the 106 criteria of RGAA 4.1, in order."""
    data = yaml.safe_load((DATA / "criteria.yaml").read_text(encoding="utf-8"))
    themes = {str(k): v for k, v in data["themes"].items()}
    found = [
        Criterion(number, themes[number.split(".")[0]], title)
        for number, title in data["criteria"].items()
    ]
    return tuple(sorted(found, key=lambda c: _number_key(c.number)))


@functools.cache
def sample() -> tuple[SamplePage, ...]:
    """Return the pages of the sample, in the statement's order."""
    data = yaml.safe_load((DATA / "sample.yaml").read_text(encoding="utf-8"))
    return tuple(SamplePage(**page) for page in data["pages"])


def read_grid(path: Path | None = None) -> list[Row]:
    """Read the grid file (missing file: every cell « non évalué »)."""
    path = path or GRID_FILE
    if not path.exists():
        return [Row(p.id, c.number) for p in sample() for c in criteria()]
    with path.open(encoding="utf-8", newline="") as handle:
        return [Row(**{k: row[k] for k in COLUMNS}) for row in csv.DictReader(handle)]


def write_grid(rows: Iterable[Row], path: Path | None = None) -> None:
    """Write the grid in sample then criterion order."""
    path = path or GRID_FILE
    pages = {p.id: n for n, p in enumerate(sample())}
    ordered = sorted(rows, key=lambda r: (pages[r.page], _number_key(r.critere)))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in ordered:
            writer.writerow([getattr(row, name) for name in COLUMNS])


def grid_problems(rows: list[Row]) -> list[str]:
    """Return what makes a grid incomplete or malformed (empty when it is sound)."""
    problems = []
    expected = {(p.id, c.number) for p in sample() for c in criteria()}
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row.page, row.critere)
        seen[key] = seen.get(key, 0) + 1
        if row.statut not in STATUSES:
            problems.append(f"{key}: statut inconnu {row.statut!r}")
        if row.statut != NON_EVALUE:
            if row.methode not in (AUTOMATIC, MANUAL):
                problems.append(f"{key}: jugé sans méthode")
            if not row.justification.strip():
                problems.append(f"{key}: jugé sans justification")
            if row.methode == AUTOMATIC and not row.outil:
                problems.append(f"{key}: automatique sans outil")
            if row.methode == MANUAL and not row.date:
                problems.append(f"{key}: manuel sans date")
    problems += [f"{k}: {n} lignes" for k, n in seen.items() if n > 1]
    problems += [f"{k}: absent de la grille" for k in sorted(expected - set(seen))]
    problems += [f"{k}: hors échantillon" for k in sorted(set(seen) - expected)]
    return problems


def fingerprint(structure: Mapping[str, Any]) -> str:
    """Return a short stable digest of a page's structure (controls, headings, roles, scripts).

    The structure holds no text and no counts, so the demo programme moving its dates or a
    meeting more in a list changes nothing; a field, a group, a heading level, an ARIA role or
    an htmx behaviour added or removed does.
    """
    canonical = json.dumps(
        {k: sorted(set(map(str, v))) for k, v in structure.items()}, sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def read_fingerprints(path: Path | None = None) -> dict[str, str]:
    """Return the recorded fingerprint of each page ({} when none was recorded)."""
    path = path or FINGERPRINT_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def write_fingerprints(prints: Mapping[str, str], path: Path | None = None) -> None:
    """Record the pages' fingerprints, in sample order."""
    order = [p.id for p in sample()]
    ordered = {name: prints[name] for name in order if name in prints}
    (path or FINGERPRINT_FILE).write_text(
        json.dumps(ordered, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def changed_pages(recorded: Mapping[str, str], measured: Mapping[str, str]) -> list[str]:
    """Return the pages whose structure differs from the one their manual rows judged."""
    return [name for name, digest in measured.items() if recorded.get(name) not in (None, digest)]


def mark_changed_pages(rows: list[Row], pages: Iterable[str]) -> list[Row]:
    """Turn the manual rows of changed pages into « non évalué », to be judged again by hand.

    A judgement made by hand holds for the page it looked at: once a field, a group, a
    heading or a script is added, the statement must not keep claiming it. The old
    justification is kept, marked, for whoever looks again.
    """
    changed = set(pages)
    out = []
    for row in rows:
        if row.page in changed and row.methode == MANUAL:
            note = (
                f"à revoir (page modifiée depuis le jugement du {row.date}) : {row.justification}"
            )
            row = Row(row.page, row.critere, justification=note)
        out.append(row)
    return out


def merge_automatic(rows: list[Row], measured: Mapping[tuple[str, str], Row]) -> list[Row]:
    """Replace the automatic and unevaluated rows by what the tools measured; keep manual ones,
    unless a tool now finds the criterion failed: a failure measured overrides a judgement
    made by hand before the page changed (it must be looked at again). An automatic row the
    tools no longer decide becomes « non évalué »."""
    merged = []
    for row in rows:
        new = measured.get((row.page, row.critere))
        if new is None and row.methode == AUTOMATIC:
            # The tool no longer decides this cell (the page changed): a person must.
            merged.append(Row(row.page, row.critere))
            continue
        keep = new is None or (row.methode == MANUAL and new.statut != NON_CONFORME)
        merged.append(row if keep else new)
    return merged


# --- rates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageResult:
    """Counts of one page of the sample."""

    page: SamplePage
    conforme: int
    non_conforme: int
    non_applicable: int
    non_evalue: int

    @property
    def applicable(self) -> int:
        """Criteria that apply (the unevaluated ones count as applicable and not met)."""
        return self.conforme + self.non_conforme + self.non_evalue

    @property
    def rate(self) -> float | None:
        """C / applicable, in percent; None when nothing applies."""
        return 100 * self.conforme / self.applicable if self.applicable else None


@dataclass(frozen=True)
class Results:
    """The audit's figures, as the statement shows them."""

    pages: tuple[PageResult, ...]
    by_criterion: dict[str, str]

    def count(self, status: str) -> int:
        """Number of criteria with this status on the whole sample."""
        return sum(1 for s in self.by_criterion.values() if s == status)

    @property
    def global_rate(self) -> float:
        """C / (C + NC) on the sample, in percent (unevaluated counts as NC)."""
        met = self.count(CONFORME)
        applicable = met + self.count(NON_CONFORME) + self.count(NON_EVALUE)
        return 100 * met / applicable if applicable else 0.0

    @property
    def mean_rate(self) -> float:
        """Mean of the rates of the pages where something applies, in percent."""
        rates = [p.rate for p in self.pages if p.rate is not None]
        return sum(rates) / len(rates) if rates else 0.0

    @property
    def mention(self) -> str:
        """The legal compliance mention that follows the global rate."""
        if self.count(NON_CONFORME) == 0 and self.count(NON_EVALUE) == 0 and self.count(CONFORME):
            return "totalement conforme"
        if self.global_rate >= 50:
            return "partiellement conforme"
        return "non conforme"


def criterion_status(statuses: Iterable[str]) -> str:
    """Status of a criterion on the sample from its statuses on each page (RGAA method)."""
    found = set(statuses)
    if NON_CONFORME in found:
        return NON_CONFORME
    if NON_EVALUE in found:
        return NON_EVALUE
    if CONFORME in found:
        return CONFORME
    return NON_APPLICABLE


def results(rows: list[Row]) -> Results:
    """Compute the page counts and the status of each criterion on the sample."""
    by_page: dict[str, list[Row]] = {}
    by_criterion: dict[str, list[str]] = {c.number: [] for c in criteria()}
    for row in rows:
        by_page.setdefault(row.page, []).append(row)
        by_criterion[row.critere].append(row.statut)
    pages = tuple(
        PageResult(
            page,
            *(
                sum(1 for r in by_page.get(page.id, []) if r.statut == s)
                for s in (CONFORME, NON_CONFORME, NON_APPLICABLE)
            ),
            non_evalue=sum(1 for r in by_page.get(page.id, []) if r.statut == NON_EVALUE),
        )
        for page in sample()
    )
    return Results(pages, {n: criterion_status(s) for n, s in by_criterion.items()})


@functools.cache
def _cached_results(path: Path, mtime: float) -> Results:
    """Results of the grid file as it was at mtime."""
    return results(read_grid(path))


def current_results() -> Results:
    """Results of the grid file in the repository (read again when the file changes)."""
    mtime = GRID_FILE.stat().st_mtime if GRID_FILE.exists() else 0.0
    return _cached_results(GRID_FILE, mtime)


def failures(rows: list[Row], status: str = NON_CONFORME) -> list[dict[str, Any]]:
    """Group the rows of one status by criterion: title, pages and their justifications."""
    titles = {c.number: c.title for c in criteria()}
    pages = {p.id: p.title for p in sample()}
    grouped: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.statut != status:
            continue
        entry = grouped.setdefault(
            row.critere, {"number": row.critere, "title": titles[row.critere], "pages": []}
        )
        entry["pages"].append({"title": pages[row.page], "justification": row.justification})
    return [grouped[n] for n in sorted(grouped, key=_number_key)]


def manual_criteria(rows: list[Row], kinds: tuple[str, ...] = ("page", "courriel")) -> list[str]:
    """Numbers of the criteria judged by hand on at least one web page or e-mail (the calendar
    file, read by hand on every criterion, would make the list say nothing)."""
    kind = {p.id: p.kind for p in sample()}
    found = {r.critere for r in rows if r.methode == MANUAL and kind.get(r.page) in kinds}
    return sorted(found, key=_number_key)


# --- what the statement and the plan pages show ----------------------------------------------

#: Tools and environments of the audit, as the statement lists them.
TOOLS = (
    "axe-core (règles WCAG 2.0 et 2.1, niveaux A et AA), exécuté dans Chromium par Playwright",
    "Nu HTML Checker (vnu), sur le code généré de chaque page",
    "Scripts de mesure dans Chromium : éléments présents, contrastes des bordures, fenêtre de "
    "320 px, zoom à 200 %, espacements du texte redéfinis, orientations portrait et paysage, "
    "parcours à la touche Tab",
    "Arbre d’accessibilité exposé par Chromium (instantané ARIA de Playwright), comparé au sens "
    "des pages",
    "Comparaison entre les pages (menu, pied de page, lien vers le plan du site) et empreinte de "
    "la structure de chaque page : quand une page change, les critères jugés à la main y "
    "repassent « non évalués » jusqu’à un nouvel examen",
)
ENVIRONMENTS = ("Chromium (Debian) sans interface, piloté au clavier par Playwright, sous Linux",)


def statement() -> dict[str, Any]:
    """Everything the accessibility statement shows, computed from the grid."""
    rows = read_grid()
    found = results(rows)
    dates = sorted({r.date for r in rows if r.date})
    return {
        "results": found,
        "mention": found.mention,
        "global_rate": found.global_rate,
        "mean_rate": found.mean_rate,
        "criteria_total": len(criteria()),
        "non_conformities": failures(rows, NON_CONFORME),
        "not_evaluated": failures(rows, NON_EVALUE),
        "manual_criteria": manual_criteria(rows),
        "sample": sample(),
        "tools": TOOLS,
        "environments": ENVIRONMENTS,
        "last_check": dates[-1] if dates else "",
    }


def footer_mention() -> str:
    """The compliance mention every page's footer shows (« Accessibilité : … »)."""
    return current_results().mention


@functools.cache
def plan() -> dict[str, Any]:
    """The multi-year plan and this year's action plan (irev/data/rgaa/plan.yaml)."""
    data = yaml.safe_load((DATA / "plan.yaml").read_text(encoding="utf-8"))
    years = data["schema"]["years"]
    if not 1 <= len(years) <= 3:
        raise ValueError("le schéma pluriannuel couvre trois ans au plus")
    return data
