"""Meeting resources: upload checks (size, real type, names, URLs), storage, roles, download by
the self-service link with its headers, and erasure leaving resources alone."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from irev.extensions import db
from irev.models import (
    AuditEvent,
    MeetingResource,
    RegistrationState,
    ResourceKind,
    StaffRole,
    utcnow,
)
from irev.services import gdpr
from irev.tokens import make_token
from tests.admin_helpers import create_staff, sign_in

MAX = 64 * 1024  # a small limit keeps the tests quick; the margin for the form is 256 kB

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


def _zip(entries: dict[str, bytes]) -> bytes:
    """Return a ZIP archive holding the entries, in order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _ooxml(folder: str) -> bytes:
    return _zip({"[Content_Types].xml": b"<Types/>", f"{folder}/document.xml": b"<x/>"})


def _odf(kind: str) -> bytes:
    return _zip({"mimetype": f"application/vnd.oasis.opendocument.{kind}".encode(), "c.xml": b""})


@pytest.fixture
def app_config(tmp_path):
    return {"IREV_RESOURCES_DIR": str(tmp_path / "ressources"), "IREV_RESOURCE_MAX_BYTES": MAX}


@pytest.fixture
def past_meeting(create_meeting):
    """A meeting that ended yesterday."""
    start = utcnow() - timedelta(days=1, hours=2)
    meeting = create_meeting(starts_at=start)
    db.session.commit()
    return meeting


def stored_files(app) -> list[Path]:
    folder = Path(app.config["IREV_RESOURCES_DIR"])
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.exists() else []


def resource_count() -> int:
    return db.session.scalar(select(func.count(MeetingResource.id)))


def upload(client, meeting, name: str, data: bytes, title: str = "", **extra):
    return client.post(
        f"/admin/seances/{meeting.id}/ressources",
        data={"file": (io.BytesIO(data), name), "title": title, **extra},
        content_type="multipart/form-data",
    )


def french(response) -> str:
    return response.get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("diaporama.pdf", PDF),
        ("photo.png", PNG),
        ("photo.JPEG", JPEG),
        ("intervention.pptx", _ooxml("ppt")),
        ("compte-rendu.docx", _ooxml("word")),
        ("chiffres.xlsx", _ooxml("xl")),
        ("compte-rendu.odt", _odf("text")),
        ("support.odp", _odf("presentation")),
    ],
)
def test_accepted_files_are_stored_under_the_instance_folder_with_a_random_name(
    app, staff_client, past_meeting, name, data
):
    response = upload(staff_client, past_meeting, name, data, title="Support de l’intervention")
    assert response.status_code == 303
    resource = db.session.scalar(select(MeetingResource))
    assert resource.original_name == name and resource.size == len(data)
    assert resource.title == "Support de l’intervention"
    [path] = stored_files(app)
    assert path.name == resource.stored_name and name not in path.name
    assert path.read_bytes() == data
    assert "static" not in path.parts
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "resource.add"))
    assert audit.object_id == past_meeting.id and audit.after["original_name"] == name


def test_the_default_folder_is_the_instance_folder(app, past_meeting):
    from irev.services import resources

    app.config["IREV_RESOURCES_DIR"] = ""
    folder = resources.storage_dir()
    assert folder == Path(app.instance_path) / "ressources"


