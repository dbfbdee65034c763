"""Questions for a meeting's speaker: asked by registrants, sorted by staff, sent to the speaker.

Decisions carried out here:
- One question per registration (the self-service page edits or withdraws it). The form's one
  optional field goes with the earliest meeting that submission newly requests: an unverified
  form never writes into someone's existing registration. A question shows to staff only once
  its registration is confirmed and still holds (seated, awaiting approval or waiting):
  a request nobody confirmed, a cancellation or a refusal take it off the list.
- The person may change or withdraw it until the meeting starts, while staff have not merged or
  answered it; a changed question goes back to « nouvelle » for staff to read again.
- Merging points a question at another one of the same meeting, which stands for both and is
  kept; a merged question's own merged ones follow it, so there is never a chain.
- What the speaker receives (export) never names anyone: by default each question with the
  askers' mandates; staff may add the communes. Names and addresses are not needed to answer a
  question (data minimisation) and the form's notice announces only the commune. Staff still
  see names on their own page, to follow up.
- Erasing a person deletes their questions (the text may identify them); questions merged into
  one of theirs become « nouvelle » again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.orm import contains_eager

from irev.extensions import db
from irev.models import (
    Meeting,
    Person,
    QuestionState,
    Registration,
    RegistrationState,
    SpeakerQuestion,
    StaffUser,
)
from irev.services import audit
from irev.services.reference import mandate_label

Q = QuestionState
S = RegistrationState

#: Longest question kept (characters), as the form says.
QUESTION_MAX = 1000
#: Registrations whose question staff see.
VISIBLE_STATES = frozenset({S.SEATED, S.PENDING_APPROVAL, S.WAITING})
#: What the person may still change.
EDITABLE_STATES = frozenset({Q.NEW, Q.KEPT})


class QuestionError(ValueError):
    """A change to a question is refused; the French message says why."""


# --- the person's side ------------------------------------------------------------------------


def question_of(registration: Registration) -> SpeakerQuestion | None:
    """Return the registration's question, or None."""
    return db.session.scalar(
        db.select(SpeakerQuestion).where(SpeakerQuestion.registration_id == registration.id)
    )


def may_ask(registration: Registration, now: datetime | None = None) -> bool:
    """Return True while the person may ask, change or withdraw a question for this meeting."""
    meeting = registration.meeting
    return registration.is_active and not meeting.is_cancelled and not meeting.is_past(now)


def editable(question: SpeakerQuestion | None) -> bool:
    """Return True when the person may still change this question (or ask one)."""
    return question is None or question.state in EDITABLE_STATES


def ask_with_request(requested: Sequence[Registration], text: str) -> SpeakerQuestion | None:
    """Attach the form's question to the earliest meeting the submission newly requests."""
    text = (text or "").strip()
    if not text or not requested:
        return None
    registration = min(requested, key=lambda r: r.meeting.starts_at)
    return set_question(registration, text, registration.person)


def set_question(registration: Registration, text: str, actor: Person) -> SpeakerQuestion:
    """Ask or change the registration's question. The caller commits."""
    text = text.strip()
    if not text:
        raise QuestionError("Saisissez votre question, ou retirez-la.")
    if not may_ask(registration):
        raise QuestionError("Cette séance a commencé : la question ne peut plus être modifiée.")
    question = question_of(registration)
    if not editable(question):
        raise QuestionError(
            "L’équipe de l’IREV a déjà traité cette question : elle ne peut plus être modifiée."
        )
    if question is None:
        question = SpeakerQuestion(
            meeting_id=registration.meeting_id, registration_id=registration.id, text=text
        )
        db.session.add(question)
        db.session.flush()
        audit.record(actor, "question.ask", registration, after={"question_id": question.id})
    elif question.text != text:
        question.text = text
        question.state = Q.NEW  # staff read the new wording again
        audit.record(actor, "question.update", registration, after={"question_id": question.id})
    return question


def withdraw(registration: Registration, actor: Person) -> bool:
    """Withdraw the registration's question; return False when there was none."""
    question = question_of(registration)
    if question is None:
        return False
    if not may_ask(registration) or not editable(question):
        raise QuestionError(
            "L’équipe de l’IREV a déjà traité cette question : elle ne peut plus être retirée."
        )
    audit.record(actor, "question.withdraw", registration, after={"question_id": question.id})
    _delete([question.id])
    return True


