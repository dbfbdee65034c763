"""The annual report: a cycle's figures on one printable page and in one XLSX workbook.

Both roles may read it (aggregated figures, no personal data), like the other figures pages.
"""

from __future__ import annotations

from flask import Response, redirect, render_template, url_for

from irev.admin import bp
from irev.admin.common import get_or_404
from irev.models import Programme
from irev.services import annual_report
from irev.services.cycles import cycles_for_staff

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/bilan")
def report_index():
    """Open the report of the current cycle (or say there is no cycle yet)."""
    cycles = cycles_for_staff()
    if not cycles:
        return render_template("admin/report.html", report=None, cycles=[])
    return redirect(url_for("admin.cycle_report", programme_id=cycles[0].id), code=303)


@bp.get("/cycles/<int:programme_id>/bilan")
def cycle_report(programme_id: int):
    """Show a cycle's figures for the annual report, ready to print."""
    programme = get_or_404(Programme, programme_id)
    report = annual_report.cycle_report(programme)
    return render_template(
        "admin/report.html",
        report=report,
        cycles=cycles_for_staff(),
        line_headings=annual_report.LINE_HEADINGS,
    )


@bp.get("/cycles/<int:programme_id>/bilan.xlsx")
def cycle_report_xlsx(programme_id: int):
    """Download a cycle's figures for the annual report as an XLSX workbook."""
    programme = get_or_404(Programme, programme_id)
    body = annual_report.to_xlsx(annual_report.cycle_report(programme))
    response = Response(body, mimetype=XLSX)
    name = annual_report.filename(programme)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
