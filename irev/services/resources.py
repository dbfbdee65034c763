"""Resources of a meeting: files staff add after it (slides, compte rendu) and the replay link.

Decisions carried out here:

- Files live on disk in IREV_RESOURCES_DIR (empty: instance/ressources), never under static/:
  nothing reaches a browser without the download route's checks (a signed self-service link
  and a seat at the meeting, irev.registration.resources). Each file gets a random name (128
  bits, hex) with the extension of its detected type: the uploaded name never touches a path.
- The type is read from the file's first bytes (PDF, PNG, JPEG; for the ZIP-based formats the
  archive's own markers: OOXML's [Content_Types].xml and ppt/, word/ or xl/, OpenDocument's
  "mimetype" entry), and must agree with the name's extension. The browser's Content-Type is
  ignored: a program renamed .pdf is refused, whatever it claims.
- Size: IREV_RESOURCE_MAX_BYTES (20 Mo). The request limit of the upload route is that plus a
  margin for the form around the file; past it, the French 413 page names the limit.
- A file is written before its row commits and removed if the transaction rolls back; a
  removed resource's file is deleted only once the removal has committed. So a failed commit
  never leaves a row without its file, and at worst leaves a file without a row.
- Resources are not public on the meeting page: slides and comptes rendus often show
  participants' names, faces or words, and a replay shows and lets hear the officials who
  spoke. They go to the people who had a seat, by their personal link.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from irev.extensions import db
from irev.models import (
    Meeting,
    MeetingResource,
    Person,
    Registration,
    RegistrationState,
    ResourceKind,
    StaffUser,
)
from irev.services import audit


class ResourceError(ValueError):
    """A resource is refused; the French message says why, field names the form field."""

    def __init__(self, message: str, field: str = "file") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FileType:
    """A kind of file staff may add: its extension, MIME type and the name people know."""

    extension: str
    content_type: str
    label: str


TYPES: dict[str, FileType] = {
    t.extension: t
    for t in (
        FileType("pdf", "application/pdf", "PDF"),
        FileType(
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "PowerPoint",
        ),
        FileType(
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "Word",
        ),
        FileType(
            "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel"
        ),
        FileType("odt", "application/vnd.oasis.opendocument.text", "OpenDocument texte"),
        FileType(
            "odp", "application/vnd.oasis.opendocument.presentation", "OpenDocument présentation"
        ),
        FileType("png", "image/png", "image PNG"),
        FileType("jpg", "image/jpeg", "image JPEG"),
    )
}
#: The name people know a stored type by.
TYPES_BY_CONTENT = {t.content_type: t.label for t in TYPES.values()}
#: Extensions people type, to the type they mean.
EXTENSIONS = {**{ext: ext for ext in TYPES}, "jpeg": "jpg"}
ACCEPTED_TEXT = (
    "PDF, PowerPoint (.pptx), Word (.docx), Excel (.xlsx), OpenDocument (.odt, .odp), "
    "images PNG ou JPEG"
)
#: More files than this on one meeting is a mistake (and a full disk is everyone's problem).
MAX_FILES_PER_MEETING = 30
TITLE_MAX = 200
URL_MAX = 500

_ODF_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}
_OOXML_FOLDERS = (("ppt/", "pptx"), ("word/", "docx"), ("xl/", "xlsx"))

_DELETE_AFTER_COMMIT = "irev_resource_files_to_delete"
_DELETE_ON_ROLLBACK = "irev_resource_files_written"


def max_bytes() -> int:
    """Return the largest file accepted (IREV_RESOURCE_MAX_BYTES)."""
    return int(current_app.config["IREV_RESOURCE_MAX_BYTES"])


def size_text(size: int) -> str:
    """Return a size as French readers write it: « 20 Mo », « 1,5 Mo », « 800 ko »."""
    if size >= 1024 * 1024:
        value = size / (1024 * 1024)
        unit = "Mo"
    else:
        value = max(size / 1024, 1)
        unit = "ko"
    number = f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{number} {unit}"


def details(resource: MeetingResource) -> str:
    """Return "PDF, 1,2 Mo": the kind of a file and its size."""
    return f"{TYPES_BY_CONTENT.get(resource.content_type, 'fichier')}, {size_text(resource.size)}"


def too_big_message() -> str:
    """Return the French refusal of a file over the limit, naming the limit."""
    return (
        f"Le fichier dépasse {size_text(max_bytes())}, la taille maximale d’un support. "
        "Réduisez-le (un PDF est souvent plus léger) ou partagez-le par un lien."
    )


def storage_dir() -> Path:
    """Return the folder of the files (created when missing, readable by the site only)."""
    configured = str(current_app.config["IREV_RESOURCES_DIR"] or "")
    folder = Path(configured) if configured else Path(current_app.instance_path) / "ressources"
    folder.mkdir(mode=0o750, parents=True, exist_ok=True)
    return folder


def path_of(resource: MeetingResource) -> Path:
    """Return where a file resource is stored."""
    if not resource.stored_name or "/" in resource.stored_name or ".." in resource.stored_name:
        raise ResourceError("Ce support n’a pas de fichier.")
    return storage_dir() / resource.stored_name


def detect_type(data: bytes) -> str | None:
    """Return the extension of the type the content really is, or None if not accepted."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"PK\x03\x04"):
        return _zip_type(data)
    return None


