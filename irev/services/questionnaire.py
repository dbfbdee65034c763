"""The satisfaction questionnaire after a meeting: its questions, its link, answers and results.

Decisions carried out here:
- The questions are data (QUESTION_SETS), each set with a version stored with every answer. A
  question key keeps one meaning across versions: a question whose meaning changes gets a new
  key, so results add up by key whatever version was answered.
- Only attendees answer (Registration.attended is True), once, through a link signed for the
  purpose "questionnaire" that names the registration, its meeting and the person's
  link_version (raising it, or erasing the person, revokes the link). The link works from any
  device for as long as the self-service link (IREV_MANAGE_LINK_MAX_AGE_DAYS).
- Anonymity: an answer is two rows written in one transaction. QuestionnaireReceipt holds only
  the registration id ("has answered", which enforces one answer per attendee);
  QuestionnaireResponse holds the ratings and the free text with the meeting id and nothing
  else: no person, no registration, no date (even a coarse one would tell who answered late),
  and a random key, so neither ids nor row order give the order of answers. Answering writes
  no audit row (its time and actor would link the two). Staff see counts, averages and the
  free texts in alphabetical order, never which attendee answered what.
- Results (counts, averages, what is hidden below a minimal number of answers) live in
  irev.services.questionnaire_results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from irev.extensions import db
from irev.models import (
    QuestionnaireReceipt,
    QuestionnaireResponse,
    Registration,
    RegistrationState,
)
from irev.tokens import ExpiredToken, InvalidToken, make_token, read_token
from irev.urls import external_url

#: The rating scale of every question.
SCALE = (1, 2, 3, 4, 5)
#: Longest free text kept (characters).
REMARK_MAX = 2000
PURPOSE = "questionnaire"


@dataclass(frozen=True)
class RatingQuestion:
    """A question answered on the scale 1 to 5, its two ends named."""

    key: str
    legend: str
    low: str  # what 1 means
    high: str  # what 5 means
    short: str  # the question in a few words, for error messages and tables


@dataclass(frozen=True)
class QuestionSet:
    """The questions of one version of the questionnaire."""

    version: int
    ratings: tuple[RatingQuestion, ...]
    remark_label: str

    def rating(self, key: str) -> RatingQuestion | None:
        """Return the question of a key, or None."""
        return next((q for q in self.ratings if q.key == key), None)


#: Every version ever used; answers keep theirs. Worded for elected officials: formal, with no
#: word that would need agreement with the respondent's gender.
QUESTION_SETS: dict[int, QuestionSet] = {
    1: QuestionSet(
        version=1,
        ratings=(
            RatingQuestion(
                "satisfaction",
                "Dans l’ensemble, quelle appréciation portez-vous sur cette rencontre ?",
                "très insatisfaisante",
                "très satisfaisante",
                "appréciation d’ensemble",
            ),
            RatingQuestion(
                "usefulness",
                "Ce que vous y avez entendu vous sera-t-il utile dans l’exercice de votre mandat ?",
                "pas du tout utile",
                "très utile",
                "utilité pour votre mandat",
            ),
            RatingQuestion(
                "exchanges",
                "Comment jugez-vous la qualité des interventions et des échanges ?",
                "très insuffisante",
                "excellente",
                "interventions et échanges",
            ),
            RatingQuestion(
                "format",
                "Le format de la rencontre (horaire, durée, déroulement) vous a-t-il convenu ?",
                "pas du tout",
                "tout à fait",
                "format de la rencontre",
            ),
            RatingQuestion(
                "recommend",
                "Recommanderiez-vous ces rencontres à d’autres élus de votre territoire ?",
                "certainement pas",
                "certainement",
                "recommandation",
            ),
        ),
        remark_label="Une remarque, une suggestion ?",
    ),
}
CURRENT_VERSION = 1
#: The question whose average stands for « satisfaction » in the cycle's figures.
SATISFACTION_KEY = "satisfaction"


def current_set() -> QuestionSet:
    """Return the question set new answers use."""
    return QUESTION_SETS[CURRENT_VERSION]


# --- the link ---------------------------------------------------------------------------------


class QuestionnaireError(Exception):
    """The questionnaire cannot be opened or answered through this link."""


class LinkInvalid(QuestionnaireError):
    """Tampered with, made for another purpose or another meeting, or revoked."""


class LinkExpired(QuestionnaireError):
    """Genuine but too old."""


class NotAnAttendee(QuestionnaireError):
    """The registration is not marked present: only attendees answer."""


class AlreadyAnswered(QuestionnaireError):
    """This registration has answered already."""


def _max_age_days() -> float:
    """Return how long a questionnaire link works (as long as the self-service link)."""
    from flask import current_app

    return float(current_app.config["IREV_MANAGE_LINK_MAX_AGE_DAYS"])


def may_answer(registration: Registration) -> bool:
    """Return True when the registration's person was present and the person still exists."""
    return (
        registration.attended is True
        and registration.state is RegistrationState.SEATED
        and registration.person.anonymised_at is None
    )


