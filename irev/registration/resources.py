"""The meeting's files, downloaded from the self-service link by the people who had a seat."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort, send_file

from irev.errors import render_error
from irev.extensions import db
from irev.models import MeetingResource, Person, Registration
from irev.registration import bp
from irev.registration.links import read_manage_link
from irev.services import resources as service


@bp.app_template_global()
def seat_resources(registration: Registration) -> list[MeetingResource]:
    """Return the resources a registration gives access to (a seat at a meeting that began)."""
    if not service.may_open(registration):
        return []
    return service.meeting_resources(registration.meeting)


@bp.app_template_global()
def resource_details(resource: MeetingResource) -> str:
    """Return "PDF, 1,2 Mo": the kind of file and its size."""
    return service.details(resource)


def content_disposition(name: str) -> str:
    """Return an attachment disposition: an ASCII fallback, then the real name (RFC 6266, 5987)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@bp.get("/gerer/<token>/ressources/<int:resource_id>")
def resource_download(token: str, resource_id: int):
    """Send a meeting's file to a person who had a seat at it (their signed link proves who)."""
    person: Person = read_manage_link(token)
    resource = db.session.get(MeetingResource, resource_id)
    if resource is None or not resource.is_file:
        abort(404)
    if not service.person_may_open(person, resource):
        return render_error(
            403, "Ce support est réservé aux personnes qui avaient une place à cette séance."
        )
    path = service.path_of(resource)
    if not path.is_file():
        return render_error(404, "Ce fichier n’est plus disponible. Écrivez-nous pour l’obtenir.")
    response: Response = send_file(
        path, mimetype=resource.content_type, conditional=False, etag=False, max_age=0
    )
    response.headers["Content-Disposition"] = content_disposition(resource.original_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Cache-Control: no-store and Referrer-Policy: same-origin come from the hook of every
    # page whose address holds a token (irev.security): nothing is kept, nothing leaks.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
