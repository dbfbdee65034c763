"""Small helpers shared by the admin routes: roles, responses for htmx and plain requests."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, flash, make_response, redirect, render_template, request
from flask_login import current_user

from irev.admin import safe_next
from irev.extensions import db
from irev.models import StaffUser

#: Events sent with HX-Trigger after a change, so counters on the page refresh themselves.
CHANGE_EVENTS = "seats-changed, registrations-changed"


#: The staff menu, in order: (endpoint, label). The site map lists it too, filtered by role.
STAFF_MENU: tuple[tuple[str, str], ...] = (
    ("admin.dashboard", "Tableau de bord"),
    ("admin.meetings", "Séances"),
    ("admin.cycles_list", "Cycles"),
    ("admin.figures_index", "Chiffres"),
    ("admin.people", "Personnes"),
    ("admin.emails", "E-mails"),
    ("admin.audit", "Journal"),
    ("admin.accounts", "Comptes"),
    ("admin.settings", "Réglages"),
    ("admin.accessibility_plan_edit", "Accessibilité"),
)


def admin_required(view: Callable) -> Callable:
    """Open a view to the administration role only; moderation gets the French 403 page.

    The mark left on the view lets the menu (may_use) hide what the role may not open.
    """

    @wraps(view)
    def guarded(*args, **kwargs):
        if not actor().is_admin:
            abort(403)
        return view(*args, **kwargs)

    guarded.admin_only = True
    return guarded


def may_use(endpoint: str) -> bool:
    """Return True when the signed-in account's role may open endpoint (for menus and links)."""
    view = current_app.view_functions.get(endpoint)
    if view is None:
        return False
    return not getattr(view, "admin_only", False) or (
        current_user.is_authenticated and current_user.is_admin
    )


def staff_pages() -> list[tuple[str, str]]:
    """Return the staff menu the signed-in account may open (empty for a visitor)."""
    if not (isinstance(current_user._get_current_object(), StaffUser) and current_user.is_active):
        return []
    return [(endpoint, label) for endpoint, label in STAFF_MENU if may_use(endpoint)]


def actor() -> StaffUser:
    """Return the signed-in staff account (the guard guarantees there is one)."""
    return current_user._get_current_object()


def get_or_404(model, object_id: int):
    """Return the row or answer 404."""
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def back(default: str, message: str | None = None, category: str = "success"):
    """Redirect (303) to the page named in the form's "retour" field, or to default."""
    if message:
        flash(message, category)
    return redirect(safe_next(request.form.get("retour")) or default, code=303)


def fragment(
    template: str, *, status: int = 200, announce: str = "", changed: bool = False, **context
):
    """Render an htmx fragment, with an announcement for the live region and change events."""
    body = render_template(template, **context)
    if announce:
        body += render_template("admin/_announce.html", message=announce)
    response = make_response(body, status)
    if changed:
        response.headers["HX-Trigger"] = CHANGE_EVENTS
    return response
