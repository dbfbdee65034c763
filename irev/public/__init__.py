"""Public pages: the programme, meetings, calendars, legal pages."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from irev.public import helpers, routes  # noqa: E402,F401  (they attach themselves to bp)
