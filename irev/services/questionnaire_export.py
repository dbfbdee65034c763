"""Spreadsheets of the questionnaire's aggregated results and of the questions for a speaker.

Only aggregates leave in the results workbook: counts and averages, with meetings under the
minimal number of answers masked as on the staff page. The free texts stay on the staff page.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

from irev.models import Programme
from irev.services import questionnaire as q
from irev.services import questionnaire_results as results
from irev.services.exports import _when
from irev.services.programmes import staff_title

Sheet = tuple[str, Sequence[str], Sequence[Sequence[Any]]]


def _cell(sheet, value: Any, bold: bool = False) -> WriteOnlyCell:
    """Return a cell whose text is stored as text, never run as a formula."""
    cell = WriteOnlyCell(sheet, value="" if value is None else value)
    if isinstance(value, str):
        cell.data_type = "s"
        if "\n" in value:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    if hasattr(value, "year"):
        cell.number_format = "dd/mm/yyyy hh:mm"
    if bold:
        cell.font = Font(bold=True)
    return cell


def workbook(sheets: Sequence[Sheet]) -> bytes:
    """Return an XLSX workbook with one sheet per (title, headers, rows), bold frozen headers."""
    book = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.freeze_panes = "A2"
        for index, header in enumerate(headers):
            widths = [len(str(header)) + 2, *(len(str(r[index])) for r in rows[:200])]
            letter = chr(ord("A") + index)
            sheet.column_dimensions[letter].width = min(max(max(widths), 10), 70)
        sheet.append([_cell(sheet, h, bold=True) for h in headers])
        for row in rows:
            sheet.append([_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rounded(value: float | None) -> float | str:
    """Return an average rounded to two decimals, or "" when there is none."""
    return "" if value is None else round(value, 2)


def results_workbook(programme: Programme) -> bytes:
    """Return the cycle's aggregated results: one sheet for the cycle, one per meeting line."""
    cycle = results.programme_results(programme)
    masked = f"masqué (moins de {results.MIN_ANSWERS} réponses)"
    cycle_rows: list[list[Any]] = [
        [r.question.legend, r.answered, _rounded(r.average), *(r.counts[v] for v in q.SCALE)]
        for r in cycle.questions
    ]
    if not cycle.shown:
        cycle_rows = [[masked, "", "", *("" for _ in q.SCALE)]]
    averages = results.line_averages(cycle.lines)
    keys = [question.key for question in q.current_set().ratings]
    meeting_rows = []
    for line in cycle.lines:
        row: list[Any] = [
            staff_title(line.meeting),
            _when(line.meeting.starts_at),
            line.attendees,
            line.answers,
        ]
        if line.shown:
            row += [_rounded(averages[line.meeting.id].get(key)) for key in keys]
        else:
            row += [masked if line.answers else "", *("" for _ in keys[1:])]
        meeting_rows.append(row)
    return workbook(
        [
            (
                "Cycle",
                ["Question", "Réponses", "Moyenne (1 à 5)", *(f"Note {v}" for v in q.SCALE)],
                cycle_rows,
            ),
            (
                "Par séance",
                [
                    "Séance",
                    "Date",
                    "Présents",
                    "Réponses",
                    *(f"Moyenne : {r.short}" for r in q.current_set().ratings),
                ],
                meeting_rows,
            ),
        ]
    )