def _delete(question_ids: Sequence[int]) -> None:
    """Delete questions; those merged into them stand alone again, as new."""
    if not question_ids:
        return
    db.session.execute(
        update(SpeakerQuestion)
        .where(SpeakerQuestion.merged_into_id.in_(question_ids))
        .values(merged_into_id=None, state=Q.NEW)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        delete(SpeakerQuestion)
        .where(SpeakerQuestion.id.in_(question_ids))
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()


def erase_for(person: Person) -> int:
    """Delete every question the person asked (GDPR erasure); return how many."""
    ids = list(
        db.session.scalars(
            db.select(SpeakerQuestion.id)
            .join(SpeakerQuestion.registration)
            .where(Registration.person_id == person.id)
        )
    )
    _delete(ids)
    return len(ids)


def of_person(person: Person) -> list[SpeakerQuestion]:
    """Return the person's questions (for their data export)."""
    return list(
        db.session.scalars(
            db.select(SpeakerQuestion)
            .join(SpeakerQuestion.registration)
            .where(Registration.person_id == person.id)
            .order_by(SpeakerQuestion.asked_at)
        )
    )


# --- staff ------------------------------------------------------------------------------------


def meeting_questions(meeting: Meeting) -> list[SpeakerQuestion]:
    """Return the questions staff see for a meeting, oldest first."""
    return list(
        db.session.scalars(
            db.select(SpeakerQuestion)
            .join(SpeakerQuestion.registration)
            .where(
                SpeakerQuestion.meeting_id == meeting.id,
                Registration.state.in_(VISIBLE_STATES),
            )
            # The page names each asker: one query, not one per question.
            .options(contains_eager(SpeakerQuestion.registration).joinedload(Registration.person))
            .order_by(SpeakerQuestion.asked_at, SpeakerQuestion.id)
        )
    )


def visible_question(meeting: Meeting, question_id: int) -> SpeakerQuestion | None:
    """Return one question of the meeting as staff see it, or None."""
    return next((q for q in meeting_questions(meeting) if q.id == question_id), None)


def _audit(actor: StaffUser, action: str, question: SpeakerQuestion, before: Q, **after) -> None:
    """Record a staff action on a question, against its meeting (the journal links it)."""
    audit.record(
        actor,
        f"question.{action}",
        question.meeting,
        before={"question_id": question.id, "question_state": before.value},
        after={"question_id": question.id, "question_state": question.state.value, **after},
    )


def keep(question: SpeakerQuestion, actor: StaffUser) -> None:
    """Keep a question for the speaker (a merged one stands alone again)."""
    before = question.state
    question.state, question.merged_into_id = Q.KEPT, None
    _audit(actor, "keep", question, before)


def mark_answered(question: SpeakerQuestion, actor: StaffUser) -> None:
    """Mark a question answered (a merged one is answered with the one it was merged into)."""
    if question.state is Q.MERGED:
        raise QuestionError(
            "Cette question est fusionnée : marquez comme répondue la question qui la regroupe."
        )
    before = question.state
    question.state = Q.ANSWERED
    _audit(actor, "answer", question, before)


def reopen(question: SpeakerQuestion, actor: StaffUser) -> None:
    """Put a question back to « nouvelle » (undoes keep, merge or answer)."""
    before = question.state
    question.state, question.merged_into_id = Q.NEW, None
    _audit(actor, "reopen", question, before)


def merge(question: SpeakerQuestion, target: SpeakerQuestion | None, actor: StaffUser) -> None:
    """Merge a question into another of the same meeting, which is kept and stands for both."""
    if target is None or target.meeting_id != question.meeting_id:
        raise QuestionError("Choisissez, dans la liste, la question qui regroupera celle-ci.")
    if target.id == question.id:
        raise QuestionError("Une question ne peut pas être fusionnée avec elle-même.")
    if target.state is Q.MERGED:
        raise QuestionError(
            "La question choisie est elle-même fusionnée : choisissez celle qui la regroupe."
        )
    before = question.state
    # Questions merged into this one follow it: a merge never makes a chain.
    db.session.execute(
        update(SpeakerQuestion)
        .where(SpeakerQuestion.merged_into_id == question.id)
        .values(merged_into_id=target.id)
        .execution_options(synchronize_session="fetch")
    )
    question.state, question.merged_into_id = Q.MERGED, target.id
    if target.state is Q.NEW:
        target.state = Q.KEPT
    _audit(actor, "merge", question, before, merged_into=target.id)


def merge_targets(question: SpeakerQuestion, questions: Sequence[SpeakerQuestion]):
    """Return the questions this one may be merged into (same meeting, not merged, not itself)."""
    return [q for q in questions if q.id != question.id and q.state is not Q.MERGED]


# --- for the speaker --------------------------------------------------------------------------

EXPORT_HEADERS = ("N°", "Question", "Personnes", "Mandats", "Questions regroupées", "État")
COMMUNE_HEADER = "Communes ou intercommunalités"


def for_speaker(meeting: Meeting) -> list[tuple[SpeakerQuestion, list[SpeakerQuestion]]]:
    """Return the kept and answered questions, each with those merged into it."""
    questions = meeting_questions(meeting)
    merged: dict[int, list[SpeakerQuestion]] = {}
    for question in questions:
        if question.state is Q.MERGED and question.merged_into_id is not None:
            merged.setdefault(question.merged_into_id, []).append(question)
    order = {Q.KEPT: 0, Q.ANSWERED: 1}
    heads = [q for q in questions if q.state in order]
    heads.sort(key=lambda q: (order[q.state], q.asked_at, q.id))
    return [(q, merged.get(q.id, [])) for q in heads]


def askers(question: SpeakerQuestion, merged: Sequence[SpeakerQuestion]) -> tuple[str, str]:
    """Return the askers' mandates and communes, each once, as text (never their names)."""
    people = [q.registration.person for q in (question, *merged)]
    mandates = dict.fromkeys(mandate_label(p.mandate) or "mandat non indiqué" for p in people)
    communes = dict.fromkeys(p.organisation for p in people if p.organisation)
    return ", ".join(mandates), ", ".join(communes)


def export_rows(meeting: Meeting, *, with_communes: bool) -> tuple[list[str], list[list]]:
    """Return headers and rows of what the speaker receives: no name, no address."""
    headers = list(EXPORT_HEADERS)
    if with_communes:
        headers.insert(4, COMMUNE_HEADER)
    rows = []
    for question, merged in for_speaker(meeting):
        mandates, communes = askers(question, merged)
        row = [
            question.id,
            question.text,
            1 + len(merged),
            mandates,
            "\n\n".join(q.text for q in merged),
            question.state_label,
        ]
        if with_communes:
            row.insert(4, communes)
        rows.append(row)
    return headers, rows
