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
- Results are hidden below MIN_ANSWERS answers for a meeting, and a cycle's figures add up only
  the meetings that reach it: otherwise the cycle's average minus the visible meetings' would
  give away a hidden meeting's answers. Counts of answers stay visible (they say nothing of
  their content).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from irev.extensions import db
from irev.models import (
    Meeting,
    Programme,
    QuestionnaireReceipt,
    QuestionnaireResponse,
    Registration,
    RegistrationState,
)
from irev.tokens import ExpiredToken, InvalidToken, make_token, read_token
from irev.urls import external_url

#: Below this many answers, a meeting's results are not shown (anonymity).
MIN_ANSWERS = 3
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


# --- results ----------------------------------------------------------------------------------


@dataclass
class QuestionResult:
    """How one question was answered: the count of each rating."""

    question: RatingQuestion
    counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(SCALE, 0))

    @property
    def answered(self) -> int:
        return sum(self.counts.values())

    @property
    def average(self) -> float | None:
        """Return the mean rating, or None without answers."""
        if not self.answered:
            return None
        return sum(value * count for value, count in self.counts.items()) / self.answered

    def add(self, other: QuestionResult) -> None:
        """Add another result's counts to this one."""
        for value, count in other.counts.items():
            self.counts[value] = self.counts.get(value, 0) + count


@dataclass
class MeetingLine:
    """One meeting in a cycle's results."""

    meeting: Meeting
    answers: int
    attendees: int

    @property
    def shown(self) -> bool:
        return self.answers >= MIN_ANSWERS


@dataclass
class Results:
    """The results of one meeting, or of a cycle (the meetings with enough answers)."""

    answers: int
    attendees: int
    shown: bool
    questions: list[QuestionResult] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    lines: list[MeetingLine] = field(default_factory=list)
    min_answers: int = MIN_ANSWERS

    @property
    def rate(self) -> float | None:
        """Return answers / attendees, or None without attendees."""
        return self.answers / self.attendees if self.attendees else None

    def average(self, key: str) -> float | None:
        """Return the average of one question (None when hidden or unanswered)."""
        for result in self.questions:
            if result.question.key == key:
                return result.average
        return None


def _question_for(key: str) -> RatingQuestion:
    """Return the question of a key, from the newest set that has it."""
    for version in sorted(QUESTION_SETS, reverse=True):
        question = QUESTION_SETS[version].rating(key)
        if question is not None:
            return question
    return RatingQuestion(key, key, "1", "5", key)


def tally(responses: Iterable[QuestionnaireResponse]) -> list[QuestionResult]:
    """Return the results per question key: the current set's first, then older keys."""
    results = {q.key: QuestionResult(q) for q in current_set().ratings}
    for response in responses:
        for key, value in (response.ratings or {}).items():
            if value not in SCALE:
                continue
            if key not in results:
                results[key] = QuestionResult(_question_for(key))
            results[key].counts[value] += 1
    return list(results.values())


def _answer_counts(meeting_ids: Sequence[int]) -> dict[int, int]:
    """Return the number of answers per meeting."""
    if not meeting_ids:
        return {}
    rows = db.session.execute(
        db.select(QuestionnaireResponse.meeting_id, func.count(QuestionnaireResponse.id))
        .where(QuestionnaireResponse.meeting_id.in_(meeting_ids))
        .group_by(QuestionnaireResponse.meeting_id)
    )
    return {meeting_id: count for meeting_id, count in rows}


def _attendee_counts(meeting_ids: Sequence[int]) -> dict[int, int]:
    """Return the number of attendees (present, seated) per meeting."""
    if not meeting_ids:
        return {}
    rows = db.session.execute(
        db.select(Registration.meeting_id, func.count(Registration.id))
        .where(
            Registration.meeting_id.in_(meeting_ids),
            Registration.state == RegistrationState.SEATED,
            Registration.attended.is_(True),
        )
        .group_by(Registration.meeting_id)
    )
    return {meeting_id: count for meeting_id, count in rows}


def _responses(meeting_ids: Sequence[int]) -> list[QuestionnaireResponse]:
    """Return the answers of these meetings, in an order that tells nothing (by remark)."""
    if not meeting_ids:
        return []
    return list(
        db.session.scalars(
            db.select(QuestionnaireResponse)
            .where(QuestionnaireResponse.meeting_id.in_(meeting_ids))
            .order_by(QuestionnaireResponse.remark, QuestionnaireResponse.id)
        )
    )


