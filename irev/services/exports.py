"""Lists of registrations for Excel: CSV as French Excel reads it (UTF-8 BOM, semicolons, CRLF)
and XLSX (openpyxl). Cells that a spreadsheet would run as a formula are neutralised."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import contains_eager

from irev.dates import to_paris
from irev.extensions import db
from irev.models import Meeting, Person, Registration, RegistrationState
from irev.salutations import CIVILITE_LABELS
from irev.services import territories
from irev.services.assistants import assistants_by_official
from irev.services.moderation import STATE_LABELS, department_choices, mandate_choices
from irev.services.reference import needs_summary

HEADERS = (
    "Séance",
    "Date de la séance",
    "Nom",
    "Prénom",
    "E-mail",
    "Téléphone",
    "Collectivité",
    "Mandat",
    "Département",
    "État",
    "Demande le",
    "Saisie",
    "Présence",
    "Besoins d'accessibilité",
    "Précisions sur les besoins",
    # Added last: the columns before keep their place in spreadsheets built on the export.
    "Civilité",
    # From the official geographic code (services.territories): empty when the name matched none.
    "Code département",
    "Département (code officiel)",
    "SIREN EPCI",
    "EPCI",
    "Code INSEE commune",
    "Commune",
    "Assistant·e",
    "E-mail de l'assistant·e",
    "Présence reconfirmée le",
)

#: A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

ATTENDANCE_LABELS = {True: "Présent·e", False: "Absent·e", None: ""}


def neutralise(value: Any) -> Any:
    """Return text that a spreadsheet shows as text: a leading apostrophe before =, +, -, @."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


#: French day-first number format for date cells (Excel shows 01/03/2027 17:00).
DATE_FORMAT = "dd/mm/yyyy hh:mm"


def _when(moment: datetime | None) -> datetime | None:
    """Return a moment as Paris wall-clock time without a zone: Excel has no time zones."""
    return to_paris(moment).replace(tzinfo=None) if moment else None


def _as_text(value: Any) -> Any:
    """Return a date as French text (dd/mm/yyyy hh:mm) for CSV; other values unchanged."""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    return "" if value is None else value


def registrations_for(meetings: Sequence[Meeting]) -> list[Registration]:
    """Return the registrations of these meetings (confirmed ones), with people, in two queries."""
    if not meetings:
        return []
    return list(
        db.session.scalars(
            db.select(Registration)
            .join(Registration.person)
            .join(Registration.meeting)
            .where(
                Registration.meeting_id.in_([m.id for m in meetings]),
                Registration.state != RegistrationState.REQUESTED,
            )
            # One query: the joined rows fill both relationships (no per-row or batched loads).
            .options(contains_eager(Registration.person), contains_eager(Registration.meeting))
            .order_by(Meeting.starts_at, Person.last_name, Person.first_name, Registration.id)
        )
    )


def rows(registrations: Iterable[Registration]) -> list[list[Any]]:
    """Return one row per registration, in the order of HEADERS."""
    mandates = dict(mandate_choices())  # built once: thousands of rows use them
    departments = dict(department_choices())
    registrations = list(registrations)
    people = {r.person.id: r.person for r in registrations}.values()
    places = territories.describe(
        sorted(
            {p.commune_code for p in people if p.commune_code}
            | {p.epci_siren for p in people if p.epci_siren}
        )
    )
    departement_names = territories.departement_names({p.department_code for p in people})
    helpers = assistants_by_official(sorted({r.person_id for r in registrations}))
    table = []
    for r in registrations:
        p: Person = r.person
        links = helpers.get(p.id, [])
        table.append(
            [
                r.meeting.title,
                _when(r.meeting.starts_at),
                p.last_name,
                p.first_name,
                p.email,
                p.phone,
                p.organisation,
                mandates.get(p.mandate, p.mandate),
                departments.get(p.department, p.department),
                STATE_LABELS[r.state],
                _when(r.requested_at),
                "par l'équipe" if r.source == "equipe" else "formulaire",
                ATTENDANCE_LABELS[r.attended],
                needs_summary(p.accessibility_options),
                p.accessibility_needs,
                CIVILITE_LABELS.get(p.civilite, ""),
                p.department_code,
                departement_names.get(p.department_code, ""),
                p.epci_siren,
                places[p.epci_siren].name if p.epci_siren in places else "",
                p.commune_code,
                places[p.commune_code].name if p.commune_code in places else "",
                ", ".join(link.assistant.full_name for link in links),
                ", ".join(link.assistant.email for link in links),
                _when(r.reconfirmed_at),
            ]
        )
    return table


def to_csv(table: list[list[Any]], headers: Sequence[str] = HEADERS) -> bytes:
    """Return CSV bytes that French Excel opens as is: UTF-8 with BOM, ";" and CRLF."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(headers)
    for row in table:
        writer.writerow([neutralise(_as_text(v)) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(
    table: list[list[Any]], headers: Sequence[str] = HEADERS, title: str = "Inscrits"
) -> bytes:
    """Return an XLSX workbook: a bold, frozen header row with column filters, dates stored as
    date cells (Paris time, French format) and every text cell stored as text.

    Write-only mode streams the rows (thousands of registrations in a second or two).
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    last_column = get_column_letter(max(len(headers), 1))
    # The filter covers the header and every row, so each column can be sorted and filtered.
    sheet.auto_filter.ref = f"A1:{last_column}{len(table) + 1}"
    for index, header in enumerate(headers, start=1):
        sample = [len(str(_as_text(r[index - 1]))) for r in table[:500]]
        width = max([len(str(header)) + 3, *sample])  # + 3: room for the filter button
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 10), 50)
    bold = Font(bold=True)
    sheet.append([_cell(sheet, header, font=bold) for header in headers])
    for row in table:
        sheet.append([_cell(sheet, "" if value is None else value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell(sheet, value: Any, font: Font | None = None) -> WriteOnlyCell:
    """Return a cell whose text is stored as text, never as a formula; a date as a date."""
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # "=..." would otherwise be written as a formula
    elif isinstance(value, datetime):
        cell.number_format = DATE_FORMAT
    if font is not None:
        cell.font = font
    return cell


def filename(stem: str, extension: str) -> str:
    """Return an ASCII file name for a download."""
    from irev.services.meetings_admin import slugify

    return f"inscriptions-{slugify(stem)}.{extension}"


def seated_for_sheet(meeting: Meeting) -> list[Registration]:
    """Return the seated registrations of a meeting, by name, for the attendance sheet."""
    return list(
        db.session.scalars(
            db.select(Registration)
            .join(Registration.person)
            .where(
                Registration.meeting_id == meeting.id,
                Registration.state == RegistrationState.SEATED,
            )
            .options(contains_eager(Registration.person))
            .order_by(Person.last_name, Person.first_name, Registration.id)
        )
    )
