"""The staff area under /admin: one blueprint, guarded once for every route but sign-in."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, request, url_for
from flask_login import current_user

from irev.extensions import login_manager
from irev.models import StaffUser
from irev.services import staff

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: The only admin endpoints open without a signed-in account.
OPEN_ENDPOINTS = frozenset(
    {"admin.sign_in", "admin.forgot_password", "admin.accept_invitation", "admin.reset_password"}
)


@login_manager.user_loader
def _load_staff(token: str) -> StaffUser | None:
    """Return the active account whose current session token the cookie names."""
    return staff.get_by_session_token(token)


def safe_next(target: str | None) -> str | None:
    """Return target if it is a local admin path (never another site), else None."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin"):
        return None
    return target


def _requested_path() -> str:
    """Return the page to come back to after sign-in (the page itself for an htmx fragment)."""
    if request.htmx and request.htmx.current_url:
        parts = urlsplit(request.htmx.current_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.full_path.rstrip("?")


@bp.before_request
def _require_staff():
    """Send anyone without a signed-in, active staff account to the sign-in page."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if isinstance(current_user._get_current_object(), StaffUser) and current_user.is_active:
        return None
    target = url_for("admin.sign_in", next=safe_next(_requested_path()))
    # htmx follows this redirect; the sign-in page then asks htmx for a full-page load.
    return redirect(target, code=303)


@bp.context_processor
def _helpers() -> dict:
    """Give admin templates the French labels of stored values."""
    from irev.admin.common import STAFF_MENU, may_use
    from irev.admin.registration_rows import actions_by_state, row_links
    from irev.services import moderation

    return {
        "may_use": may_use,
        "staff_menu": STAFF_MENU,
        "mandate_label": moderation.mandate_label,
        "department_label": moderation.department_label,
        "state_labels": moderation.STATE_LABELS,
        "bulk_moves": moderation.BULK_MOVES,
        "compact": compact_datetime,
        "row_links": row_links,
        "actions_by_state": actions_by_state,
    }


def compact_datetime(moment) -> str:
    """Return "27/11/2026 22:05" in Paris time, for dense lists."""
    from irev.dates import to_paris

    return to_paris(moment).strftime("%d/%m/%Y %H:%M") if moment else ""


@bp.after_request
def _no_store(response: Response) -> Response:
    """Keep staff pages (personal data) out of every cache and of the browser's history."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


from irev.admin import (  # noqa: E402,F401  (routes attach themselves to bp)
    email_labels,
    routes_accessibility,
    routes_accounts,
    routes_attendance,
    routes_audit,
    routes_auth,
    routes_dashboard,
    routes_emails,
    routes_exports,
    routes_followup,
    routes_meetings,
    routes_people,
    routes_programmes,
    routes_questions,
    routes_report,
    routes_settings,
)