def meeting_results(meeting: Meeting) -> Results:
    """Return a meeting's results; only counts when it has fewer than MIN_ANSWERS answers."""
    answers = _answer_counts([meeting.id]).get(meeting.id, 0)
    attendees = _attendee_counts([meeting.id]).get(meeting.id, 0)
    results = Results(answers=answers, attendees=attendees, shown=answers >= MIN_ANSWERS)
    if results.shown:
        responses = _responses([meeting.id])
        results.questions = tally(responses)
        results.remarks = sorted((r.remark for r in responses if r.remark), key=str.casefold)
    return results


def programme_results(programme: Programme) -> Results:
    """Return a cycle's results over its meetings that reach MIN_ANSWERS, one line each."""
    meetings = list(programme.meetings)
    ids = [m.id for m in meetings]
    answers, attendees = _answer_counts(ids), _attendee_counts(ids)
    lines = [MeetingLine(m, answers.get(m.id, 0), attendees.get(m.id, 0)) for m in meetings]
    counted = [line for line in lines if line.shown]
    results = Results(
        answers=sum(line.answers for line in counted),
        attendees=sum(line.attendees for line in counted),
        shown=bool(counted),
        lines=lines,
    )
    if counted:
        results.questions = tally(_responses([line.meeting.id for line in counted]))
    return results


def line_averages(lines: Sequence[MeetingLine]) -> dict[int, dict[str, float | None]]:
    """Return, per shown meeting, the average of each question (for the cycle's table)."""
    shown = [line.meeting.id for line in lines if line.shown]
    by_meeting: dict[int, list[QuestionnaireResponse]] = {meeting_id: [] for meeting_id in shown}
    for response in _responses(shown):
        by_meeting[response.meeting_id].append(response)
    return {
        meeting_id: {r.question.key: r.average for r in tally(responses)}
        for meeting_id, responses in by_meeting.items()
    }


@dataclass(frozen=True)
class CycleSatisfaction:
    """Satisfaction of a cycle, for the annual report's figures."""

    #: Answers counted (meetings with at least MIN_ANSWERS answers only).
    answers: int
    #: Attendees of the meetings counted.
    attendees: int
    #: Meetings counted / meetings that had at least one answer.
    meetings_counted: int
    meetings_with_answers: int
    #: Average of the overall satisfaction question (1 to 5), None when nothing is counted.
    satisfaction: float | None
    #: Average of each question, by key.
    averages: dict[str, float | None]
    min_answers: int = MIN_ANSWERS

    @property
    def response_rate(self) -> float | None:
        return self.answers / self.attendees if self.attendees else None


def cycle_satisfaction(programme: Programme) -> CycleSatisfaction:
    """Return a cycle's satisfaction figures (meetings under MIN_ANSWERS answers left out)."""
    results = programme_results(programme)
    return CycleSatisfaction(
        answers=results.answers,
        attendees=results.attendees,
        meetings_counted=sum(1 for line in results.lines if line.shown),
        meetings_with_answers=sum(1 for line in results.lines if line.answers),
        satisfaction=results.average(SATISFACTION_KEY),
        averages={r.question.key: r.average for r in results.questions},
    )


def chart_bars(result: QuestionResult) -> list[dict[str, Any]]:
    """Return the bars of one question's distribution for the server-drawn SVG chart."""
    largest = max(result.counts.values(), default=0) or 1
    return [
        {
            "label": scale_label(result.question, value),
            "value": count,
            "width": round(100 * count / largest, 1),
        }
        for value, count in sorted(result.counts.items())
    ]


def scale_label(question: RatingQuestion, value: int) -> str:
    """Return "1 (très insatisfaisante)", "3", "5 (très satisfaisante)"."""
    if value == SCALE[0]:
        return f"{value} ({question.low})"
    if value == SCALE[-1]:
        return f"{value} ({question.high})"
    return str(value)


def french_average(value: float | None) -> str:
    """Return "4,2" (one decimal, French comma) or "—"."""
    return "—" if value is None else f"{value:.1f}".replace(".", ",")
