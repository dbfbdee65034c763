"""Attendance from Zoom's participant report: parsing, matching, threshold, manual override."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from irev.extensions import db
from irev.models import AttendanceParticipant, AuditEvent, Registration
from irev.services import attendance_import as service
from irev.services.zoom_report import ReportError, parse_zoom_report, union_seconds
from tests import factories
from tests.factories import paris

# Zoom's export "with meeting data", French account: a summary, a blank line, then one row per
# connection. Camille rejoined (the two intervals overlap by 2 min 30 s), Élise has no e-mail
# and is written last name first, "iPhone de Sophie" is nobody Zoom can name, Jean's display
# name holds a comma and his town, the host account is not a guest.
FRENCH = (
    "\ufeffID de réunion,Sujet,Heure de début,Heure de fin,E-mail de l'utilisateur,"
    "Durée (minutes),Participants\n"
    "891 2345 6789,Rencontre des élus,12/04/2026 16:55:02,12/04/2026 19:04:40,"
    "rencontres-elus@irev.fr,130,6\n"
    "\n"
    "Nom (nom d'origine),E-mail de l'utilisateur,Heure d'arrivée,Heure de départ,"
    "Durée (minutes),Invité,Consentement à l'enregistrement,Dans la salle d'attente\n"
    "IREV Rencontres (Morgane Petit),rencontres-elus@irev.fr,12/04/2026 16:55:02,"
    "12/04/2026 19:04:40,130,Non,,Non\n"
    "Camille Martin,Camille.Martin@Roubaix.example,12/04/2026 17:02:10,12/04/2026 18:01:00,"
    "59,Oui,,Non\n"
    "Camille Martin,camille.martin@roubaix.example,12/04/2026 17:58:30,12/04/2026 19:00:00,"
    "62,Oui,,Non\n"
    "LE GALL Elise,,12/04/2026 17:10:00,12/04/2026 17:40:00,30,Oui,,Non\n"
    '"Dupont, Jean (Mairie de Lille)",,12/04/2026 17:00:00,12/04/2026 18:45:00,105,Oui,,Non\n'
    "iPhone de Sophie,,12/04/2026 17:05:00,12/04/2026 18:50:00,105,Oui,,Non\n"
)

# The same meeting exported from an English account: month first, 12-hour clock.
ENGLISH = (
    "Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants\n"
    "891 2345 6789,Rencontre des élus,04/12/2026 04:55:02 PM,04/12/2026 07:04:40 PM,"
    "rencontres-elus@irev.fr,130,6\n"
    "\n"
    "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest,"
    "Recording Consent,In Waiting Room\n"
    "IREV Rencontres (Morgane Petit),rencontres-elus@irev.fr,04/12/2026 04:55:02 PM,"
    "04/12/2026 07:04:40 PM,130,No,,No\n"
    "Camille Martin,camille.martin@roubaix.example,04/12/2026 05:02:10 PM,"
    "04/12/2026 06:01:00 PM,59,Yes,,No\n"
    "Camille Martin,camille.martin@roubaix.example,04/12/2026 05:58:30 PM,"
    "04/12/2026 07:00:00 PM,62,Yes,,No\n"
    "LE GALL Elise,,04/12/2026 05:10:00 PM,04/12/2026 05:40:00 PM,30,Yes,,No\n"
    '"Dupont, Jean (Mairie de Lille)",,04/12/2026 05:00:00 PM,04/12/2026 06:45:00 PM,105,'
    "Yes,,No\n"
    "iPhone de Sophie,,04/12/2026 05:05:00 PM,04/12/2026 06:50:00 PM,105,Yes,,No\n"
)


@pytest.fixture
def seated():
    """A meeting on Sunday 12 April 2026, 17 h to 19 h, with five seated registrants."""
    meeting = factories.create_meeting(starts_at=paris(2026, 4, 12, 17))
    people = {
        "camille": ("camille.martin@roubaix.example", "Camille", "Martin"),
        "elise": ("elise@lille.example", "Élise", "Le Gall"),
        "jean": ("jdupont@lille.example", "Jean", "Dupont"),
        "sophie": ("sophie.bernard@tourcoing.example", "Sophie", "Bernard"),
        "absent": ("paul@arras.example", "Paul", "Lefebvre"),
    }
    registrations = {
        key: factories.create_registration(
            meeting=meeting,
            person=factories.create_person(email=email, first_name=first, last_name=last),
        )
        for key, (email, first, last) in people.items()
    }
    db.session.commit()
    return meeting, registrations


def upload(client, meeting, text: str | bytes, name: str = "participants.csv"):
    """Post a report file to the import page."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return client.post(
        f"/admin/seances/{meeting.id}/presence/rapport",
        data={"report": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def fresh(registration: Registration) -> Registration:
    """Return the registration as stored."""
    db.session.expire_all()
    return db.session.get(Registration, registration.id)


# --- Parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [FRENCH, ENGLISH], ids=["french", "english"])
def test_report_parses_to_one_record_per_participant(app, text):
    records = parse_zoom_report(text.encode(), meeting_day=datetime(2026, 4, 12).date())
    by_name = {r.name: r for r in records}
    assert len(records) == 5  # Camille's two rows are one participant
    camille = by_name["Camille Martin"]
    assert camille.email == "camille.martin@roubaix.example"
    assert camille.lines == [6, 7]
    # 17:02:10 to 19:00:00 once the overlap is counted once: 1 h 57 min 50 s.
    assert camille.seconds == 117 * 60 + 50
    assert service.minutes(camille.seconds) == 118
    assert camille.intervals[0][0] == datetime(2026, 4, 12, 15, 2, 10, tzinfo=UTC)  # Paris UTC+2
    assert by_name["Dupont, Jean (Mairie de Lille)"].seconds == 105 * 60
    assert by_name["IREV Rencontres (Morgane Petit)"].guest is False
    assert camille.guest is True


def test_excel_resaved_report_with_semicolons_and_windows_1252_is_read(app):
    text = (
        "Nom (nom d'origine);E-mail de l'utilisateur;Heure d'arrivée;Heure de départ;"
        "Durée (minutes);Invité\r\n"
        "Élise Le Gall;;12/04/2026 17:00;12/04/2026 18:00;60;Oui\r\n"
    )
    records = parse_zoom_report(text.encode("cp1252"), meeting_day=datetime(2026, 4, 12).date())
    assert [(r.name, r.seconds) for r in records] == [("Élise Le Gall", 3600)]


def test_overlapping_and_nested_rejoins_are_counted_once():
    def at(hour, minute):
        return datetime(2026, 4, 12, hour, minute, tzinfo=UTC)

    intervals = [
        (at(17, 0), at(17, 30)),
        (at(17, 10), at(17, 20)),  # nested: a second device
        (at(17, 25), at(17, 45)),  # overlaps the first
        (at(18, 0), at(18, 15)),  # after a gap
    ]
    assert union_seconds(intervals) == (45 + 15) * 60
    assert union_seconds([]) == 0


BROKEN = [
    (
        FRENCH.replace("12/04/2026 17:10:00", "demain 17h"),
        "Ligne 8 : l'heure d'arrivée « demain 17h » est illisible",
    ),
    (
        FRENCH.replace(
            "LE GALL Elise,,12/04/2026 17:10:00,12/04/2026 17:40:00,30,Oui,,Non", "LE GALL Elise"
        ),
        "Ligne 8 : 1 colonne au lieu d'au moins 6",
    ),
    (
        FRENCH.replace("12/04/2026 17:40:00", "12/04/2026 16:40:00"),
        "Ligne 8 : l'heure de départ précède l'heure d'arrivée",
    ),
    (
        FRENCH.replace("12/04/2026 17:10:00", "20/04/2026 17:10:00"),
        "Ligne 8 : l'heure d'arrivée « 20/04/2026 17:10:00 » est illisible ou n'est pas le jour",
    ),
    (
        FRENCH.replace(",,12/04/2026 17:10", ",pas-une-adresse,12/04/2026 17:10"),
        "Ligne 8 : l'adresse e-mail « pas-une-adresse » est invalide",
    ),
    ("Prénom,Nom,Commune\nCamille,Martin,Roubaix\n", "Aucune ligne d'en-tête reconnue"),
    ("Name (Original Name),Join Time,Leave Time\n", "aucun participant"),
    ("", "Aucune ligne d'en-tête reconnue"),
]


@pytest.mark.parametrize(("text", "message"), BROKEN)
def test_a_broken_report_names_its_line(app, text, message):
    with pytest.raises(ReportError) as raised:
        parse_zoom_report(text.encode(), meeting_day=datetime(2026, 4, 12).date())
    assert message in str(raised.value)


# --- Import through the staff page ------------------------------------------------------------


def test_import_matches_by_email_then_name_and_decides_presence(staff_client, seated):
    meeting, regs = seated
    response = upload(staff_client, meeting, FRENCH)
    assert response.status_code == 303
    page = staff_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "5 participants sur 6 lignes, 3 reconnus, 2 à rapprocher" in page
    assert "iPhone de Sophie" in page

    participants = {p.name: p for p in db.session.scalars(db.select(AttendanceParticipant))}
    assert participants["Camille Martin"].matched_by == "email"
    assert participants["LE GALL Elise"].matched_by == "name"  # order, case and accents
    assert participants["Dupont, Jean (Mairie de Lille)"].registration_id == regs["jean"].id
    assert participants["iPhone de Sophie"].registration_id is None
    assert participants["IREV Rencontres (Morgane Petit)"].registration_id is None

    # Threshold 50 % of two hours: 60 minutes.
    expected = {"camille": (True, 118), "elise": (False, 30), "jean": (True, 105)}
    expected |= {"sophie": (False, 0), "absent": (False, 0)}
    for key, (attended, minutes) in expected.items():
        registration = fresh(regs[key])
        assert (registration.attended, registration.attended_minutes) == (attended, minutes), key
        assert registration.attendance_source == "import"

    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "attendance.import"))
    assert event.object_id == meeting.id
    assert event.after["matched"] == 3 and event.after["present"] == 2
    assert event.actor_type == "staff"