@pytest.mark.parametrize(
    ("name", "data", "status", "message"),
    [
        ("vide.pdf", b"", 422, "Le fichier « vide.pdf » est vide."),
        ("logiciel.pdf", EXE, 422, "n’est pas celui d’un fichier PDF (.pdf)"),
        ("logiciel.exe", EXE, 422, "n’est pas d’un type accepté"),
        ("sans-extension", PDF, 422, "n’est pas d’un type accepté"),
        ("image.png", PDF, 422, "n’est pas celui d’un fichier image PNG (.png)"),
        ("faux.docx", _ooxml("ppt"), 422, "n’est pas celui d’un fichier Word (.docx)"),
        ("archive.docx", _zip({"a.txt": b"x"}), 422, "n’est pas celui d’un fichier Word"),
        ("abime.pptx", b"PK\x03\x04 pas une archive", 422, "PowerPoint (.pptx)"),
        ("macro.docm", _ooxml("word"), 422, "n’est pas d’un type accepté"),
        ("juste-trop.pdf", PDF + b"0" * MAX, 422, "Le fichier dépasse 64 ko"),
        ("bien-trop.pdf", PDF + b"0" * (MAX + 300 * 1024), 413, "Le fichier dépasse 64 ko"),
    ],
)
def test_refused_files_get_a_french_4xx_and_nothing_is_saved(
    app, staff_client, past_meeting, name, data, status, message
):
    response = upload(staff_client, past_meeting, name, data)
    assert response.status_code == status
    assert message in french(response)
    assert resource_count() == 0 and stored_files(app) == []
    assert not db.session.scalar(select(AuditEvent).where(AuditEvent.action == "resource.add"))


def test_too_big_names_the_limit_on_the_french_413_page(staff_client, past_meeting):
    response = upload(staff_client, past_meeting, "gros.pdf", PDF + b"0" * (400 * 1024))
    html = french(response)
    assert response.status_code == 413
    assert "Envoi trop volumineux" in html and "la taille maximale d’un support" in html
    assert '<html lang="fr"' in html


def test_no_file_chosen_is_refused(app, staff_client, past_meeting):
    response = staff_client.post(
        f"/admin/seances/{past_meeting.id}/ressources",
        data={"title": "Rien"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "Choisissez le fichier à ajouter." in french(response)
    assert resource_count() == 0


def test_a_nul_in_the_title_is_refused_in_french(app, staff_client, past_meeting):
    response = upload(staff_client, past_meeting, "a.pdf", PDF, title="Titre\x00")
    assert response.status_code == 400 and "caractère nul" in french(response)
    assert resource_count() == 0 and stored_files(app) == []


def test_a_path_or_control_characters_in_the_name_are_dropped(app, staff_client, past_meeting):
    assert (
        upload(staff_client, past_meeting, "../../etc/Diapo\x07 finale.pdf", PDF).status_code == 303
    )
    resource = db.session.scalar(select(MeetingResource))
    assert resource.original_name == "Diapo finale.pdf" and resource.title == "Diapo finale.pdf"


def test_a_failed_commit_leaves_no_file_behind(app, past_meeting):
    from irev.services import resources

    staff = create_staff()
    resources.add_file(past_meeting, "a.pdf", PDF, "", staff)
    assert len(stored_files(app)) == 1
    db.session.rollback()
    assert stored_files(app) == []


def test_a_savepoint_rolled_back_keeps_the_file_of_the_outer_transaction(app, past_meeting):
    from irev.services import resources

    staff = create_staff()
    resources.add_file(past_meeting, "a.pdf", PDF, "", staff)
    db.session.begin_nested().rollback()  # e.g. a preview run in a savepoint
    db.session.commit()
    [path] = stored_files(app)
    assert path.read_bytes() == PDF and resource_count() == 1


def test_removing_a_file_deletes_it_once_committed(app, staff_client, past_meeting):
    upload(staff_client, past_meeting, "a.pdf", PDF, title="Diaporama")
    resource = db.session.scalar(select(MeetingResource))
    response = staff_client.post(
        f"/admin/seances/{past_meeting.id}/ressources/{resource.id}/retirer"
    )
    assert response.status_code == 303
    assert resource_count() == 0 and stored_files(app) == []
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "resource.remove"))
    assert audit.before["title"] == "Diaporama"


