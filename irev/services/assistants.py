"""Assistants (cabinet, secrétariat) who register officials and manage their seats.

Decisions, in one place:
- An assistant is a Person like any other (one row per address), linked to each official they
  manage by an AssistantLink. The seat always belongs to the official's Person; the assistant
  holds none through the link.
- Every e-mail to an official about their registrations (kinds "*_to_registrant" sent to their
  current address) is also queued, as its own outbox row, to each of their assistants: same
  kind, same registration and meeting (so the same calendar, UID and SEQUENCE, and the same
  "no longer true" checks at sending), addressed to the assistant (context ASSISTANT_KEY).
  The copy opens with the assistant's own salutation and says whose message it is.
- The copy of a confirmation request carries a link signed for the assistant: either may
  confirm; when the assistant does, the official is told (ASSISTANT_CONFIRMED, no copy).
- A submission never rewrites an assistant already known (an unverified form), like a person.
- One self-service link (purpose "assistant", the assistant's id and link_version) opens the
  page of every official they manage; it is checked against the database (links and version).
- Erasing the official deletes their links; erasing the assistant deletes theirs, scrubs the
  copies sent to them, and raises each official's link_version (a cancellation link sent to
  the assistant must stop working); the official's seats stay.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import contains_eager

from irev.extensions import db
from irev.models import AssistantLink, EmailStatus, OutboundEmail, Person
from irev.salutations import CIVILITE_LABELS, agree, salutation_for
from irev.services.people import PersonDetails, get_or_create_person
from irev.tokens import make_token

#: Context key of a copy: the id of the assistant it is addressed to.
ASSISTANT_KEY = "assistant_id"
#: The message telling an official that their assistant confirmed for them.
ASSISTANT_CONFIRMED = "assistant_confirmed_to_registrant"
#: Kinds never copied to assistants (the assistant did it, or it is about them).
NOT_COPIED = frozenset({ASSISTANT_CONFIRMED})
#: The function an assistant may type: at most this long (the column).
FUNCTION_MAX = 100


@dataclass
class AssistantDetails:
    """What an assistant tells about themselves on the form (already validated)."""

    email: str
    first_name: str
    last_name: str
    civilite: str = ""
    function: str = ""


def link_assistant(details: AssistantDetails, official: Person) -> AssistantLink:
    """Return the link between the assistant of these details and official, creating both.

    INSERT ... ON CONFLICT DO NOTHING on the pair: two submissions racing make one link.
    A known assistant keeps their details (the form proves nothing about them).
    """
    assistant, _ = get_or_create_person(
        PersonDetails(
            email=details.email,
            first_name=details.first_name,
            last_name=details.last_name,
            civilite=details.civilite,
        )
    )
    if assistant.id == official.id:
        raise ValueError("an official cannot be their own assistant")
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(AssistantLink)
        .values(assistant_id=assistant.id, official_id=official.id, function=details.function)
        .on_conflict_do_nothing(index_elements=["assistant_id", "official_id"])
    )
    return db.session.scalars(
        select(AssistantLink).where(
            AssistantLink.assistant_id == assistant.id, AssistantLink.official_id == official.id
        )
    ).one()


#: The assistant links of a batch of e-mails, read in one query (see links_for_batch()).
_batch_links: ContextVar[dict[int, list[AssistantLink]] | None] = ContextVar(
    "irev_batch_assistant_links", default=None
)


@contextmanager
def links_for_batch(official_ids: Iterable[int | None]) -> Iterator[None]:
    """Read the assistant links of these officials once, for assistants_of() in the block.

    The mail worker renders a batch of messages naming each official's assistants: one
    statement for the batch instead of one a message. The links are those of the batch's
    start; the memo ends with the block, so a long-running worker reads them afresh for its
    next batch (an assistant added or withdrawn in between is seen there).
    """
    wanted = sorted({official_id for official_id in official_ids if official_id is not None})
    token = _batch_links.set(
        {official_id: [] for official_id in wanted} | assistants_by_official(wanted)
    )
    try:
        yield
    finally:
        _batch_links.reset(token)


def assistants_of(official: Person) -> list[AssistantLink]:
    """Return the links of an official to their assistants (erased ones excluded)."""
    known = _batch_links.get()
    if known is not None and official.id in known:
        return list(known[official.id])
    return list(
        db.session.scalars(
            select(AssistantLink)
            .join(AssistantLink.assistant)
            .options(contains_eager(AssistantLink.assistant))
            .where(AssistantLink.official_id == official.id, Person.anonymised_at.is_(None))
            .order_by(AssistantLink.id)
        )
    )


def officials_of(assistant: Person) -> list[AssistantLink]:
    """Return the links of an assistant to the officials they manage, by name."""
    return list(
        db.session.scalars(
            select(AssistantLink)
            .join(AssistantLink.official)
            .options(contains_eager(AssistantLink.official))
            .where(AssistantLink.assistant_id == assistant.id, Person.anonymised_at.is_(None))
            .order_by(Person.last_name, Person.first_name, Person.id)
        )
    )


def link_between(assistant_id: int, official_id: int) -> AssistantLink | None:
    """Return the link of this assistant to this official, if it exists."""
    return db.session.scalars(
        select(AssistantLink).where(
            AssistantLink.assistant_id == assistant_id, AssistantLink.official_id == official_id
        )
    ).first()


def assistants_by_official(official_ids: list[int]) -> dict[int, list[AssistantLink]]:
    """Return the assistant links of several officials at once (staff lists, exports)."""
    found: dict[int, list[AssistantLink]] = {}
    if not official_ids:
        return found
    rows = db.session.scalars(
        select(AssistantLink)
        .join(AssistantLink.assistant)
        .options(contains_eager(AssistantLink.assistant))
        .where(AssistantLink.official_id.in_(official_ids), Person.anonymised_at.is_(None))
        .order_by(AssistantLink.id)
    )
    for link in rows:
        found.setdefault(link.official_id, []).append(link)
    return found


# --- links in e-mails -------------------------------------------------------------------------


def assistant_token(assistant: Person) -> str:
    """Return the signed token of an assistant's self-service page."""
    return make_token("assistant", {"a": assistant.id, "v": assistant.link_version})