def test_english_report_gives_the_same_presence(staff_client, seated):
    meeting, regs = seated
    assert upload(staff_client, meeting, ENGLISH).status_code == 303
    assert fresh(regs["camille"]).attended_minutes == 118
    assert fresh(regs["jean"]).attended is True
    assert fresh(regs["elise"]).attended is False


def test_threshold_comes_from_the_programme_then_the_setting(staff_client, seated):
    meeting, regs = seated
    meeting.programme.attendance_threshold_percent = 90  # 108 minutes of 120
    db.session.commit()
    upload(staff_client, meeting, FRENCH)
    assert fresh(regs["camille"]).attended is True  # 118 min
    assert fresh(regs["jean"]).attended is False  # 105 min


@pytest.mark.parametrize("app_config", [{"IREV_ATTENDANCE_THRESHOLD_PERCENT": 20}])
def test_default_threshold_is_a_setting(staff_client, seated, app_config):
    meeting, regs = seated
    upload(staff_client, meeting, FRENCH)
    assert fresh(regs["elise"]).attended is True  # 30 min >= 24 min


def test_manual_marking_wins_over_the_report(staff_client, seated):
    meeting, regs = seated
    response = staff_client.post(
        f"/admin/seances/{meeting.id}/presence",
        data={
            f"presence-{regs['camille'].id}": "absent",
            f"presence-{regs['sophie'].id}": "present",
        },
    )
    assert response.status_code == 303
    upload(staff_client, meeting, FRENCH)
    camille, sophie = fresh(regs["camille"]), fresh(regs["sophie"])
    assert (camille.attended, camille.attendance_source, camille.attended_minutes) == (
        False,
        "manual",
        118,
    )
    assert (sophie.attended, sophie.attendance_source) == (True, "manual")
    page = staff_client.get(f"/admin/seances/{meeting.id}/presence").get_data(as_text=True)
    assert "Zoom : 118 min, marqué à la main" in page