def test_a_resource_of_another_meeting_is_not_found(staff_client, past_meeting, create_meeting):
    upload(staff_client, past_meeting, "a.pdf", PDF)
    other = create_meeting()
    db.session.commit()
    resource = db.session.scalar(select(MeetingResource))
    assert (
        staff_client.post(f"/admin/seances/{other.id}/ressources/{resource.id}/retirer").status_code
        == 404
    )
    assert (
        staff_client.get(f"/admin/seances/{other.id}/ressources/{resource.id}").status_code == 404
    )
    assert resource_count() == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://www.youtube.com/watch?v=abc", "commençant par https://"),
        ("javascript:alert(1)", "commençant par https://"),
        ("https://", "commençant par https://"),
        ("https://localhost/replay", "commençant par https://"),
        ("https://exa mple.fr/replay", "ni espace ni saut de ligne"),
        ("https://example.fr/a\nb", "« Lien du replay » doit tenir sur une ligne."),
        ("https://moi:secret@example.fr/replay", "ne doit pas contenir d’identifiant"),
        ("https://example.fr/" + "a" * 500, "Saisissez au plus 500 caractères."),
    ],
)
def test_bad_replay_links_are_refused(staff_client, past_meeting, url, message):
    response = staff_client.post(
        f"/admin/seances/{past_meeting.id}/ressources/replay", data={"replay_url": url}
    )
    assert response.status_code == 422
    html = french(response)
    assert message in html and "<title>Erreur : " in html
    assert resource_count() == 0


def test_the_replay_is_set_replaced_and_removed(staff_client, past_meeting):
    url = f"/admin/seances/{past_meeting.id}/ressources/replay"
    assert (
        staff_client.post(url, data={"replay_url": "https://video.example.fr/1"}).status_code == 303
    )
    assert (
        staff_client.post(
            url, data={"replay_url": "https://video.example.fr/2", "replay_title": "Le replay"}
        ).status_code
        == 303
    )
    [replay] = db.session.scalars(select(MeetingResource)).all()
    assert (replay.kind, replay.url, replay.title) == (
        ResourceKind.REPLAY,
        "https://video.example.fr/2",
        "Le replay",
    )
    assert staff_client.post(url, data={"replay_url": ""}).status_code == 303
    assert resource_count() == 0
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("replay.%")).order_by(AuditEvent.id)
    ).all()
    assert actions == ["replay.set", "replay.set", "replay.remove"]


def test_a_second_replay_row_is_refused_by_the_database(app, past_meeting):
    for url in ("https://a.example.fr", "https://b.example.fr"):
        db.session.add(
            MeetingResource(
                meeting_id=past_meeting.id, kind=ResourceKind.REPLAY, title="R", url=url
            )
        )
    with pytest.raises(Exception):  # noqa: B017 (IntegrityError, whatever the driver)
        db.session.flush()
    db.session.rollback()


# --- Access by role ---------------------------------------------------------------------------

PAGES = [
    ("get", "/admin/seances/{m}/ressources"),
    ("post", "/admin/seances/{m}/ressources"),
    ("post", "/admin/seances/{m}/ressources/replay"),
    ("get", "/admin/seances/{m}/suivi"),
    ("post", "/admin/seances/{m}/suivi"),
]


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_without_an_account_every_page_sends_to_sign_in(client, past_meeting, method, path):
    response = getattr(client, method)(path.format(m=past_meeting.id))
    assert response.status_code == 303 and "/admin/connexion" in response.headers["Location"]
    assert resource_count() == 0


@pytest.mark.parametrize(("method", "path"), [p for p in PAGES if p[0] == "get"])
def test_moderation_and_administration_may_use_the_pages(client, past_meeting, method, path):
    create_staff("moderation@irev.fr", role=StaffRole.MODERATION)
    assert sign_in(client, "moderation@irev.fr").status_code == 303
    assert client.get(path.format(m=past_meeting.id)).status_code == 200


def test_moderation_may_add_a_file(app, client, past_meeting):
    create_staff("moderation@irev.fr", role=StaffRole.MODERATION)
    sign_in(client, "moderation@irev.fr")
    assert upload(client, past_meeting, "a.pdf", PDF).status_code == 303
    assert resource_count() == 1