def assistant_url(assistant: Person) -> str:
    """Return the e-mailed link of an assistant's self-service page."""
    from irev.urls import external_url

    return external_url("registration.assistant_page", token=assistant_token(assistant))


def confirm_link(official_id: int, key: str, assistant_id: int | None = None) -> str:
    """Return the link confirming a request; the assistant's copy names who confirms."""
    from irev.urls import external_url

    payload: dict[str, Any] = {"k": key, "p": official_id}
    if assistant_id is not None:
        payload["a"] = assistant_id
    return external_url("registration.confirm", token=make_token("confirm", payload))


# --- copies of the official's e-mails ----------------------------------------------------------


def copies(rows: list[dict[str, Any]], person_emails: dict[int, str]) -> list[dict[str, Any]]:
    """Return the outbox rows copying these new rows to the officials' assistants.

    A row is copied when it is a message to a registrant at their current address (not an
    old address, not a farewell to an erased person). `person_emails` gives each row's
    person's current address.
    """
    wanted = [
        row
        for row in rows
        if row["person_id"] is not None
        and row["kind"].endswith("_to_registrant")
        and row["kind"] not in NOT_COPIED
        and ASSISTANT_KEY not in row["context"]
        and "erased" not in row["context"]
        and row["to_address"] == person_emails.get(row["person_id"])
    ]
    links = assistants_by_official(sorted({row["person_id"] for row in wanted}))
    extra = []
    for row in wanted:
        for link in links.get(row["person_id"], []):
            assistant = link.assistant
            context = {**row["context"], ASSISTANT_KEY: assistant.id}
            if "request_key" in context:
                context["confirm_url"] = confirm_link(
                    row["person_id"], context["request_key"], assistant.id
                )
            extra.append(
                {
                    **row,
                    "dedupe_key": f"{row['dedupe_key']}:assistant:{assistant.id}"[:200],
                    "to_address": assistant.email,
                    "to_name": assistant.full_name,
                    "context": context,
                }
            )
    return extra


def is_copy(email: OutboundEmail) -> bool:
    """Return True when an outbox row is an assistant's copy."""
    return ASSISTANT_KEY in (email.context or {})


def copy_recipient(email: OutboundEmail) -> Person | None:
    """Return the assistant a copy is for while they still manage the official, else None."""
    assistant_id = (email.context or {}).get(ASSISTANT_KEY)
    if not isinstance(assistant_id, int) or email.person_id is None:
        return None
    link = link_between(assistant_id, email.person_id)
    if link is None or link.assistant.anonymised_at is not None:
        return None
    return link.assistant


def copy_obsolete_reason(email: OutboundEmail) -> str:
    """Return why a copy must not be sent (the assistant no longer manages the official)."""
    if is_copy(email) and copy_recipient(email) is None:
        return "Non envoyé : cette personne ne gère plus les inscriptions de l’élu ou l’élue."
    return ""


def official_title(official: Person) -> str:
    """Return how an assistant's copy names the official: « Madame la Maire, Claire Dupont »."""
    opening = salutation_for(official).rstrip(",")
    if opening == "Madame, Monsieur":
        return official.full_name
    return f"{opening}, {official.full_name}"