def _zip_type(data: bytes) -> str | None:
    """Return "pptx", "docx", "xlsx", "odt" or "odp" from an archive's own markers, else None.

    Only the list of names and the tiny "mimetype" entry are read: nothing is unpacked.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = {info.filename: info for info in archive.infolist()}
        mimetype = infos.get("mimetype")
        if mimetype is not None and mimetype.file_size <= 100:
            return _ODF_MIMETYPES.get(archive.read(mimetype).strip())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError):
        return None
    if "[Content_Types].xml" in infos:
        for folder, extension in _OOXML_FOLDERS:
            if any(name.startswith(folder) for name in infos):
                return extension
    return None


def clean_name(name: str) -> str:
    """Return the uploaded name without path, control characters or surrounding spaces."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = " ".join(name.split()).strip(". ")
    if len(name) > 200:  # keep the extension
        stem, _dot, extension = name.rpartition(".")
        name = f"{stem[: 190 - len(extension)]}.{extension}" if stem else name[:200]
    return name


def clean_title(title: str | None, fallback: str) -> str:
    """Return the title typed (one line, 200 characters at most), or the file's name."""
    text = " ".join((title or "").split())
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise ResourceError("Le titre contient un caractère non autorisé.", "title")
    if len(text) > TITLE_MAX:
        raise ResourceError(f"Saisissez un titre de {TITLE_MAX} caractères au plus.", "title")
    return text or fallback


def check_file(name: str, data: bytes) -> FileType:
    """Return the type of an uploaded file, or raise ResourceError saying what is wrong."""
    if not name:
        raise ResourceError("Choisissez le fichier à ajouter.")
    extension = EXTENSIONS.get(name.rpartition(".")[2].lower()) if "." in name else None
    if extension is None:
        raise ResourceError(
            f"Le fichier « {name} » n’est pas d’un type accepté. Types acceptés : {ACCEPTED_TEXT}."
        )
    if not data:
        raise ResourceError(f"Le fichier « {name} » est vide.")
    if len(data) > max_bytes():
        raise ResourceError(too_big_message())
    detected = detect_type(data)
    if detected != extension:
        raise ResourceError(
            f"Le contenu du fichier « {name} » n’est pas celui d’un fichier "
            f"{TYPES[extension].label} (.{extension}) : il a peut-être été renommé ou est "
            f"abîmé. Types acceptés : {ACCEPTED_TEXT}."
        )
    return TYPES[extension]


def meeting_resources(meeting: Meeting) -> list[MeetingResource]:
    """Return the meeting's resources: files in the order added, the replay last."""
    rows = db.session.scalars(
        select(MeetingResource)
        .where(MeetingResource.meeting_id == meeting.id)
        .order_by(MeetingResource.created_at, MeetingResource.id)
    ).all()
    return sorted(rows, key=lambda r: r.kind is ResourceKind.REPLAY)


def files_of(meeting: Meeting) -> list[MeetingResource]:
    """Return the meeting's file resources."""
    return [r for r in meeting_resources(meeting) if r.kind is ResourceKind.FILE]


def replay_of(meeting: Meeting) -> MeetingResource | None:
    """Return the meeting's replay link, if set."""
    return next((r for r in meeting_resources(meeting) if r.kind is ResourceKind.REPLAY), None)


def may_open(registration: Registration) -> bool:
    """Return True when a registration opens its meeting's resources: a seat, meeting begun."""
    return registration.state is RegistrationState.SEATED and registration.meeting.is_past()