def test_staff_match_the_rest_by_hand_and_a_new_import_keeps_it(staff_client, seated):
    meeting, regs = seated
    upload(staff_client, meeting, FRENCH)
    sophie_row = db.session.scalar(
        db.select(AttendanceParticipant).where(AttendanceParticipant.name == "iPhone de Sophie")
    )
    response = staff_client.post(
        f"/admin/seances/{meeting.id}/presence/rapport/{sophie_row.id}",
        data={"registration": str(regs["sophie"].id)},
    )
    assert response.status_code == 303
    sophie = fresh(regs["sophie"])
    assert (sophie.attended, sophie.attended_minutes) == (True, 105)
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "attendance.match"))

    upload(staff_client, meeting, FRENCH)  # the same report again
    again = db.session.scalar(
        db.select(AttendanceParticipant).where(AttendanceParticipant.name == "iPhone de Sophie")
    )
    assert (again.registration_id, again.matched_by) == (regs["sophie"].id, "manual")
    assert fresh(regs["sophie"]).attended is True

    # Undoing the match makes Sophie absent again.
    staff_client.post(
        f"/admin/seances/{meeting.id}/presence/rapport/{again.id}", data={"registration": ""}
    )
    assert fresh(regs["sophie"]).attended is False


def test_a_broken_file_is_refused_in_french_and_changes_nothing(staff_client, seated):
    meeting, regs = seated
    broken = FRENCH.replace("12/04/2026 17:10:00", "17h10")
    response = upload(staff_client, meeting, broken)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Le fichier n’a pas été importé" in html and "Ligne 8" in html
    assert "<title>Erreur : " in html
    assert db.session.scalar(db.select(db.func.count(AttendanceParticipant.id))) == 0
    assert all(fresh(r).attended is None for r in regs.values())
    assert (
        db.session.scalar(db.select(AuditEvent).where(AuditEvent.action.like("attendance%")))
        is None
    )


