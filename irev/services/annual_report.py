"""Figures of a cycle for IREV's annual report: one printable page and one XLSX workbook.

Definitions (written on the page and in the workbook, so the report says what it counts):
- A meeting is HELD when it was published (not cancelled, not a draft) and has ended.
- People REGISTERED: distinct people (not registrations) who held a seat at a held meeting of
  the cycle (seats cannot end once a meeting has started, so a seat at a held meeting is a seat
  on the day).
- People PRESENT: distinct people marked present at one held meeting at least.
- PARTICIPATIONS: seats at held meetings (one person coming three times counts three).
- ATTENDANCE RATE: participations marked present over participations whose attendance was
  marked (present or absent); « — » while none is marked, so a meeting not yet marked does not
  read as nobody came. This is the rate of irev.services.figures.

Breakdowns are generic: each is a Breakdown (a key: a column or expression of Person, and how
to label its values), listed in BREAKDOWNS: département (the official code first, else the
form's answer), EPCI (SIREN, from the commune or EPCI chosen) and mandate. Extra key figures
plug in through KEY_FIGURE_SOURCES; satisfaction comes from the questionnaire, counting only
meetings with enough answers to stay anonymous (services.questionnaire_results).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import case, func

from irev.dates import short_date
from irev.extensions import db
from irev.models import (
    Meeting,
    MeetingStatus,
    Person,
    Programme,
    Registration,
    RegistrationState,
    utcnow,
)
from irev.services import territories
from irev.services.moderation import department_label, mandate_label
from irev.services.programmes import staff_title
from irev.services.questionnaire_results import cycle_satisfaction, french_average

S = RegistrationState


@dataclass(frozen=True)
class Breakdown:
    """A key the figures are broken down by: a Person column and the label of its values."""

    #: Stable name (anchors, sheet names): "departement", "mandat", "epci" ...
    name: str
    #: French heading of the key's column: « Département ».
    heading: str
    column: Any
    label: Callable[[str], str]
    #: How a title names it after « par »: « département », « EPCI » (default: heading, lower).
    per: str = ""

    @property
    def title(self) -> str:
        """Return « Par département », the title of its section and of its sheet."""
        return f"Par {self.per or self.heading.lower()}"


#: The breakdowns of the report, in their order on the page and in the workbook.
#: EPCI: add Breakdown("epci", "EPCI", Person.<epci code column>, <label function>, "EPCI").
#: A person's département: the official code when the commune or EPCI gave one, else the form's
#: answer turned into its code (« Somme » → 80), so both read as one line.
DEPARTEMENT_KEY = case(
    (Person.department_code != "", Person.department_code),
    *[(Person.department == name, code) for code, name in territories.FORM_DEPARTMENTS.items()],
    else_=Person.department,
)


def departement_label(value: str) -> str:
    """Return « Somme (80) » for a code, the form's label otherwise (« Autre »)."""
    name = territories.departement_names({value}).get(value) or territories.FORM_DEPARTMENTS.get(
        value
    )
    return f"{name} ({value})" if name else department_label(value)


def epci_label(siren: str) -> str:
    """Return « Amiens Métropole (SIREN 248000531) », or the SIREN alone if unknown."""
    found = territories.describe([siren]).get(siren)
    return f"{found.name} (SIREN {siren})" if found else f"SIREN {siren}"


BREAKDOWNS: list[Breakdown] = [
    Breakdown("departement", "Département", DEPARTEMENT_KEY, departement_label),
    Breakdown("epci", "EPCI", Person.epci_siren, epci_label, "EPCI"),
    Breakdown("mandat", "Mandat", Person.mandate, mandate_label),
]


@dataclass(frozen=True)
class KeyFigure:
    """One line of the summary: a French label and its value (a number, a rate, or text)."""

    label: str
    value: int | float | str | None
    #: "count", "rate" (a share between 0 and 1) or "text": how the page and the sheet show it.
    kind: str = "count"