def assistant_of_phrase(assistant: Person) -> str:
    """Return why an assistant receives a copy, agreeing with them (neutral without civilité)."""
    return agree(
        assistant,
        "en tant qu’assistante de",
        "en tant qu’assistant de",
        "parce que vous gérez les inscriptions de",
    )


def short_name(person: Person) -> str:
    """Return « Mme Martin » / « M. Martin », or the full name without a civilité."""
    title = {"madame": "Mme", "monsieur": "M."}.get(person.civilite or "")
    return f"{title} {person.last_name}" if title else person.full_name


def civilite_label(person: Person) -> str:
    """Return the civilité as written, or ""."""
    return CIVILITE_LABELS.get(person.civilite or "", "")


# --- confirmation by the assistant --------------------------------------------------------------


def notify_confirmed_by_assistant(official: Person, assistant: Person, meetings: list) -> bool:
    """Queue the e-mail telling an official that their assistant confirmed their request."""
    from irev.models import utcnow
    from irev.services import outbox
    from irev.services.registration_events import meeting_lines, stamp

    if not meetings:
        return False
    return outbox.enqueue(
        ASSISTANT_CONFIRMED,
        official.email,
        dedupe_key=f"person:{official.id}:{ASSISTANT_CONFIRMED}:{assistant.id}:{stamp(utcnow())}",
        person=official,
        meeting=meetings[0],
        context={
            "assistant_name": assistant.full_name,
            "assistant_short": short_name(assistant),
            "assistant_email": assistant.email,
            "assistant_word": agree(
                assistant, "Votre assistante", "Votre assistant", "La personne qui vous inscrit"
            ),
            "meetings": meeting_lines(meetings),
        },
    )


# --- erasure ------------------------------------------------------------------------------------


def forget_links(person: Person, own_email: str, placeholder: str) -> list[int]:
    """Delete a person's links on both sides, and the copies they received as an assistant.

    The officials they assisted keep their seats; their link_version is raised, so that the
    cancellation links the assistant received stop working. Return the ids of the assistants
    left with no official and no registration of their own: their data serve nothing any
    more (the caller erases them too). The caller commits.
    """
    assistant_ids = list(
        db.session.scalars(
            select(AssistantLink.assistant_id).where(AssistantLink.official_id == person.id)
        )
    )
    official_ids = list(
        db.session.scalars(
            select(AssistantLink.official_id).where(AssistantLink.assistant_id == person.id)
        )
    )
    db.session.execute(
        delete(AssistantLink).where(
            (AssistantLink.assistant_id == person.id) | (AssistantLink.official_id == person.id)
        )
    )
    if official_ids:
        db.session.execute(
            update(Person)
            .where(Person.id.in_(official_ids))
            .values(link_version=Person.link_version + 1)
            .execution_options(synchronize_session=False)
        )
    copies_to_them = (OutboundEmail.to_address == own_email) & (
        OutboundEmail.person_id != person.id
    )
    db.session.execute(
        update(OutboundEmail)
        .where(copies_to_them, OutboundEmail.status == EmailStatus.PENDING)
        .values(status=EmailStatus.FAILED, last_error="Non envoyé : données personnelles effacées.")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(OutboundEmail)
        .where(copies_to_them)
        .values(to_address=placeholder, to_name="", raw_message=None, context={})
        .execution_options(synchronize_session=False)
    )
    # The notices telling officials that this assistant confirmed name them: keep no copy.
    notices = db.session.scalars(
        select(OutboundEmail).where(OutboundEmail.kind == ASSISTANT_CONFIRMED)
    )
    for notice in notices:
        if (notice.context or {}).get("assistant_email") == own_email:
            if notice.status is EmailStatus.PENDING:
                notice.status = EmailStatus.FAILED
                notice.last_error = "Non envoyé : données personnelles effacées."
            notice.raw_message, notice.context = None, {}
    return _unattached(assistant_ids)


def _unattached(person_ids: list[int]) -> list[int]:
    """Return those of these people who assist nobody and hold no registration."""
    from irev.models import Registration

    if not person_ids:
        return []
    return list(
        db.session.scalars(
            select(Person.id).where(
                Person.id.in_(person_ids),
                Person.anonymised_at.is_(None),
                ~select(AssistantLink.id).where(AssistantLink.assistant_id == Person.id).exists(),
                ~select(Registration.id).where(Registration.person_id == Person.id).exists(),
            )
        )
    )


def purge_unattached(person_ids: list[int]) -> int:
    """Delete the assistants of purged requests left with nothing; return how many."""
    ids = _unattached(person_ids)
    if ids:
        db.session.execute(delete(Person).where(Person.id.in_(ids)))
    return len(ids)


def unlink(link: AssistantLink) -> None:
    """End an assistant's access to an official (asked by either); the caller commits."""
    official = link.official
    official.link_version = (official.link_version or 0) + 1
    db.session.delete(link)