def test_a_broken_reimport_keeps_the_previous_one(staff_client, seated):
    meeting, regs = seated
    upload(staff_client, meeting, FRENCH)
    assert upload(staff_client, meeting, "Nom;Prénom\nx;y\n").status_code == 422
    assert db.session.scalar(db.select(db.func.count(AttendanceParticipant.id))) == 5
    assert fresh(regs["camille"]).attended is True


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\x00\x01\x02binary", "octets nuls"),
        (b"\xff\xfe\x00N\x00o\x00m", "octets nuls"),
        ("Nom (nom d'origine),Heure d'arrivée,Heure de départ\n".encode(), "aucun participant"),
    ],
)
def test_bad_bytes_get_a_french_422(staff_client, seated, body, message):
    meeting, _ = seated
    response = upload(staff_client, meeting, body)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_no_file_and_too_big_a_file_are_refused_in_french(staff_client, seated, app):
    meeting, _ = seated
    response = staff_client.post(f"/admin/seances/{meeting.id}/presence/rapport", data={})
    assert response.status_code == 422
    assert "Choisissez le fichier CSV" in response.get_data(as_text=True)
    app.config["IREV_ATTENDANCE_MAX_UPLOAD_BYTES"] = 1000
    response = upload(staff_client, meeting, FRENCH * 5)
    assert response.status_code == 413
    assert "Envoi trop volumineux" in response.get_data(as_text=True)


def test_reports_above_the_site_wide_limit_are_accepted(staff_client, seated):
    """The site refuses bodies over 64 kB; a report for a full meeting is larger."""
    meeting, regs = seated
    row = (
        "Camille Martin,camille.martin@roubaix.example,"
        "12/04/2026 17:02:10,12/04/2026 17:03:00,1,Oui,,Non\n"
    )
    big = FRENCH + row * 1000
    assert len(big.encode()) > 64 * 1024
    assert upload(staff_client, meeting, big).status_code == 303
    assert fresh(regs["camille"]).attended_minutes == 118


def test_before_the_meeting_the_import_is_refused(staff_client):
    meeting = factories.create_meeting()  # a month ahead
    db.session.commit()
    assert upload(staff_client, meeting, FRENCH).status_code == 409


def test_hand_match_refuses_a_registrant_without_a_seat(staff_client, seated):
    meeting, _regs = seated
    upload(staff_client, meeting, FRENCH)
    row = db.session.scalar(
        db.select(AttendanceParticipant).where(AttendanceParticipant.name == "iPhone de Sophie")
    )
    other = factories.create_registration()  # seated at another meeting
    db.session.commit()
    response = staff_client.post(
        f"/admin/seances/{meeting.id}/presence/rapport/{row.id}",
        data={"registration": str(other.id)},
    )
    assert response.status_code == 422
    assert "Choisissez une personne ayant une place" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(AttendanceParticipant, row.id).registration_id is None
    other_meeting_path = f"/admin/seances/{other.meeting_id}/presence/rapport/{row.id}"
    assert staff_client.post(other_meeting_path, data={"registration": ""}).status_code == 404


def test_import_is_for_staff_only(client, seated):
    meeting, _regs = seated
    for response in (
        client.get(f"/admin/seances/{meeting.id}/presence/rapport"),
        upload(client, meeting, FRENCH),
        client.post(f"/admin/seances/{meeting.id}/presence/rapport/1", data={"registration": ""}),
    ):
        assert response.status_code == 303
        assert "/admin/connexion" in response.headers["Location"]
    assert db.session.scalar(db.select(db.func.count(AttendanceParticipant.id))) == 0


def test_the_report_page_shows_the_threshold_and_the_form(staff_client, seated):
    meeting, _ = seated
    page = staff_client.get(f"/admin/seances/{meeting.id}/presence/rapport").get_data(as_text=True)
    assert "au moins 50 % de la séance" in page
    assert 'type="file"' in page and 'enctype="multipart/form-data"' in page


def test_report_rows_go_with_the_person_and_with_retention(staff_client, seated):
    from irev.services import gdpr

    meeting, regs = seated
    upload(staff_client, meeting, FRENCH)
    gdpr.anonymise(regs["camille"].person)
    db.session.commit()
    names = set(db.session.scalars(db.select(AttendanceParticipant.name)))
    assert "Camille Martin" not in names and "iPhone de Sophie" in names
    assert fresh(regs["camille"]).attended_minutes == 118  # the figures stay

    meeting.programme.retention_months = 1  # the meeting was in April 2026
    db.session.commit()
    gdpr.purge()
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(AttendanceParticipant.id))) == 0
