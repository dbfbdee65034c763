"""The e-mail log: every message, its state and attempts, a preview, and "send again"."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for

from irev.admin import bp
from irev.admin.common import actor, get_or_404
from irev.admin.email_labels import STATUS_LABELS
from irev.admin.forms import EmptyForm
from irev.extensions import db
from irev.models import EmailStatus, OutboundEmail
from irev.request_guards import page_number
from irev.services import email_log
from irev.services.audit import record

#: The HTML part is shown in a sandboxed frame: no script, no request, nothing from outside.
PREVIEW_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox"
)


@bp.get("/emails")
def emails():
    """List the e-mails, newest first, with a filter on their state (failures first of all)."""
    status = request.args.get("etat", "")
    if status not in {s.value for s in EmailStatus}:
        status = ""
    search = " ".join(request.args.get("q", "").split())[:100]
    page = email_log.list_emails(
        status or None, search=search, page=request.args.get("page", 1, type=page_number)
    )
    return render_template(
        "admin/emails.html",
        page=page,
        status=status,
        search=search,
        counts=email_log.count_by_status(),
        labels=STATUS_LABELS,
    )


@bp.get("/emails/<int:email_id>")
def email_detail(email_id: int):
    """Show one e-mail: its state, attempts, last error, the text sent and the raw message."""
    email = get_or_404(OutboundEmail, email_id)
    try:
        preview = _preview(email)
        preview_error = ""
    except Exception as error:  # a broken template must not hide the log entry itself
        db.session.rollback()
        preview, preview_error = None, str(error)
    return render_template(
        "admin/email_detail.html",
        email=email,
        preview=preview,
        preview_error=preview_error,
        labels=STATUS_LABELS,
        form=EmptyForm(),
    )


def _preview(email: OutboundEmail) -> dict:
    """Return the e-mail helper's preview (what was sent, or what would be sent now)."""
    from irev import notifications

    return notifications.preview(email)


@bp.get("/emails/<int:email_id>/apercu.html")
def email_html(email_id: int):
    """Serve the HTML part alone, for the sandboxed frame of the detail page."""
    email = get_or_404(OutboundEmail, email_id)
    try:
        html = _preview(email)["html"]
    except Exception:
        db.session.rollback()
        html = "<p>Aperçu indisponible.</p>"
    response = make_response(html)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Content-Security-Policy"] = PREVIEW_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.post("/emails/<int:email_id>/renvoyer")
def email_send_again(email_id: int):
    """Queue an e-mail again: a failed one goes back to pending, a sent one is copied."""
    email = get_or_404(OutboundEmail, email_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("admin.email_detail", email_id=email.id), code=303)
    before = email.status
    queued = email_log.send_again(email)
    record(
        actor(),
        "email.send_again",
        email,
        before={"status": before},
        after={"status": queued.status or EmailStatus.PENDING, "queued_id": queued.id},
    )
    db.session.commit()
    flash(
        "L'e-mail est de nouveau en attente d'envoi : il partira au prochain passage "
        "de l'envoi (30 secondes au plus).",
        "success",
    )
    return redirect(url_for("admin.email_detail", email_id=queued.id), code=303)
