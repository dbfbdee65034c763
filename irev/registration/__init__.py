"""Registration: the public form, confirmation by e-mailed link, and self-service."""

from flask import Blueprint

bp = Blueprint("registration", __name__, url_prefix="/inscription")

from irev.registration import (  # noqa: E402,F401  (attach to bp)
    assistants,
    attestations,
    helpers,
    questionnaire,
    reconfirm,
    resources,
    routes,
    selfservice,
    speaker_questions,
)
