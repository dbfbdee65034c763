"""What staff see to moderate: counters per meeting, the searchable list of registrations."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.orm import contains_eager

from irev.extensions import db
from irev.models import Action, Meeting, Person, Programme, Registration, RegistrationState
from irev.services.people import EDITABLE_FIELDS
from irev.services.reference import (  # noqa: F401  (re-exported: the old import path)
    department_choices,
    department_label,
    mandate_choices,
    mandate_label,
)
from irev.wording import plural

S = RegistrationState

#: French names of the states, as staff read them.
STATE_LABELS: dict[RegistrationState, str] = {
    S.REQUESTED: "Non confirmée",
    S.SEATED: "Place attribuée",
    S.PENDING_APPROVAL: "À valider",
    S.WAITING: "Liste d'attente",
    S.REJECTED: "Refusée",
    S.CANCELLED_BY_PERSON: "Annulée par la personne",
    S.CANCELLED_BY_ORGANISER: "Annulée par l'équipe",
}

PAGE_SIZE = 50


@dataclass
class MeetingCounters:
    """Counts of one meeting's registrations, by what staff act on."""

    meeting: Meeting
    by_state: dict[RegistrationState, int] = field(default_factory=dict)

    @property
    def seated(self) -> int:
        return self.meeting.seats_taken

    @property
    def pending(self) -> int:
        return self.by_state.get(S.PENDING_APPROVAL, 0)

    @property
    def waiting(self) -> int:
        return self.by_state.get(S.WAITING, 0)

    @property
    def cancelled(self) -> int:
        return self.by_state.get(S.CANCELLED_BY_PERSON, 0) + self.by_state.get(
            S.CANCELLED_BY_ORGANISER, 0
        )

    @property
    def rejected(self) -> int:
        return self.by_state.get(S.REJECTED, 0)

    @property
    def unconfirmed(self) -> int:
        return self.by_state.get(S.REQUESTED, 0)


def counts_by_state(
    meeting_ids: list[int] | None = None,
) -> dict[int, dict[RegistrationState, int]]:
    """Return {meeting id: {state: count}} in one grouped query."""
    query = db.select(Registration.meeting_id, Registration.state, func.count()).group_by(
        Registration.meeting_id, Registration.state
    )
    if meeting_ids is not None:
        query = query.where(Registration.meeting_id.in_(meeting_ids))
    counts: dict[int, dict[RegistrationState, int]] = {}
    for meeting_id, state, count in db.session.execute(query):
        counts.setdefault(meeting_id, {})[RegistrationState(state)] = count
    return counts


def meeting_counters(meeting: Meeting) -> MeetingCounters:
    """Return the counters of one meeting (one grouped query)."""
    return MeetingCounters(meeting, counts_by_state([meeting.id]).get(meeting.id, {}))


def dashboard() -> list[MeetingCounters]:
    """Return every meeting with its counters: two queries whatever the number of meetings."""
    meetings = list(
        db.session.scalars(
            db.select(Meeting)
            .join(Meeting.programme)
            .order_by(Programme.year.desc(), Meeting.starts_at)
        )
    )
    counts = counts_by_state()
    return [MeetingCounters(m, counts.get(m.id, {})) for m in meetings]


@dataclass
class RegistrationFilters:
    """The filters of the list page, read from the query string."""

    state: str = ""
    department: str = ""
    mandate: str = ""
    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Any) -> RegistrationFilters:
        """Read and sanitise the filters; unknown values are ignored rather than refused."""
        state = args.get("etat", "")
        if state not in {s.value for s in RegistrationState}:
            state = ""
        try:
            page = min(max(int(args.get("page", 1)), 1), 100_000)  # page × size within 64 bits
        except ValueError:
            page = 1
        return cls(
            state=state,
            department=args.get("departement", "")[:60],
            mandate=args.get("mandat", "")[:60],
            q=" ".join(args.get("q", "").split())[:100],
            page=page,
        )

    def as_args(self, **changes: Any) -> dict[str, Any]:
        """Return the query-string arguments for these filters (for links and pagination)."""
        values = {
            "etat": self.state,
            "departement": self.department,
            "mandat": self.mandate,
            "q": self.q,
            "page": self.page,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None, 1)}

    @property
    def active(self) -> bool:
        return bool(self.state or self.department or self.mandate or self.q)


