"""Public pages: the programme, meetings, calendars, legal pages."""

from flask import Blueprint

from irev.services.meetings import MeetingNotFound

bp = Blueprint("public", __name__)


@bp.app_errorhandler(MeetingNotFound)
def _meeting_not_found(error: MeetingNotFound):
    """Answer the French 404 page for a meeting that is not public."""
    from irev.errors import render_error

    return render_error(404)


from irev.public import attestations, helpers, routes  # noqa: E402,F401  (they attach themselves to bp)