def person_may_open(person: Person, resource: MeetingResource) -> bool:
    """Return True when the person had a seat at the resource's meeting (still seated)."""
    registration = db.session.scalar(
        select(Registration).where(
            Registration.person_id == person.id,
            Registration.meeting_id == resource.meeting_id,
            Registration.state == RegistrationState.SEATED,
        )
    )
    return registration is not None and may_open(registration)


def add_file(
    meeting: Meeting, name: str, data: bytes, title: str | None, actor: StaffUser
) -> MeetingResource:
    """Check and store a file for the meeting; the row is in the session (the caller commits)."""
    name = clean_name(name)
    file_type = check_file(name, data)
    label = clean_title(title, name)
    if len(files_of(meeting)) >= MAX_FILES_PER_MEETING:
        raise ResourceError(
            f"Cette séance a déjà {MAX_FILES_PER_MEETING} supports, le maximum : "
            "retirez-en un avant d’en ajouter un autre."
        )
    stored_name = f"{secrets.token_hex(16)}.{file_type.extension}"
    _write(storage_dir() / stored_name, data)
    resource = MeetingResource(
        meeting_id=meeting.id,
        kind=ResourceKind.FILE,
        title=label,
        stored_name=stored_name,
        original_name=name,
        content_type=file_type.content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=actor.id,
    )
    db.session.add(resource)
    db.session.flush()
    audit.record(
        actor,
        "resource.add",
        meeting,
        after={"title": label, "original_name": name, "size": len(data), "resource": resource.id},
    )
    return resource


def _write(path: Path, data: bytes) -> None:
    """Write a file atomically (temporary name, then rename), removed again on rollback."""
    temporary = path.with_name(f".{path.name}.part")
    with open(temporary, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o640)
    os.replace(temporary, path)
    db.session().info.setdefault(_DELETE_ON_ROLLBACK, []).append(path)


def remove(resource: MeetingResource, actor: StaffUser) -> None:
    """Remove a resource; its file is deleted once the removal commits (the caller commits)."""
    meeting = resource.meeting
    before = {"title": resource.title}
    if resource.is_file:
        before |= {"original_name": resource.original_name, "size": resource.size}
        db.session().info.setdefault(_DELETE_AFTER_COMMIT, []).append(path_of(resource))
        action = "resource.remove"
    else:
        before["url"] = resource.url
        action = "replay.remove"
    db.session.delete(resource)
    audit.record(actor, action, meeting, before=before)


def check_replay_url(url: str) -> str:
    """Return a replay address fit to be e-mailed (https, one line, a host), or raise."""
    url = (url or "").strip()
    field = "replay_url"
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in url) or " " in url:
        raise ResourceError("Le lien du replay ne doit contenir ni espace ni saut de ligne.", field)
    if len(url) > URL_MAX:
        raise ResourceError(f"Le lien du replay doit tenir en {URL_MAX} caractères.", field)
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname or "." not in parts.hostname:
        raise ResourceError(
            "Saisissez l’adresse complète du replay, commençant par https:// "
            "(par exemple https://www.youtube.com/watch?v=…).",
            field,
        )
    if parts.username or parts.password:
        raise ResourceError("Le lien du replay ne doit pas contenir d’identifiant.", field)
    return url


def set_replay(meeting: Meeting, url: str, title: str | None, actor: StaffUser) -> bool:
    """Set (or replace) the meeting's replay link; return False when nothing changed."""
    url = check_replay_url(url)
    label = clean_title(title, "Replay de la séance")
    current = replay_of(meeting)
    if current is not None and (current.url, current.title) == (url, label):
        return False
    before = {"url": current.url} if current is not None else None
    if current is None:
        current = MeetingResource(meeting_id=meeting.id, kind=ResourceKind.REPLAY)
        db.session.add(current)
    current.url, current.title, current.uploaded_by_id = url, label, actor.id
    db.session.flush()
    audit.record(actor, "replay.set", meeting, before=before, after={"url": url})
    return True


@event.listens_for(Session, "after_commit")
def _delete_after_commit(session: Session) -> None:
    """Delete the files of resources whose removal has just committed."""
    session.info.pop(_DELETE_ON_ROLLBACK, None)
    for path in session.info.pop(_DELETE_AFTER_COMMIT, []):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _delete_on_rollback(session: Session) -> None:
    """Delete the files written for rows that will never exist (the whole transaction went)."""
    if session.in_nested_transaction():  # a savepoint: the outer transaction may still commit
        return
    session.info.pop(_DELETE_AFTER_COMMIT, None)
    for path in session.info.pop(_DELETE_ON_ROLLBACK, []):
        path.unlink(missing_ok=True)