def test_staff_open_the_file_with_safe_headers(staff_client, past_meeting):
    upload(staff_client, past_meeting, "Présentation.pdf", PDF)
    resource = db.session.scalar(select(MeetingResource))
    response = staff_client.get(f"/admin/seances/{past_meeting.id}/ressources/{resource.id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


# --- Download by the self-service link --------------------------------------------------------


def token_of(person) -> str:
    return make_token("manage", {"p": person.id, "v": person.link_version})


@pytest.fixture
def shared(app, past_meeting, create_registration):
    """A file of the past meeting, a person seated there, and the file's row."""
    from irev.services import resources

    staff = create_staff()
    resource = resources.add_file(past_meeting, "Compte rendu – séance.pdf", PDF, "", staff)
    seated = create_registration(meeting=past_meeting, attended=True)
    db.session.commit()
    return resource, seated


def test_a_person_who_had_a_seat_downloads_with_private_headers(client, shared):
    resource, seated = shared
    response = client.get(f"/inscription/gerer/{token_of(seated.person)}/ressources/{resource.id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Compte rendu _ s_ance.pdf"')
    assert "filename*=UTF-8''Compte%20rendu%20%E2%80%93%20s%C3%A9ance.pdf" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]  # nothing kept, anywhere
    assert response.headers["Referrer-Policy"] == "same-origin"  # the token stays here


def test_the_self_service_page_lists_the_resources(client, shared):
    resource, seated = shared
    html = client.get(f"/inscription/gerer/{token_of(seated.person)}").get_data(as_text=True)
    assert "Supports et replay" in html
    assert f"/ressources/{resource.id}" in html and "Compte rendu – séance.pdf" in html


def test_someone_without_a_seat_gets_a_french_403(client, shared, create_person):
    resource, _seated = shared
    stranger = create_person()
    db.session.commit()
    response = client.get(f"/inscription/gerer/{token_of(stranger)}/ressources/{resource.id}")
    assert response.status_code == 403
    assert "réservé aux personnes qui avaient une place" in french(response)
    assert PDF not in response.data


def test_a_cancelled_seat_opens_nothing(client, shared, create_registration):
    resource, seated = shared
    seated.state = RegistrationState.CANCELLED_BY_PERSON
    db.session.commit()
    response = client.get(f"/inscription/gerer/{token_of(seated.person)}/ressources/{resource.id}")
    assert response.status_code == 403


def test_a_tampered_or_revoked_link_opens_nothing(client, shared):
    resource, seated = shared
    token = token_of(seated.person)
    tampered = client.get(f"/inscription/gerer/{token[:-3]}abc/ressources/{resource.id}")
    assert tampered.status_code == 400 and "Lien incorrect" in french(tampered)
    seated.person.link_version += 1
    db.session.commit()
    revoked = client.get(f"/inscription/gerer/{token}/ressources/{resource.id}")
    assert revoked.status_code == 404 and PDF not in revoked.data


def test_an_unknown_or_replay_resource_is_not_a_download(client, shared, past_meeting):
    _resource, seated = shared
    replay = MeetingResource(
        meeting_id=past_meeting.id, kind=ResourceKind.REPLAY, title="R", url="https://v.example.fr"
    )
    db.session.add(replay)
    db.session.commit()
    token = token_of(seated.person)
    assert client.get(f"/inscription/gerer/{token}/ressources/{replay.id}").status_code == 404
    assert client.get(f"/inscription/gerer/{token}/ressources/999999").status_code == 404
    assert client.get(f"/inscription/gerer/{token}/ressources/{2**64}").status_code == 404


def test_resources_are_not_on_the_public_meeting_page(client, shared, past_meeting):
    resource, _seated = shared
    html = client.get(f"/seances/{past_meeting.slug}").get_data(as_text=True)
    assert f"/ressources/{resource.id}" not in html and resource.title not in html


def test_erasing_a_person_removes_nothing_but_their_data(app, client, shared, create_registration):
    resource, seated = shared
    other = create_registration(meeting=resource.meeting, attended=False)
    db.session.commit()
    staff = db.session.get(type(resource.uploaded_by), resource.uploaded_by_id)
    gdpr.erase(seated.person, staff)
    db.session.commit()
    assert db.session.get(MeetingResource, resource.id) is not None
    assert stored_files(app) and stored_files(app)[0].read_bytes() == PDF
    assert seated.person.anonymised_at is not None and other.person.anonymised_at is None
    # The erased person's link is dead; the other person still downloads.
    assert (
        client.get(
            f"/inscription/gerer/{token_of(other.person)}/ressources/{resource.id}"
        ).status_code
        == 200
    )
