"""The worker's batch path writes the very bytes a message rendered on its own gets.

The batch path keeps what a batch repeats (the assistants of its officials, the links' URL
prefixes and signers, typeset lines): these tests render a varied batch (assistants and their
copies, civilités, seat and change e-mails, an erased person's farewell) message by message
outside any batch, then send it through the worker, and compare the bytes. Only what must
differ is set aside: the Message-ID and the MIME boundaries (random by design). The clock is
frozen, so that the Date and the tokens' timestamps are the same in both.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from freezegun import freeze_time

from irev import notifications, urls
from irev.extensions import db
from irev.mail import CaptureTransport
from irev.models import EmailStatus, OutboundEmail, RegistrationState, utcnow
from irev.services import assistants, gdpr, outbox, sending, video_links
from irev.services.assistants import AssistantDetails, link_assistant, links_for_batch
from irev.tokens import make_token, read_token
from tests import factories
from tests.admin_helpers import create_staff
from tests.sql_counting import counted

S = RegistrationState
NOW = "2026-03-02T09:00:00Z"


@pytest.fixture
def app_config():
    return {"MAIL_SERVER": None, "IREV_MAIL_BATCH_SIZE": 100}  # captured: the bytes are kept


_MESSAGE_ID = re.compile(rb"^Message-ID: .*$", re.MULTILINE)
_BOUNDARY = re.compile(rb"=_[0-9a-f]{24}")


def _normalised(raw: bytes) -> bytes:
    """Return the message without what is random by design (Message-ID, MIME boundaries)."""
    return _BOUNDARY.sub(b"=_boundary", _MESSAGE_ID.sub(b"Message-ID: <id>", raw))


def _pending() -> list[OutboundEmail]:
    db.session.expire_all()
    query = db.select(OutboundEmail).filter_by(status=EmailStatus.PENDING)
    return list(db.session.scalars(query.order_by(OutboundEmail.id)))


def _alone_then_batch(monkeypatch) -> tuple[list[bytes], list[bytes], list[OutboundEmail]]:
    """Render every pending row on its own, then send them all as one batch; both bytes.

    The batch's bytes are taken as they leave (a farewell's are forgotten once sent).
    """
    rows = _pending()
    alone = {row.id: _normalised(notifications.build_raw(row).raw) for row in rows}
    db.session.rollback()
    left: list[bytes] = []
    original = CaptureTransport.start

    def keep(self, recipient, raw, **waiting):
        left.append(raw)
        original(self, recipient, raw, **waiting)

    monkeypatch.setattr(CaptureTransport, "start", keep)
    report = sending.send_pending()
    assert not report.errors and report.captured == len(left)
    db.session.expire_all()
    sent = [
        row
        for row in (db.session.get(OutboundEmail, row.id) for row in rows)
        if row.status is EmailStatus.SENT
    ]
    assert len(sent) == len(left)
    return [alone[row.id] for row in sent], [_normalised(raw) for raw in left], sent


def _official(email: str, **values):
    return factories.create_person(email=email, **values)


def _assistant_for(official, email: str, civilite: str = "madame"):
    details = AssistantDetails(
        email=email, first_name="Samia", last_name="Benali", civilite=civilite
    )
    return link_assistant(details, official)


def test_a_varied_batch_has_the_bytes_of_each_message_rendered_alone(app, monkeypatch):
    with freeze_time(NOW) as clock:
        soon = utcnow().replace(microsecond=0) + timedelta(hours=3)
        meeting = factories.create_meeting(
            title="Mixité sociale : l’habitat", starts_at=soon, ends_at=soon + timedelta(hours=2)
        )
        later = factories.create_meeting(title="Sécurité « du quotidien »")
        maire = _official("claire.dupont@roubaix.example", civilite="madame", first_name="Claire")
        _assistant_for(maire, "samia.benali@roubaix.example")
        _assistant_for(maire, "paul.roy@roubaix.example", civilite="monsieur")
        adjoint = _official("marc@lille.example", civilite="monsieur", mandate="adjoint")
        _assistant_for(adjoint, "cabinet@lille.example", civilite="")
        neutral = _official("dominique@lens.example", civilite="", mandate="autre")
        leaving = _official("ines@arras.example", civilite="madame", first_name="Inès")
        for person in (maire, adjoint, neutral, leaving):
            factories.create_registration(meeting, person=person, state=S.SEATED)
        factories.create_registration(later, person=maire, state=S.SEATED)
        seat = factories.create_registration(later, person=adjoint, state=S.SEATED)
        factories.create_registration(later, person=neutral, state=S.WAITING)
        outbox.enqueue(
            "seated_to_registrant",
            adjoint.email,
            dedupe_key=f"registration:{seat.id}:seated:test",
            person=adjoint,
            registration=seat,
        )
        video_links.schedule_due()
        db.session.commit()

        alone, batch, sent = _alone_then_batch(monkeypatch)
        assert len(batch) >= 9  # four links, three copies, the seat message and its copy
        assert batch == alone
        to_maire = [row for row in sent if row.to_address == maire.email]
        assert to_maire and all("Samia Benali" in row.raw_message for row in to_maire)

        # The meeting moves: change e-mails (old and new times), and an erasure's farewell.
        clock.tick(60)
        meeting.starts_at += timedelta(minutes=30)
        meeting.ends_at += timedelta(minutes=30)
        meeting.sequence += 1
        db.session.commit()
        video_links.schedule_due()
        gdpr.erase(leaving, create_staff())
        db.session.commit()

        alone, batch, sent = _alone_then_batch(monkeypatch)
        kinds = {row.kind for row in sent}
        assert {"meeting_changed_to_registrant", "cancelled_to_registrant"} <= kinds, kinds
        assert batch == alone


def test_the_batch_reads_assistants_once_and_afresh_for_the_next_batch(app):
    official = _official("claire.dupont@roubaix.example", civilite="madame")
    other = _official("marc@lille.example", civilite="monsieur")
    _assistant_for(official, "samia.benali@roubaix.example")
    db.session.commit()

    alone = [assistants.assistants_of(official), assistants.assistants_of(other)]
    with links_for_batch([official.id, other.id, None]):
        with counted() as statements:
            memo = [assistants.assistants_of(official), assistants.assistants_of(other)]
        assert statements == []
    assert [[link.id for link in links] for links in memo] == [
        [link.id for link in links] for links in alone
    ]

    # A link made between two batches is seen by the next one (never a stale memo).
    with links_for_batch([other.id]):
        assert assistants.assistants_of(other) == []
    _assistant_for(other, "cabinet@lille.example")
    db.session.commit()
    with links_for_batch([other.id]):
        assert [link.assistant.email for link in assistants.assistants_of(other)] == [
            "cabinet@lille.example"
        ]
    assert assistants._batch_links.get() is None


TOKEN_ENDPOINTS = (
    ("registration.manage", "manage"),
    ("registration.cancel_link", "cancel"),
    ("registration.reconfirm", "reconfirm"),
    ("registration.assistant_page", "assistant"),
    ("registration.questionnaire", "questionnaire"),
    ("admin.accept_invitation", "staff_invite"),
    ("admin.reset_password", "staff_reset"),
)


@pytest.mark.parametrize("base", ["http://irev.test", "https://rencontres.irev.fr/sous/dossier/"])
def test_batch_links_are_those_of_url_for_and_their_tokens_verify(app, base):
    from flask import url_for

    app.config["IREV_BASE_URL"] = base
    made = [
        (endpoint, purpose, make_token(purpose, {"p": n, "v": n % 3}))
        for n, (endpoint, purpose) in enumerate(TOKEN_ENDPOINTS * 2)
    ]
    others = [
        ("public.index", {}),
        ("registration.form", {"seance": "mixite-sociale"}),
        ("registration.form", {"seance": "sécurité du quotidien"}),
        ("public.meeting", {"slug": "mixite-sociale"}),
        ("registration.manage", {"token": "pas un jeton/ni une ~ adresse"}),
    ]
    with urls.memoized():
        fast = [urls.external_url(endpoint, token=token) for endpoint, _, token in made]
        fast_others = [urls.external_url(endpoint, **values) for endpoint, values in others]
        again = [urls.external_url(endpoint, **values) for endpoint, values in others]
    parts = urlsplit(base.rstrip("/"))
    with app.test_request_context(
        "/", base_url=f"{parts.scheme}://{parts.netloc}{parts.path or '/'}"
    ):
        slow = [url_for(endpoint, token=token, _external=True) for endpoint, _, token in made]
        slow_others = [url_for(endpoint, _external=True, **values) for endpoint, values in others]
    assert fast == slow
    assert fast_others == again == slow_others
    assert all(url.startswith(base.rstrip("/") + "/") for url in fast)
    for (_, purpose, token), url in zip(made, fast, strict=True):
        assert url.endswith(f"/{token}")
        assert read_token(purpose, url.rsplit("/", 1)[1]) == read_token(purpose, token)


def test_batch_links_follow_the_address_of_the_next_batch(app):
    app.config["IREV_BASE_URL"] = "https://ancienne.irev.test"
    with urls.memoized():
        before = urls.external_url("registration.manage", token="abc.def")
    app.config["IREV_BASE_URL"] = "https://rencontres.irev.test"
    with urls.memoized():
        after = urls.external_url("registration.manage", token="abc.def")
    assert before.startswith("https://ancienne.irev.test/")
    assert after == before.replace("ancienne", "rencontres")
