"""The annual report of a cycle: figures counted by hand on a small cycle, page, XLSX, access."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from irev.extensions import db
from irev.models import MeetingStatus, RegistrationState, StaffRole, utcnow
from irev.services import annual_report
from tests.admin_helpers import create_staff, sign_in

S = RegistrationState


@pytest.fixture
def cycle(create_programme, create_meeting, create_person, create_registration):
    """Two held meetings, and three that are not (cancelled, coming, draft).

    Seats at the held meetings (P present, A absent, ? not marked):
      M1: Anne P, Bruno A, Chloé P, Fabien ?      M2: Anne P, Bruno ?, Emma P
    Chloé cancelled M2 before it; David only waited for M2 and has a seat at the coming one;
    Emma also had a seat at the cancelled meeting.
    """
    programme = create_programme(title="Cycle 2027", year=2027)
    now = utcnow().replace(microsecond=0)

    def meeting(days: int, **values):
        return create_meeting(programme=programme, starts_at=now + timedelta(days=days), **values)

    m1, m2 = meeting(-60, title="Première"), meeting(-30, title="Deuxième")
    cancelled = meeting(-20, status=MeetingStatus.CANCELLED)
    coming = meeting(20)
    meeting(-10, status=MeetingStatus.DRAFT)
    people = {
        "anne": create_person(department="Nord", mandate="maire"),
        "bruno": create_person(department="Nord", mandate="adjoint"),
        "chloe": create_person(department="Pas-de-Calais", mandate="maire"),
        "david": create_person(department="Somme", mandate="adjoint"),
        "emma": create_person(department="Pas-de-Calais", mandate="adjoint"),
        "fabien": create_person(department="", mandate="maire"),
    }

    def seat(m, who, attended=None, state=S.SEATED):
        create_registration(m, people[who], state=state, attended=attended)

    seat(m1, "anne", True)
    seat(m1, "bruno", False)
    seat(m1, "chloe", True)
    seat(m1, "fabien")
    seat(m2, "anne", True)
    seat(m2, "bruno")
    seat(m2, "emma", True)
    seat(m2, "chloe", state=S.CANCELLED_BY_PERSON)
    seat(m2, "david", state=S.WAITING)
    seat(coming, "david")
    seat(cancelled, "emma", state=S.CANCELLED_BY_ORGANISER)
    db.session.commit()
    return programme


def numbers(line) -> tuple:
    return (line.people, line.present_people, line.participations, line.present, line.marked)


def test_the_figures_are_the_ones_counted_by_hand(cycle):
    report = annual_report.cycle_report(cycle)
    assert [m.title for m in report.held] == ["Première", "Deuxième"]
    assert report.not_held == 3
    # 5 different people (Anne and Bruno twice count once), 3 present, 7 seats, 4 present of 5
    # marked.
    assert numbers(report.total) == (5, 3, 7, 4, 5)
    assert report.total.rate == pytest.approx(0.8)
    assert [numbers(line) for line in report.per_meeting] == [(4, 2, 4, 2, 3), (3, 2, 3, 2, 2)]
    assert report.per_meeting[0].rate == pytest.approx(2 / 3)
    by = {breakdown.name: lines for breakdown, lines in report.breakdowns}
    assert [(line.label, numbers(line)) for line in by["departement"]] == [
        ("Nord (59)", (2, 1, 4, 2, 3)),
        ("Pas-de-Calais (62)", (2, 2, 2, 2, 2)),
        ("Non renseigné", (1, 0, 1, 0, 0)),
    ]
    assert [(line.label, numbers(line)) for line in by["epci"]] == [
        ("Non renseigné", (5, 3, 7, 4, 5))
    ]
    assert by["departement"][2].rate is None  # nothing marked: no rate, not 0 %
    assert [(line.label, numbers(line)) for line in by["mandat"]] == [
        ("Maire", (3, 2, 4, 3, 3)),
        ("Adjoint(e) au maire", (2, 1, 3, 1, 2)),
    ]
    figures = {f.label: f.value for f in report.key_figures}
    assert figures["Séances tenues"] == 2
    assert figures["Personnes inscrites (différentes)"] == 5
    assert figures["Personnes présentes (différentes)"] == 3
    assert figures["Taux de présence"] == pytest.approx(0.8)


def test_a_new_breakdown_and_an_extra_figure_plug_in(cycle, monkeypatch):
    """The lead adds EPCI and satisfaction at merge: one Breakdown, one figure source."""
    from irev.models import Person

    organisation = annual_report.Breakdown(
        "collectivite", "Collectivité", Person.organisation, str.upper, "EPCI ou commune"
    )
    monkeypatch.setattr(annual_report, "BREAKDOWNS", [*annual_report.BREAKDOWNS, organisation])
    monkeypatch.setattr(
        annual_report,
        "KEY_FIGURE_SOURCES",
        [lambda programme, ids: [annual_report.KeyFigure("Séances comptées", len(ids))]],
    )
    report = annual_report.cycle_report(cycle)
    [(_breakdown, lines)] = [(b, ls) for b, ls in report.breakdowns if b.name == "collectivite"]
    assert [(line.label, line.people) for line in lines] == [("COMMUNE DE ROUBAIX", 5)]
    assert report.key_figures[-1] == annual_report.KeyFigure("Séances comptées", 2)
    workbook = load_workbook(io.BytesIO(annual_report.to_xlsx(report)))
    assert workbook.sheetnames[-1] == "Par EPCI ou commune"
    assert workbook["Synthèse"].cell(workbook["Synthèse"].max_row, 1).value == "Séances comptées"


def test_a_cycle_without_held_meetings_reads_as_zero_not_an_error(create_programme):
    programme = create_programme()
    db.session.commit()
    report = annual_report.cycle_report(programme)
    assert numbers(report.total) == (0, 0, 0, 0, 0) and report.total.rate is None
    assert all(lines == [] for _, lines in report.breakdowns)
    workbook = load_workbook(io.BytesIO(annual_report.to_xlsx(report)))
    assert workbook["Synthèse"]["B7"].value == "—"


def test_the_page_shows_the_figures_and_prints(staff_client, cycle):
    response = staff_client.get(f"/admin/cycles/{cycle.id}/bilan")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Bilan du cycle « Cycle 2027 »" in html
    assert "2 séances tenues, 3 autres séances" in html
    assert "<dt>Personnes inscrites (différentes)</dt><dd>5</dd>" in html
    assert "<dt>Taux de présence</dt><dd>80 %</dd>" in html
    assert '<th scope="row">Pas-de-Calais (62)</th><td class="num">2</td>' in html
    assert "67 %" in html and "100 %" in html
    assert 'class="no-print"' in html
    assert "/bilan.xlsx" in html
    css = staff_client.get("/static/css/admin.css").get_data(as_text=True)
    assert "@media print" in css and ".report__table" in css


def test_the_index_opens_the_current_cycle(staff_client, cycle):
    response = staff_client.get("/admin/bilan")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/cycles/{cycle.id}/bilan")


def test_the_workbook_holds_real_numbers_filters_and_a_frozen_header(staff_client, cycle):
    response = staff_client.get(f"/admin/cycles/{cycle.id}/bilan.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert 'filename="bilan-cycle-2027.xlsx"' in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == [
        "Synthèse",
        "Par séance",
        "Par département",
        "Par EPCI",
        "Par mandat",
    ]
    summary = workbook["Synthèse"]
    values = {summary.cell(row, 1).value: summary.cell(row, 2) for row in range(2, 8)}
    assert values["Séances tenues"].value == 2
    assert values["Personnes inscrites (différentes)"].value == 5
    assert values["Taux de présence"].value == pytest.approx(0.8)
    assert values["Taux de présence"].number_format == "0%"
    for sheet in workbook.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref.startswith("A1:")
        assert sheet["A1"].font.bold
    departments = workbook["Par département"]
    rows = [[cell.value for cell in row] for row in departments.iter_rows(min_row=2)]
    assert rows[0] == ["Nord (59)", 2, 1, 4, 2, 3, pytest.approx(2 / 3)]
    assert rows[-1] == ["Total", 5, 3, 7, 4, 5, pytest.approx(0.8)]
    assert departments.auto_filter.ref == f"A1:G{len(rows) + 1}"
    assert rows[2][6] == "—"  # « Non renseigné »: nothing marked


@pytest.mark.parametrize(
    "path", ["/admin/bilan", "/admin/cycles/{id}/bilan", "/admin/cycles/{id}/bilan.xlsx"]
)
def test_both_roles_read_it_and_nobody_else(client, cycle, path):
    url = path.format(id=cycle.id)
    assert client.get(url).status_code in (302, 303)
    assert "/admin/connexion" in client.get(url).headers["Location"]
    create_staff("moderation@irev.fr", role=StaffRole.MODERATION)
    assert sign_in(client, "moderation@irev.fr").status_code == 303
    assert client.get(url).status_code in (200, 303)


@pytest.mark.parametrize("programme_id", ["0", "999999", "99999999999999999999999", "x"])
def test_an_unknown_cycle_is_a_french_404(staff_client, programme_id):
    for suffix in ("", ".xlsx"):
        response = staff_client.get(f"/admin/cycles/{programme_id}/bilan{suffix}")
        assert response.status_code == 404
        assert 'lang="fr"' in response.get_data(as_text=True)


def test_codes_group_departements_and_epci_and_satisfaction_is_counted(cycle):
    """A code from the commune and the form's answer read as one département; EPCI by SIREN;
    satisfaction from the questionnaire, once a meeting has enough answers to stay anonymous."""
    from irev.models import Registration
    from irev.services import questionnaire

    first = min(cycle.meetings, key=lambda m: m.starts_at)  # M1: Anne, Bruno, Chloé, Fabien
    seated = db.session.scalars(
        db.select(Registration).where(
            Registration.meeting_id == first.id, Registration.state == S.SEATED
        )
    ).all()
    by_name = {r.person.department + r.person.mandate: r for r in seated}
    anne, fabien = by_name["Nordmaire"], by_name["maire"]
    anne.person.department, anne.person.department_code = "", "59"
    anne.person.epci_siren = "200093201"
    fabien.person.department_code, fabien.person.epci_siren = "80", "248000531"
    db.session.flush()
    report = annual_report.cycle_report(cycle)
    by = {breakdown.name: lines for breakdown, lines in report.breakdowns}
    assert [(line.label, line.people) for line in by["departement"]] == [
        ("Nord (59)", 2),  # Anne by her commune's code, Bruno by the form's answer
        ("Pas-de-Calais (62)", 2),
        ("Somme (80)", 1),
    ]
    assert [(line.label, line.people) for line in by["epci"]] == [
        ("Non renseigné", 3),
        ("SIREN 200093201", 1),  # no territory table loaded here: the SIREN alone
        ("SIREN 248000531", 1),
    ]
    figures = {f.label: f.value for f in report.key_figures}
    assert figures["Réponses au questionnaire de satisfaction"] == 0
    assert figures["Satisfaction générale (moyenne sur 5)"] == "non calculée"

    # M1 reaches the threshold of 3 answers (Anne, Chloé, Fabien); M2 (Anne, Emma) stays hidden.
    fabien.attended = True
    ratings = {q.key: 4 for q in questionnaire.current_set().ratings}
    for registration in db.session.scalars(db.select(Registration)).all():
        if registration.attended and registration.state == S.SEATED:
            questionnaire.save_answer(registration, ratings, "")
    db.session.flush()
    figures = {f.label: f.value for f in annual_report.cycle_report(cycle).key_figures}
    assert figures["Réponses au questionnaire de satisfaction"] == 3
    assert figures["Satisfaction générale (moyenne sur 5)"] == "4,0 sur 5"
