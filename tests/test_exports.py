"""Exports that French Excel opens (CSV with BOM and semicolons, XLSX), the attendance sheet,
attendance marking and the figures."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from irev.extensions import db
from irev.models import AuditEvent, Registration, RegistrationState, utcnow
from irev.services import exports, figures
from tests.factories import paris

S = RegistrationState


@pytest.fixture
def meeting_with_people(create_meeting, create_person, create_registration):
    """A meeting with accented names, a formula-looking organisation, and several states."""
    meeting = create_meeting(
        title="Mixité sociale : « habitat » et élus", starts_at=paris(2030, 3, 1, 17)
    )
    people = [
        create_person(
            first_name="Hélène",
            last_name="Lefèvre",
            department="Pas-de-Calais",
            organisation="Communauté d’agglomération Béthune-Bruay",
            mandate="maire",
        ),
        create_person(
            first_name="Zoé",
            last_name="Nguyễn",
            department="Nord",
            organisation='=HYPERLINK("http://evil.example";"clic")',
            mandate="adjoint",
        ),
        create_person(
            first_name="Noël",
            last_name="Ça;va",
            department="Somme",
            organisation="Ville d'Amiens\nquartier Nord",
            phone="+33 6 12 34 56 78",
        ),
    ]
    create_registration(meeting=meeting, person=people[0], state=S.SEATED)
    create_registration(meeting=meeting, person=people[1], state=S.SEATED)
    create_registration(meeting=meeting, person=people[2], state=S.WAITING)
    create_registration(meeting=meeting, state=S.REQUESTED)  # unconfirmed: not exported
    db.session.commit()
    return meeting


def test_csv_for_french_excel(staff_client, meeting_with_people):
    response = staff_client.get(f"/admin/seances/{meeting_with_people.id}/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert (
        'filename="inscriptions-2030-03-01-mixite-sociale-habitat-et-elus.csv"'
        in (response.headers["Content-Disposition"])
    )
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel then reads UTF-8
    assert b"\r\n" in body
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == list(exports.HEADERS)
    assert len(rows) == 4  # header + 3 confirmed registrations
    by_name = {row[2]: row for row in rows[1:]}
    helene = by_name["Lefèvre"]
    assert helene[3] == "Hélène"
    assert helene[6] == "Communauté d’agglomération Béthune-Bruay"
    assert helene[8] == "Pas-de-Calais"
    assert helene[9] == "Place attribuée"
    assert helene[1] == "01/03/2030 17:00"  # Paris time
    # A cell a spreadsheet would run as a formula is neutralised.
    assert by_name["Nguyễn"][6] == '\'=HYPERLINK("http://evil.example";"clic")'
    # Semicolons and line breaks inside a value survive quoting.
    assert by_name["Ça;va"][6] == "Ville d'Amiens\nquartier Nord"
    assert by_name["Ça;va"][9] == "Liste d'attente"
    assert by_name["Ça;va"][5] == "'+33 6 12 34 56 78"
    assert db.session.scalar(db.select(AuditEvent.action)) == "export.csv"


def test_xlsx_opens_in_openpyxl(staff_client, meeting_with_people):
    response = staff_client.get(f"/admin/seances/{meeting_with_people.id}/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = workbook.active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == list(exports.HEADERS)
    names = {row[2]: row for row in rows[1:]}
    assert names["Lefèvre"][3] == "Hélène"
    assert names["Lefèvre"][0] == "Mixité sociale : « habitat » et élus"
    formula = sheet.cell(row=[r[2] for r in rows].index("Nguyễn") + 1, column=7)
    assert formula.value.startswith("=HYPERLINK")
    assert formula.data_type == "s"  # stored as text, never evaluated
    assert sheet.freeze_panes == "A2"


def test_xlsx_dates_are_date_cells_with_filters_and_frozen_header(
    staff_client, create_meeting, create_registration
):
    # Summer time: 18:30 in Paris is 16:30 UTC; the cell must show the Paris wall clock.
    meeting = create_meeting(
        title="Séance d'été", starts_at=paris(2030, 7, 3, 18, 30), ends_at=paris(2030, 7, 3, 20)
    )
    create_registration(meeting=meeting, state=S.SEATED)
    create_registration(meeting=meeting, state=S.WAITING)
    db.session.commit()
    response = staff_client.get(f"/admin/seances/{meeting.id}/export.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{get_column_letter(len(exports.HEADERS))}3"
    meeting_column = exports.HEADERS.index("Date de la séance") + 1
    requested_column = exports.HEADERS.index("Demande le") + 1
    for row in (2, 3):
        cell = sheet.cell(row=row, column=meeting_column)
        assert cell.is_date and cell.data_type == "d"
        assert cell.value == datetime(2030, 7, 3, 18, 30)  # naive, Paris time
        assert cell.number_format == "dd/mm/yyyy hh:mm"
        requested = sheet.cell(row=row, column=requested_column)
        assert requested.is_date and requested.number_format == "dd/mm/yyyy hh:mm"
    # The header stays text; a name stays text.
    assert sheet.cell(row=1, column=meeting_column).data_type == "s"
    assert sheet.cell(row=2, column=1).value == "Séance d'été"


def test_xlsx_of_an_empty_meeting_still_has_its_filter(staff_client, create_meeting):
    meeting = create_meeting()
    db.session.commit()
    response = staff_client.get(f"/admin/seances/{meeting.id}/export.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert sheet.max_row == 1
    assert sheet.auto_filter.ref == f"A1:{get_column_letter(len(exports.HEADERS))}1"


def test_programme_export_holds_every_meeting(
    staff_client, meeting_with_people, create_meeting, create_registration
):
    other = create_meeting(programme=meeting_with_people.programme, title="Deuxième séance")
    create_registration(meeting=other, state=S.SEATED)
    db.session.commit()
    response = staff_client.get(f"/admin/programmes/{meeting_with_people.programme_id}/export.csv")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert {row[0] for row in rows[1:]} == {meeting_with_people.title, "Deuxième séance"}
    xlsx = staff_client.get(f"/admin/programmes/{meeting_with_people.programme_id}/export.xlsx")
    assert openpyxl.load_workbook(io.BytesIO(xlsx.data)).active.max_row == 5


def test_unknown_export_format_is_a_404(staff_client, meeting_with_people):
    assert (
        staff_client.get(f"/admin/seances/{meeting_with_people.id}/export.pdf").status_code == 404
    )


def test_attendance_sheet_lists_the_seated_only(staff_client, meeting_with_people):
    html = staff_client.get(f"/admin/seances/{meeting_with_people.id}/emargement").get_data(
        as_text=True
    )
    assert "Feuille d&#39;émargement" in html or "Feuille d'émargement" in html
    assert "LEFÈVRE" in html and "Hélène" in html
    assert "NGUYỄN" in html
    assert "Noël" not in html  # waiting list
    assert "2 personnes inscrites avec une place" in html
    assert "Signature" in html
    assert "/static/css/admin.css" in html  # its print rules hide navigation and buttons
    css = exports.__file__.rsplit("/services/", 1)[0] + "/static/css/admin.css"
    with open(css, encoding="utf-8") as stylesheet:
        assert "@media print" in stylesheet.read()


def test_attendance_is_marked_after_the_meeting(staff_client, create_meeting, create_registration):
    meeting = create_meeting(starts_at=utcnow().replace(microsecond=0) - timedelta(days=1))
    present = create_registration(meeting=meeting, state=S.SEATED)
    absent = create_registration(meeting=meeting, state=S.SEATED)
    unmarked = create_registration(meeting=meeting, state=S.SEATED)
    waiting = create_registration(meeting=meeting, state=S.WAITING)
    db.session.commit()
    page = staff_client.get(f"/admin/seances/{meeting.id}/presence").get_data(as_text=True)
    assert f'name="presence-{present.id}"' in page
    assert f'name="presence-{waiting.id}"' not in page
    response = staff_client.post(
        f"/admin/seances/{meeting.id}/presence",
        data={
            f"presence-{present.id}": "present",
            f"presence-{absent.id}": "absent",
            f"presence-{unmarked.id}": "",
            f"presence-{waiting.id}": "present",
            "presence-999999": "present",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    attended = {r.id: r.attended for r in db.session.scalars(db.select(Registration))}
    assert attended[present.id] is True
    assert attended[absent.id] is False
    assert attended[unmarked.id] is None
    assert attended[waiting.id] is None  # not seated: untouched
    events = db.session.scalars(db.select(AuditEvent).filter_by(action="registration.attendance"))
    assert sorted((e.object_id, e.after["attended"]) for e in events) == [
        (present.id, True),
        (absent.id, False),
    ]
    html = staff_client.get(f"/admin/seances/{meeting.id}/chiffres").get_data(as_text=True)
    assert "50 %" in html  # 1 present of 2 marked


def test_attendance_waits_for_the_meeting(staff_client, create_meeting, create_registration):
    meeting = create_meeting()
    seated = create_registration(meeting=meeting, state=S.SEATED)
    db.session.commit()
    html = staff_client.get(f"/admin/seances/{meeting.id}/presence").get_data(as_text=True)
    assert "une fois la séance commencée" in html
    staff_client.post(
        f"/admin/seances/{meeting.id}/presence", data={f"presence-{seated.id}": "present"}
    )
    db.session.expire_all()
    assert db.session.get(Registration, seated.id).attended is None


def test_figures_by_department_and_mandate(
    staff_client, create_meeting, create_person, create_registration
):
    first = create_meeting(starts_at=paris(2023, 3, 1, 17))
    second = create_meeting(programme=first.programme, starts_at=paris(2023, 4, 5, 17))
    rows = [
        ("Nord", "maire", True),
        ("Nord", "maire", False),
        ("Somme", "adjoint", True),
        ("Nord", "adjoint", None),
    ]
    for department, mandate, attended in rows:
        person = create_person(department=department, mandate=mandate)
        create_registration(meeting=first, person=person, state=S.SEATED, attended=attended)
    create_registration(
        meeting=second, person=create_person(department="Aisne"), state=S.SEATED, attended=True
    )
    create_registration(meeting=second, state=S.CANCELLED_BY_PERSON)
    db.session.commit()
    result = figures.programme_figures(first.programme)
    assert (result.total.seated, result.total.present, result.total.absent) == (5, 3, 1)
    assert result.total.rate == 0.75
    assert result.people == 5
    nord = next(r for r in result.by_department if r.label == "Nord")
    assert (nord.seated, nord.present, nord.absent) == (3, 1, 1)
    assert [r.seated for r in result.per_meeting] == [4, 1]
    assert result.by_state[S.CANCELLED_BY_PERSON] == 1
    html = staff_client.get(f"/admin/programmes/{first.programme_id}/chiffres").get_data(
        as_text=True
    )
    assert "<caption>Inscrits et présence par département</caption>" in html
    assert '<svg role="img" aria-labelledby="graphe-departements-titre' in html
    assert '<desc id="graphe-departements-desc">Nord : 3 ; ' in html
    assert "75 %" in html
