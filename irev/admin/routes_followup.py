"""After a meeting: its resources (files, replay link) and the follow-up e-mails, previewed."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_wtf.file import FileField
from wtforms import StringField

from irev.admin import bp
from irev.admin.common import actor, get_or_404
from irev.admin.forms import StaffForm, _max
from irev.errors import render_error
from irev.extensions import db
from irev.models import Meeting, MeetingResource
from irev.registration.resources import content_disposition
from irev.services import followup
from irev.services import resources as service
from irev.wording import plural

#: Room for the form around the file (title, token, multipart boundaries) past the file limit.
FORM_MARGIN_BYTES = 256 * 1024
UPLOAD_ENDPOINT = "admin.meeting_resources"


class ResourceFileForm(StaffForm):
    """Add one file to a meeting."""

    file = FileField("Fichier")
    title = StringField("Titre affiché aux participants", validators=[_max(service.TITLE_MAX)])


class ReplayForm(StaffForm):
    """Set the replay link of a meeting."""

    replay_url = StringField("Lien du replay", validators=[_max(service.URL_MAX)])
    replay_title = StringField("Titre du lien", validators=[_max(service.TITLE_MAX)])


def _raise_upload_limit() -> None:
    """Let a file upload past the site-wide body limit (MAX_CONTENT_LENGTH, 64 kB)."""
    if request.endpoint == UPLOAD_ENDPOINT and request.method == "POST":
        request.max_content_length = service.max_bytes() + FORM_MARGIN_BYTES


@bp.record_once
def _first_of_all(state) -> None:
    """Run _raise_upload_limit before every other hook: the NUL guard and CSRF read the body."""
    state.app.before_request_funcs.setdefault(None, []).insert(0, _raise_upload_limit)


@bp.errorhandler(413)
def _too_large(error):
    """Answer an upload over the limit with the French page naming the limit."""
    if request.endpoint == UPLOAD_ENDPOINT:
        return render_error(413, service.too_big_message())
    return render_error(413)


def _page(meeting: Meeting, file_form=None, replay_form=None, status: int = 200):
    """Render the resources page of a meeting."""
    replay = service.replay_of(meeting)
    if replay_form is None:
        replay_form = ReplayForm(
            formdata=None,
            data={"replay_url": replay.url, "replay_title": replay.title} if replay else {},
        )
    page = render_template(
        "admin/followup_resources.html",
        meeting=meeting,
        files=service.files_of(meeting),
        replay=replay,
        file_form=file_form or ResourceFileForm(formdata=None),
        replay_form=replay_form,
        max_size=service.size_text(service.max_bytes()),
        accepted=service.ACCEPTED_TEXT,
        form=file_form if file_form is not None and file_form.errors else replay_form,
    )
    return page, status


def _refused(form, error: service.ResourceError) -> None:
    """Show a refused resource beside its field."""
    name = error.field if error.field in form else next(iter(form)).name
    form[name].errors = [*form[name].errors, str(error)]


@bp.route("/seances/<int:meeting_id>/ressources", methods=["GET", "POST"])
def meeting_resources(meeting_id: int):
    """List a meeting's files and replay; add a file (checked, then stored under instance/)."""
    meeting = get_or_404(Meeting, meeting_id)
    if request.method == "GET":
        return _page(meeting)
    form = ResourceFileForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            name, data = (
                (upload.filename, upload.read(service.max_bytes() + 1)) if upload else ("", b"")
            )
            service.add_file(meeting, name or "", data, form.title.data, actor())
        except service.ResourceError as error:
            db.session.rollback()
            _refused(form, error)
        else:
            db.session.commit()
            flash(f"Support « {form.title.data or upload.filename} » ajouté.", "success")
            return redirect(url_for(UPLOAD_ENDPOINT, meeting_id=meeting.id), code=303)
    return _page(meeting, file_form=form, status=422)