def satisfaction_figures(programme: Programme, meeting_ids: Sequence[int]) -> list[KeyFigure]:
    """Return the questionnaire's figures: answers counted and the average satisfaction."""
    found = cycle_satisfaction(programme)
    average = french_average(found.satisfaction)
    return [
        KeyFigure("Réponses au questionnaire de satisfaction", found.answers),
        KeyFigure(
            "Satisfaction générale (moyenne sur 5)",
            f"{average} sur 5" if found.satisfaction is not None else "non calculée",
            "text",
        ),
    ]


#: Extra figures of the summary, each computed from the cycle and its held meetings' ids; they
#: return KeyFigure rows (kind "count", "rate" or "text").
KEY_FIGURE_SOURCES: list[Callable[[Programme, Sequence[int]], list[KeyFigure]]] = [
    satisfaction_figures
]


@dataclass
class Line:
    """One line of figures: a meeting, or one value of a breakdown, or the total."""

    label: str
    people: int = 0
    present_people: int = 0
    participations: int = 0
    present: int = 0
    marked: int = 0

    @property
    def rate(self) -> float | None:
        """Return present / marked participations, or None while none is marked."""
        return self.present / self.marked if self.marked else None


@dataclass
class Report:
    """The annual-report figures of one cycle."""

    programme: Programme
    held: list[Meeting]
    not_held: int
    total: Line
    per_meeting: list[Line]
    breakdowns: list[tuple[Breakdown, list[Line]]]
    extra: list[KeyFigure] = field(default_factory=list)
    made_at: datetime = field(default_factory=utcnow)

    @property
    def key_figures(self) -> list[KeyFigure]:
        """Return the summary: meetings held, people registered and present, rate, extras."""
        return [
            KeyFigure("Séances tenues", len(self.held)),
            KeyFigure("Personnes inscrites (différentes)", self.total.people),
            KeyFigure("Personnes présentes (différentes)", self.total.present_people),
            KeyFigure("Participations (places aux séances tenues)", self.total.participations),
            KeyFigure("Participations constatées (présents)", self.total.present),
            KeyFigure("Taux de présence", self.total.rate, "rate"),
            *self.extra,
        ]


def held_meetings(programme: Programme, now: datetime | None = None) -> list[Meeting]:
    """Return the cycle's held meetings (published and ended), in date order."""
    now = now or utcnow()
    return [
        m for m in programme.meetings if m.status is MeetingStatus.PUBLISHED and m.ends_at <= now
    ]


def _columns() -> tuple[Any, ...]:
    """Return the aggregates of a Line over seated registrations (people are distinct)."""
    present = Registration.attended.is_(True)
    return (
        func.count(func.distinct(Registration.person_id)),
        func.count(func.distinct(case((present, Registration.person_id)))),
        func.count(Registration.id),
        func.coalesce(func.sum(case((present, 1), else_=0)), 0),
        func.coalesce(func.sum(case((Registration.attended.is_not(None), 1), else_=0)), 0),
    )


def _line(label: str, values: Sequence[Any]) -> Line:
    """Return a Line from the five aggregates of _columns()."""
    return Line(label, *(int(value or 0) for value in values))


def _seated(ids: Sequence[int]):
    """Return the SELECT of seated registrations of these meetings, joined to their people."""
    return (
        db.select(*_columns())
        .select_from(Registration)
        .join(Registration.person)
        .where(Registration.meeting_id.in_(ids), Registration.state == S.SEATED)
    )


def _by_key(ids: Sequence[int], breakdown: Breakdown) -> list[Line]:
    """Return one Line per value of a breakdown's key, most people first."""
    query = _seated(ids).add_columns(breakdown.column).group_by(breakdown.column)
    lines = [
        _line(breakdown.label(row[-1]) if row[-1] else "Non renseigné", row[:-1])
        for row in db.session.execute(query)
    ]
    return sorted(lines, key=lambda line: (-line.people, line.label))


