"""Results of the satisfaction questionnaire: counts, averages, charts, the cycle's figures.

Decisions carried out here:
- A meeting's results are hidden below MIN_ANSWERS answers, and a cycle's figures add up only
  the meetings that reach it: otherwise the cycle's average minus the visible meetings' would
  give away a hidden meeting's answers. Counts of answers stay visible (they say nothing of
  their content).
- Free texts are listed in alphabetical order, never in the order they came.
- Results add up by question key, whatever version of the questions was answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func

from irev.extensions import db
from irev.models import Meeting, Programme, QuestionnaireResponse, Registration, RegistrationState
from irev.services.questionnaire import (
    QUESTION_SETS,
    SATISFACTION_KEY,
    SCALE,
    RatingQuestion,
    current_set,
    scale_label,
)

#: Below this many answers, a meeting's results are not shown (anonymity).
MIN_ANSWERS = 3


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


def french_average(value: float | None) -> str:
    """Return "4,2" (one decimal, French comma) or "—"."""
    return "—" if value is None else f"{value:.1f}".replace(".", ",")