def has_answered(registration: Registration) -> bool:
    """Return True once the registration has answered."""
    return db.session.get(QuestionnaireReceipt, registration.id) is not None


def questionnaire_token(registration: Registration) -> str:
    """Return the signed token of a registration's questionnaire link."""
    payload = {
        "r": registration.id,
        "m": registration.meeting_id,
        "v": registration.person.link_version,
    }
    return make_token(PURPOSE, payload)


def questionnaire_url(registration: Registration) -> str | None:
    """Return the link to the questionnaire, or None when not an attendee or already answered."""
    if not may_answer(registration) or has_answered(registration):
        return None
    return external_url("registration.questionnaire", token=questionnaire_token(registration))


def registration_for_link(token: str) -> Registration:
    """Return the registration a link opens the questionnaire for, or raise why it cannot."""
    if len(token) > 2000:
        raise LinkInvalid()
    try:
        payload = read_token(PURPOSE, token, _max_age_days())
    except ExpiredToken as error:
        raise LinkExpired() from error
    except InvalidToken as error:
        raise LinkInvalid() from error
    registration_id, meeting_id, version = payload.get("r"), payload.get("m"), payload.get("v")
    if not all(isinstance(value, int) for value in (registration_id, meeting_id, version)):
        raise LinkInvalid()
    registration = db.session.get(Registration, registration_id)
    if (
        registration is None
        or registration.meeting_id != meeting_id
        or registration.person.anonymised_at is not None
        or registration.person.link_version != version
    ):
        raise LinkInvalid()
    if has_answered(registration):
        raise AlreadyAnswered()
    if not may_answer(registration):
        raise NotAnAttendee()
    return registration


# --- answering --------------------------------------------------------------------------------


def save_answer(
    registration: Registration, ratings: Mapping[str, int], remark: str
) -> QuestionnaireResponse:
    """Store one anonymous answer and the receipt that forbids a second. The caller commits.

    The receipt's primary key is the registration: of two answers sent at once, the database
    keeps one and the other raises AlreadyAnswered, with nothing of it saved.
    """
    questions = current_set()
    if set(ratings) != {q.key for q in questions.ratings} or any(
        value not in SCALE for value in ratings.values()
    ):
        raise ValueError("ratings do not match the question set")
    if not may_answer(registration):
        raise NotAnAttendee()
    response = QuestionnaireResponse(
        meeting_id=registration.meeting_id,
        version=questions.version,
        ratings=dict(ratings),
        remark=remark.strip()[:REMARK_MAX],
    )
    try:
        with db.session.begin_nested():
            db.session.add(QuestionnaireReceipt(registration_id=registration.id))
            db.session.add(response)
    except IntegrityError as error:
        raise AlreadyAnswered() from error
    return response


def scale_label(question: RatingQuestion, value: int) -> str:
    """Return "1 (très insatisfaisante)", "3", "5 (très satisfaisante)"."""
    if value == SCALE[0]:
        return f"{value} ({question.low})"
    if value == SCALE[-1]:
        return f"{value} ({question.high})"
    return str(value)