@dataclass
class RegistrationPage:
    """One page of a filtered list of registrations."""

    rows: list[Registration]
    total: int
    page: int
    pages: int
    waiting_positions: dict[int, int]


def _filtered(meeting: Meeting, filters: RegistrationFilters):
    """Return the filtered select of (Registration) joined to Person, without ordering."""
    query = (
        db.select(Registration)
        .join(Registration.person)
        .where(Registration.meeting_id == meeting.id)
    )
    if filters.state:
        query = query.where(Registration.state == RegistrationState(filters.state))
    if filters.department:
        query = query.where(Person.department == filters.department)
    if filters.mandate:
        query = query.where(Person.mandate == filters.mandate)
    if filters.q:
        for word in filters.q.lower().split():
            query = query.where(
                or_(
                    func.lower(Person.first_name).contains(word, autoescape=True),
                    func.lower(Person.last_name).contains(word, autoescape=True),
                    func.lower(Person.email).contains(word, autoescape=True),
                    func.lower(Person.organisation).contains(word, autoescape=True),
                )
            )
    return query


def list_registrations(meeting: Meeting, filters: RegistrationFilters) -> RegistrationPage:
    """Return one page of the meeting's registrations: a count query and a page query."""
    base = _filtered(meeting, filters)
    total = db.session.scalar(db.select(func.count()).select_from(base.subquery())) or 0
    pages = max(math.ceil(total / PAGE_SIZE), 1)
    page = min(filters.page, pages)
    if filters.state == S.WAITING.value:
        order = (Registration.state_changed_at, Registration.id)  # the queue's own order
    else:
        order = (func.lower(Person.last_name), func.lower(Person.first_name), Registration.id)
    # contains_eager: the person rides on the registration (a bare extra column could be
    # garbage-collected from the identity map and then lazy-loaded once per row).
    query = (
        base.options(contains_eager(Registration.person))
        .order_by(*order)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    rows = list(db.session.scalars(query))
    return RegistrationPage(rows, total, page, pages, waiting_positions(meeting))


def waiting_positions(meeting: Meeting) -> dict[int, int]:
    """Return {registration id: position} on the meeting's waiting list (1 is next)."""
    ids = db.session.scalars(
        db.select(Registration.id)
        .where(Registration.meeting_id == meeting.id, Registration.state == S.WAITING)
        .order_by(Registration.state_changed_at, Registration.id)
    )
    return {registration_id: index for index, registration_id in enumerate(ids, start=1)}


def registrations_of(meeting: Meeting, ids: list[int]) -> list[Registration]:
    """Return the registrations of this meeting among ids (others are ignored)."""
    if not ids:
        return []
    return list(
        db.session.scalars(
            db.select(Registration)
            .where(Registration.meeting_id == meeting.id, Registration.id.in_(ids))
            .order_by(Registration.state_changed_at, Registration.id)
        )
    )


#: The move each bulk button makes; a row offers its checkbox when one of them is allowed.
BULK_ACTION_MOVES: dict[str, Action] = {
    "valider": Action.APPROVE,
    "refuser": Action.REJECT,
    "placer": Action.PROMOTE,
}
BULK_MOVES = frozenset(BULK_ACTION_MOVES.values())

#: Person fields taken by the staff form, passed to register_by_staff(): the e-mail address
#: (the person's identity) and every field a person may correct.
PERSON_FIELDS = ("email", *EDITABLE_FIELDS)


@dataclass
class BulkReport:
    """What a bulk action did to each registration: every outcome counted apart."""

    action: str
    seated: int = 0
    waiting: int = 0
    rejected: int = 0
    #: Why the others did not move: French reason -> how many.
    refused: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return self.seated + self.waiting + self.rejected

    def refuse(self, reason: str) -> None:
        """Count one registration left as it was, for this reason."""
        self.refused[reason] = self.refused.get(reason, 0) + 1


NO_SEAT_LEFT = "plus de place libre"


def apply_bulk(
    registrations: list[Registration], action: str, actor: Any, reason: str = ""
) -> BulkReport:
    """Apply one action to each registration; report each outcome. The caller commits.

    Each registration moves in its own savepoint: one refusal (already decided, no seat left)
    does not undo the others.
    """
    from irev.services import registrations as services

    report = BulkReport(action)
    move = BULK_ACTION_MOVES[action]
    for registration in registrations:
        if move not in registration.allowed_actions():
            label = STATE_LABELS[registration.state].lower()
            report.refuse(f"déjà dans l'état « {label} »")
            continue
        with db.session.begin_nested():
            if move is Action.APPROVE:
                services.approve_registration(registration, actor)
            elif move is Action.REJECT:
                services.reject_registration(registration, actor, reason=reason.strip())
            elif not services.promote_from_waiting_list(registration, actor):
                report.refuse(NO_SEAT_LEFT)
                continue
        if registration.state is S.SEATED:
            report.seated += 1
        elif registration.state is S.WAITING:
            report.waiting += 1
        else:
            report.rejected += 1
    return report


def bulk_summary(report: BulkReport) -> str:
    """Return the French sentences that report a bulk action, one count per outcome."""
    if report.action == "valider":
        parts = []
        if report.seated:
            parts.append(f"{report.seated} avec une place")
        if report.waiting:
            parts.append(f"{report.waiting} en liste d'attente ({NO_SEAT_LEFT})")
        message = plural(
            report.done,
            "inscription validée",
            "inscriptions validées",
            "Aucune inscription validée",
        )
        message += f" : {', '.join(parts)}." if parts else "."
    elif report.action == "refuser":
        refused = plural(
            report.rejected,
            "inscription refusée",
            "inscriptions refusées",
            "Aucune inscription refusée",
        )
        message = f"{refused}."
    else:
        placed = plural(
            report.seated, "place attribuée", "places attribuées", "Aucune place attribuée"
        )
        message = f"{placed} depuis la liste d'attente."
    if report.refused:
        total = sum(report.refused.values())
        reasons = ", ".join(f"{n} {why}" for why, n in report.refused.items())
        left = plural(total, "inscription non traitée", "inscriptions non traitées")
        message += f" {left} : {reasons}."
    return message


def registered_message(results: list[Any], data: dict[str, Any], known_details: str = "") -> str:
    """Return what staff are told after registering someone by hand: what really happened.

    One MeetingResult per meeting; a person already registered keeps their state (nothing
    moved), and the sentence says whether a known person's details were kept or updated.
    """
    from irev.services.registration_moves import KEEP_DETAILS, UPDATE_DETAILS, Outcome

    name = f"{data.get('first_name', '')} {data.get('last_name', '')}".strip()
    sentences = []
    for result in results:
        label = STATE_LABELS[result.registration.state].lower() if result.registration else ""
        if result.outcome is Outcome.ALREADY:
            sentences.append(f"{name} était déjà inscrite ({label}) : rien n'a changé.")
        else:
            sentences.append(f"Inscription de {name} enregistrée : {label}.")
    if known_details == KEEP_DETAILS:
        sentences.append("Ses coordonnées enregistrées sont conservées.")
    elif known_details == UPDATE_DETAILS:
        sentences.append("Ses coordonnées sont mises à jour avec celles saisies.")
    return " ".join(sentences) or f"Inscription de {name} enregistrée."