@bp.post("/seances/<int:meeting_id>/ressources/replay")
def meeting_replay(meeting_id: int):
    """Set, replace or (empty address) remove the replay link of a meeting."""
    meeting = get_or_404(Meeting, meeting_id)
    form = ReplayForm()
    if form.validate_on_submit():
        try:
            if form.replay_url.data.strip():
                changed = service.set_replay(
                    meeting, form.replay_url.data, form.replay_title.data, actor()
                )
                message = "Lien du replay enregistré." if changed else "Aucune modification."
            else:
                current = service.replay_of(meeting)
                if current is not None:
                    service.remove(current, actor())
                message = "Lien du replay retiré." if current else "Aucune modification."
        except service.ResourceError as error:
            db.session.rollback()
            _refused(form, error)
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for(UPLOAD_ENDPOINT, meeting_id=meeting.id), code=303)
    return _page(meeting, replay_form=form, status=422)


def _resource_of(meeting_id: int, resource_id: int) -> tuple[Meeting, MeetingResource]:
    """Return a meeting and one of its resources, or 404."""
    meeting = get_or_404(Meeting, meeting_id)
    resource = get_or_404(MeetingResource, resource_id)
    if resource.meeting_id != meeting.id:
        abort(404)
    return meeting, resource


@bp.post("/seances/<int:meeting_id>/ressources/<int:resource_id>/retirer")
def resource_remove(meeting_id: int, resource_id: int):
    """Remove a file or the replay from a meeting (the file goes once the removal commits)."""
    meeting, resource = _resource_of(meeting_id, resource_id)
    if StaffForm().validate_on_submit():
        title = resource.title
        service.remove(resource, actor())
        db.session.commit()
        flash(f"Support « {title} » retiré.", "success")
    else:
        flash("Le formulaire a expiré : cliquez de nouveau sur « Retirer ».", "error")
    return redirect(url_for(UPLOAD_ENDPOINT, meeting_id=meeting.id), code=303)


@bp.get("/seances/<int:meeting_id>/ressources/<int:resource_id>")
def resource_file(meeting_id: int, resource_id: int):
    """Let staff open a file as participants will receive it."""
    _meeting, resource = _resource_of(meeting_id, resource_id)
    path = service.path_of(resource) if resource.is_file else None
    if path is None or not path.is_file():
        return render_error(404, "Ce fichier n’est plus disponible sur le serveur.")
    response = send_file(path, mimetype=resource.content_type, conditional=False, etag=False)
    response.headers["Content-Disposition"] = content_disposition(resource.original_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


@bp.route("/seances/<int:meeting_id>/suivi", methods=["GET", "POST"])
def meeting_followup(meeting_id: int):
    """Preview the follow-up e-mails (counts, both messages), then queue them on confirmation."""
    meeting = get_or_404(Meeting, meeting_id)
    refusal = followup.refusal(meeting)
    if request.method == "POST":
        if not StaffForm().validate_on_submit():
            flash("Le formulaire a expiré : vérifiez l’aperçu, puis confirmez de nouveau.", "error")
        elif refusal:
            return _followup_page(meeting, refusal, status=409)
        else:
            result = followup.send(meeting, actor())
            db.session.commit()
            flash(_sent_message(result), "success")
        return redirect(url_for("admin.meeting_followup", meeting_id=meeting.id), code=303)
    return _followup_page(meeting, refusal)


def _followup_page(meeting: Meeting, refusal: str, status: int = 200):
    """Render the follow-up page: the refusal, or the counts and the messages to confirm."""
    chosen, samples = (None, []) if refusal else followup.preview(meeting)
    page = render_template(
        "admin/followup.html",
        meeting=meeting,
        refusal=refusal,
        plan=chosen,
        samples=samples,
        sent=followup.sent_counts(meeting),
        files=service.files_of(meeting),
        replay=service.replay_of(meeting),
        attach=followup.attestation_by_email(),
        attended_kind=followup.ATTENDED,
    )
    return page, status


def _sent_message(result: followup.SendResult) -> str:
    """Return what a confirmation queued, in French."""
    if not result.total:
        return "Aucun nouveau message : chaque personne concernée a déjà reçu le sien."
    return (
        f"{plural(result.total, 'message de suivi mis', 'messages de suivi mis')} "
        "en file d’envoi : "
        f"{plural(result.present, 'personne présente', 'personnes présentes')}, "
        f"{plural(result.absent, 'personne absente', 'personnes absentes')}."
    )