def cycle_report(programme: Programme, now: datetime | None = None) -> Report:
    """Compute the report of a cycle: a few grouped queries, whatever its size."""
    held = held_meetings(programme, now)
    ids = [m.id for m in held]
    total = _line("Total", db.session.execute(_seated(ids)).one())
    per_meeting_rows = {
        row[-1]: row[:-1]
        for row in db.session.execute(
            _seated(ids).add_columns(Registration.meeting_id).group_by(Registration.meeting_id)
        )
    }
    per_meeting = [
        _line(f"{short_date(m.starts_at)} – {staff_title(m)}", per_meeting_rows.get(m.id, ()))
        for m in held
    ]
    extra = [figure for source in KEY_FIGURE_SOURCES for figure in source(programme, ids)]
    return Report(
        programme=programme,
        held=held,
        not_held=len(programme.meetings) - len(held),
        total=total,
        per_meeting=per_meeting,
        breakdowns=[(breakdown, _by_key(ids, breakdown)) for breakdown in BREAKDOWNS],
        extra=extra,
    )


# --- XLSX ---------------------------------------------------------------------------------

#: The columns of every table of lines, on the page and in the workbook.
LINE_HEADINGS = (
    "Personnes inscrites",
    "Personnes présentes",
    "Participations",
    "Présents",
    "Présence renseignée",
    "Taux de présence",
)
RATE_FORMAT = "0%"


def _line_values(line: Line) -> list[Any]:
    """Return a line's numbers in the order of LINE_HEADINGS (the rate as a share, or None)."""
    return [
        line.people,
        line.present_people,
        line.participations,
        line.present,
        line.marked,
        line.rate,
    ]


def to_xlsx(report: Report) -> bytes:
    """Return the report as a workbook: a summary sheet, then one sheet per table.

    Numbers are number cells (rates as shares shown as %), every sheet has a bold frozen header
    with column filters, like the registration exports (irev.services.exports).
    """
    workbook = Workbook(write_only=True)
    figures = report.key_figures
    _sheet(
        workbook,
        "Synthèse",
        ("Indicateur", "Valeur"),
        [[figure.label, figure.value] for figure in figures],
        lambda row, column: column == 1 and figures[row].kind == "rate",
    )
    tables = [("Par séance", "Séance", report.per_meeting)]
    tables += [(b.title, b.heading, lines) for b, lines in report.breakdowns]
    rate_column = len(LINE_HEADINGS)
    for title, heading, lines in tables:
        rows = [[line.label, *_line_values(line)] for line in [*lines, report.total]]
        _sheet(
            workbook,
            title,
            (heading, *LINE_HEADINGS),
            rows,
            lambda row, column: column == rate_column,
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet(workbook, title: str, headings, rows, is_rate: Callable[[int, int], bool]) -> None:
    """Add one sheet: bold frozen header with filters, numbers as numbers, rates as %."""
    sheet = workbook.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headings))}{len(rows) + 1}"
    for index, heading in enumerate(headings, start=1):
        widest = max([len(str(heading)) + 3, *(len(str(r[index - 1] or "")) for r in rows)])
        sheet.column_dimensions[get_column_letter(index)].width = min(max(widest + 2, 10), 60)
    bold = Font(bold=True)
    sheet.append([_cell(sheet, heading, bold) for heading in headings])
    for row_index, row in enumerate(rows):
        sheet.append(
            [
                _cell(sheet, "—" if value is None else value, rate=is_rate(row_index, column))
                for column, value in enumerate(row)
            ]
        )


def _cell(sheet, value: Any, font: Font | None = None, rate: bool = False) -> WriteOnlyCell:
    """Return a cell: text stored as text (never a formula), a rate with the % format."""
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    elif rate:
        cell.number_format = RATE_FORMAT
    if font is not None:
        cell.font = font
    return cell


def filename(programme: Programme) -> str:
    """Return the ASCII file name of a cycle's workbook."""
    from irev.services.meetings_admin import slugify

    return f"bilan-{slugify(programme.title)[:80]}.xlsx"
