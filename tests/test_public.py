"""The public pages: programme, meetings, seat block, legal pages, errors and headers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from irev.dates import PARIS, meeting_when, short_date
from irev.extensions import db
from irev.models import MeetingMode, MeetingStatus, RegistrationState, utcnow
from irev.services import accessibility_audit
from irev.services import meetings as meeting_service
from irev.services.meetings import PublicState
from irev.typography import french
from tests.factories import paris

TITLE_SUFFIX = " – Rencontres des élus – IREV"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


# --- A small HTML reader (standard library only) ------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list = field(default_factory=list)
    parent: Element | None = None

    @property
    def text(self) -> str:
        """Return the element's text with whitespace collapsed."""
        parts: list[str] = []

        def walk(node):
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                else:
                    walk(child)

        walk(self)
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Return descendants with this tag whose attributes contain the given values."""
        found = []
        for child in self.children:
            if isinstance(child, Element):
                wanted = (tag is None or child.tag == tag) and all(
                    value in (child.attrs.get(name.rstrip("_").replace("_", "-")) or "").split()
                    or child.attrs.get(name.rstrip("_").replace("_", "-")) == value
                    for name, value in attrs.items()
                )
                if wanted:
                    found.append(child)
                found.extend(child.find_all(tag, **attrs))
        return found

    def find(self, tag: str | None = None, **attrs: str) -> Element | None:
        """Return the first matching descendant, or None."""
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def by_id(self, element_id: str) -> Element | None:
        """Return the descendant with this id."""
        return self.find(id=element_id)


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(
            Element(tag, {k: v or "" for k, v in attrs}, parent=self.current)
        )

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html: str | bytes) -> Element:
    """Parse an HTML page or fragment into a tree of Elements."""
    builder = _TreeBuilder()
    builder.feed(html.decode() if isinstance(html, bytes) else html)
    return builder.root


def get(client, path: str, status: int = 200, **kwargs):
    """GET a page, check its status, return (response, parsed document)."""
    response = client.get(path, **kwargs)
    assert response.status_code == status, f"{path}: {response.status_code}"
    return response, parse(response.data)


def link_texts(document: Element) -> dict[str, str]:
    """Return {link text: href} for every link of a document."""
    return {a.text: a.attrs.get("href", "") for a in document.find_all("a")}


# --- The programme page -----------------------------------------------------------------------


@pytest.fixture
def programme(create_programme):
    """A programme shaped like the seed: introduction, planned topics, a related event."""
    return create_programme(
        title="Rencontres des élus : préparer les contrats de ville 2024-2030",
        year=2023,
        audience="Élus locaux concernés par la politique de la ville",
        introduction="Premier paragraphe de présentation.\n\nSecond paragraphe.",
        format_line="Un rendez-vous par mois, en visio, le mercredi, de 17 h à 19 h.",
        planned_topics=["Mixité scolaire : quels enjeux, quelles perspectives ?"],
        related_events=[
            {
                "title": "Journée régionale « Mixité(s) sociale(s) »",
                "date": "2023-03-09",
                "place": "Lille",
                "description": "La séance du 1er mars en offre une première approche.",
            }
        ],
    )


def expected_when(meeting) -> str:
    """Return the French date and time range Babel writes for a meeting."""
    return meeting_when(meeting.starts_at, meeting.ends_at)


def in_days(days: int, hour: int = 17):
    """Return a Paris wall-clock time some days from now (a meeting date)."""
    day = (utcnow() + timedelta(days=days)).date()
    return paris(day.year, day.month, day.day, hour)


def test_programme_page_shows_the_programme(client, programme, create_meeting):
    first = create_meeting(
        programme=programme,
        title="Mixité sociale dans l’habitat : quels enjeux, quelles perspectives ?",
        starts_at=in_days(20),
        ends_at=in_days(20, 19),
        speakers=[{"name": "Christophe Noyé", "role": "Géographe", "organisation": "Cf. Géo"}],
        partners=["École du renouvellement urbain"],
        capacity=100,
        seats_taken=12,
    )
    second = create_meeting(
        programme=programme,
        title="Thème à venir",
        topic_announced=False,
        starts_at=in_days(50),
        ends_at=in_days(50, 19),
    )
    db.session.commit()

    response, page = get(client, "/")
    html = response.get_data(as_text=True)
    assert page.find("title").text == "Programme" + TITLE_SUFFIX
    assert [h.text for h in page.find_all("h1")] == [programme.title]
    assert "Premier paragraphe de présentation." in html and "Second paragraphe." in html
    assert "élus locaux concernés par la politique de la ville" in html
    assert french(programme.format_line) in html

    cards = page.find_all("article", class_="meeting-card")
    assert [card.attrs["aria-labelledby"] for card in cards] == [
        f"seance-{first.slug}",
        f"seance-{second.slug}",
    ]
    first_card, second_card = cards
    assert len(first_card.find_all("h3")) == 1
    when = first_card.find("time")
    assert when.text == expected_when(first)
    assert when.attrs["datetime"] == first.starts_at.astimezone(PARIS).isoformat("T", "minutes")
    assert "Mixité sociale dans l’habitat" in first_card.find("h3").text
    assert "Christophe Noyé (géographe, Cf. Géo)" in first_card.text
    assert "École du renouvellement urbain" in first_card.text
    assert "Inscriptions ouvertes" in first_card.text
    assert "88 places restantes sur 100" in first_card.text
    day = first.starts_at.astimezone(PARIS)
    links = link_texts(first_card)
    register_text = f"S’inscrire à la séance du {short_day(day)}"
    assert links[register_text] == f"/inscription?seance={first.slug}"
    assert links[f"Détails de la séance du {short_day(day)}"] == f"/seances/{first.slug}"

    assert "Thème à venir" in second_card.find("h3").text
    assert "sera annoncé prochainement" in second_card.text

    topics = page.by_id("themes-envisages").parent
    assert "Mixité scolaire : quels enjeux, quelles perspectives ?" in topics.text
    events = page.by_id("evenements-associes").parent
    assert "Journée régionale « Mixité(s) sociale(s) »" in events.text
    assert "jeudi 9 mars 2023, à Lille" in events.text

    contact = page.by_id("contact").parent
    contact_links = link_texts(contact)
    assert contact_links["m.petit@irev.fr"] == "mailto:m.petit@irev.fr"
    assert contact_links["06 07 75 84 23"] == "tel:+33607758423"
    assert "Morgane Petit" in contact.text and "directrice" in contact.text
    calendar = [
        h for t, h in link_texts(page).items() if t.startswith("Ajouter toutes les séances")
    ]
    assert calendar == [
        "/calendrier.ics"
    ]  # the text also states the size: test_accessible_downloads


def short_day(local) -> str:
    """Return "1er mars" / "5 avril" for a local datetime (the register link's wording)."""
    return short_date(local).rsplit(" ", 1)[0]


def test_upcoming_meetings_in_date_order_and_past_meetings_apart(client, programme, create_meeting):
    later = create_meeting(programme=programme, title="Plus tard", starts_at=in_days(60))
    sooner = create_meeting(programme=programme, title="Bientôt", starts_at=in_days(10))
    over = create_meeting(programme=programme, title="Déjà passée", starts_at=in_days(-30))
    draft = create_meeting(
        programme=programme, title="Brouillon", starts_at=in_days(5), status=MeetingStatus.DRAFT
    )
    db.session.commit()

    _, page = get(client, "/")
    upcoming = page.by_id("prochaines-seances").parent
    past = page.by_id("seances-passees").parent
    assert [h.text.split(": ", 1)[-1] for h in upcoming.find_all("h3")] == ["Bientôt", "Plus tard"]
    assert [h.text.split(": ", 1)[-1] for h in past.find_all("h3")] == ["Déjà passée"]
    assert "Séance passée" in past.text
    assert "S’inscrire" not in past.text
    assert draft.title not in page.text
    assert {later.slug, sooner.slug, over.slug} <= set(
        a.attrs["href"].rsplit("/", 1)[-1]
        for a in page.find_all("a")
        if "/seances/" in a.attrs.get("href", "")
    )


def test_without_any_programme_a_friendly_page(client):
    _response, page = get(client, "/")
    assert page.find("h1").text == "Rencontres des élus"
    assert "pas encore en ligne" in page.text


def test_an_unpublished_programme_is_not_shown(client, create_programme, create_meeting):
    hidden = create_programme(published=False, title="Programme caché")
    meeting = create_meeting(programme=hidden)
    db.session.commit()
    _, page = get(client, "/")
    assert "Programme caché" not in page.text
    get(client, f"/seances/{meeting.slug}", 404)


def test_demo_programme_says_so_on_every_page(client, create_programme, create_meeting):
    meeting = create_meeting(programme=create_programme(is_demo=True))
    db.session.commit()
    for path in ("/", f"/seances/{meeting.slug}", "/accessibilite", "/nulle-part"):
        response = client.get(path)
        assert "Site de démonstration" in response.get_data(as_text=True), path


def test_a_real_programme_has_no_demo_banner(client, programme, create_meeting):
    create_meeting(programme=programme)
    db.session.commit()
    assert "Site de démonstration" not in client.get("/").get_data(as_text=True)


# --- Meeting states ---------------------------------------------------------------------------

STATE_CASES = {
    "open": (dict(), PublicState.OPEN, "Inscriptions ouvertes", "S’inscrire à la séance"),
    "full": (
        dict(capacity=10, seats_taken=10),
        PublicState.FULL,
        "Complet : liste d’attente",
        "S’inscrire sur la liste d’attente de la séance",
    ),
    "not-yet-open": (
        dict(registration_opens_at=utcnow() + timedelta(days=3)),
        PublicState.NOT_YET_OPEN,
        "Inscriptions bientôt ouvertes",
        None,
    ),
    "closed": (
        dict(registration_closes_at=utcnow() - timedelta(hours=1)),
        PublicState.CLOSED,
        "Inscriptions closes",
        None,
    ),
    "cancelled": (
        dict(status=MeetingStatus.CANCELLED),
        PublicState.CANCELLED,
        "Séance annulée",
        None,
    ),
    "past": (
        dict(starts_at=utcnow() - timedelta(days=2)),
        PublicState.PAST,
        "Séance passée",
        None,
    ),
}


@pytest.mark.parametrize("case", list(STATE_CASES), ids=list(STATE_CASES))
def test_each_state_shows_its_label_and_offers_registration_only_when_open(
    client, programme, create_meeting, case
):
    values, state, label, register = STATE_CASES[case]
    meeting = create_meeting(programme=programme, **values)
    db.session.commit()
    assert meeting_service.public_state(meeting) is state

    for path in ("/", f"/seances/{meeting.slug}"):
        _, page = get(client, path)
        block = page.by_id(f"places-{meeting.slug}")
        assert block is not None, path
        assert block.find("span", class_="badge").text == label
        register_links = [a for a in page.find_all("a") if a.text.startswith("S’inscrire ")]
        if register:
            assert len(register_links) == 1, path
            assert register_links[0].text.startswith(register)
            assert register_links[0].attrs["href"] == f"/inscription?seance={meeting.slug}"
        else:
            assert register_links == [], path


def test_registration_not_yet_open_gives_the_opening_date(client, create_meeting):
    opens = paris(2031, 1, 1, 9)
    meeting = create_meeting(starts_at=paris(2031, 3, 5, 17), registration_opens_at=opens)
    db.session.commit()
    _, page = get(client, f"/seances/{meeting.slug}")
    assert (
        "Les inscriptions ouvriront le 1er janvier 2031."
        in page.by_id(f"places-{meeting.slug}").text
    )


def test_a_full_meeting_counts_its_waiting_list(client, create_meeting, create_registration):
    meeting = create_meeting(capacity=1)
    create_registration(meeting=meeting)
    create_registration(meeting=meeting, state=RegistrationState.WAITING)
    create_registration(meeting=meeting, state=RegistrationState.WAITING)
    db.session.commit()
    _, page = get(client, f"/seances/{meeting.slug}")
    block = page.by_id(f"places-{meeting.slug}")
    assert "Aucune place restante sur 1" in block.text
    assert "2 personnes sont sur la liste d’attente." in block.text


@pytest.mark.parametrize(
    ("seats_left", "capacity", "expected"),
    [
        (0, 50, "Aucune place restante sur 50"),
        (1, 50, "1 place restante sur 50"),
        (2, 50, "2 places restantes sur 50"),
    ],
)
def test_seats_phrase_singular_and_plural(seats_left, capacity, expected):
    assert meeting_service.seats_phrase(seats_left, capacity) == expected


# --- The meeting page -------------------------------------------------------------------------


def test_meeting_page_shows_the_meeting_in_full(client, programme, create_meeting):
    meeting = create_meeting(
        programme=programme,
        title="Mixité sociale dans l’habitat : quels enjeux, quelles perspectives ?",
        description="Cette première séance permettra d’aborder un objectif majeur.",
        speakers=[{"name": "Christophe Noyé", "role": "Géographe", "organisation": "Cf. Géo"}],
        partners=["École du renouvellement urbain"],
        capacity=100,
        seats_taken=40,
    )
    db.session.commit()
    _response, page = get(client, f"/seances/{meeting.slug}")
    day = meeting.starts_at.astimezone(PARIS)
    assert page.find("title").text.endswith(TITLE_SUFFIX)
    assert page.find("title").text.startswith("Mixité sociale dans l’habitat")
    assert len(page.find_all("h1")) == 1
    assert "Mixité sociale dans l’habitat" in page.find("h1").text
    assert page.find("time").text.lower() == expected_when(meeting)
    assert "objectif majeur" in page.text
    assert "Christophe Noyé (géographe, Cf. Géo)" in page.text
    assert "École du renouvellement urbain" in page.text
    assert "60 places restantes sur 100" in page.text
    assert "En visioconférence" in page.text
    links = link_texts(page)
    agenda = [h for t, h in links.items() if t.startswith("Ajouter à mon agenda (fichier .ics, ")]
    assert agenda == [f"/seances/{meeting.slug}.ics"]
    assert links[f"S’inscrire à la séance du {short_day(day)}"] == (
        f"/inscription?seance={meeting.slug}"
    )
    assert links["Retour au programme des rencontres"] == "/"


def test_meeting_on_site_gives_its_address(client, create_meeting):
    meeting = create_meeting(mode=MeetingMode.ON_SITE, address="Hôtel de région, Lille")
    db.session.commit()
    _, page = get(client, f"/seances/{meeting.slug}")
    assert "Hôtel de région, Lille" in page.text


def test_meeting_page_answers_404_for_unknown_and_draft_meetings(client, create_meeting):
    draft = create_meeting(status=MeetingStatus.DRAFT)
    db.session.commit()
    _, page = get(client, f"/seances/{draft.slug}", 404)
    assert page.find("h1").text == "Page introuvable"
    get(client, "/seances/n-existe-pas", 404)
    get(client, f"/seances/{draft.slug}/places", 404, headers={"HX-Request": "true"})


def test_get_public_meeting_refuses_drafts(app, create_meeting):
    from irev.services.meetings import MeetingNotFound as NotFound

    published = create_meeting()
    draft = create_meeting(status=MeetingStatus.DRAFT)
    assert meeting_service.get_public_meeting(published.slug) == published
    with pytest.raises(NotFound):
        meeting_service.get_public_meeting(draft.slug)
    with pytest.raises(NotFound):
        meeting_service.get_public_meeting("inconnue")


def test_a_cancelled_meeting_page_says_so(client, create_meeting):
    meeting = create_meeting(status=MeetingStatus.CANCELLED)
    db.session.commit()
    _, page = get(client, f"/seances/{meeting.slug}")
    assert "Cette séance est annulée." in page.text


def test_no_video_link_on_any_public_page(client, programme, create_meeting):
    meeting = create_meeting(
        programme=programme,
        video_url="https://zoom.example/j/98765432100?pwd=tres-secret",
        video_meeting_id="987 6543 2100",
        video_passcode="Xy7secret",
    )
    cancelled = create_meeting(
        programme=programme,
        status=MeetingStatus.CANCELLED,
        video_url="https://zoom.example/j/11111111111",
        video_passcode="Ab1secret",
    )
    db.session.commit()
    paths = [
        "/",
        f"/seances/{meeting.slug}",
        f"/seances/{cancelled.slug}",
        f"/seances/{meeting.slug}.ics",
        "/calendrier.ics",
        "/accessibilite",
        "/donnees-personnelles",
        "/mentions-legales",
    ]
    for path in paths:
        body = client.get(path).data.replace(b"\r\n ", b"")
        for secret in (b"zoom.example", b"98765432100", b"987 6543 2100", b"secret", b"pwd="):
            assert secret not in body, f"{secret!r} on {path}"
    fragment = client.get(f"/seances/{meeting.slug}/places", headers={"HX-Request": "true"})
    assert b"zoom.example" not in fragment.data and b"Xy7secret" not in fragment.data


# --- The live seat block ----------------------------------------------------------------------

HX = {"HX-Request": "true"}


def test_seat_fragment_answers_only_the_fragment_for_htmx(client, create_meeting):
    meeting = create_meeting(capacity=30, seats_taken=5)
    db.session.commit()
    response = client.get(f"/seances/{meeting.slug}/places", headers=HX)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    html = response.get_data(as_text=True)
    assert "<html" not in html and "<main" not in html and "<h1" not in html
    fragment = parse(html)
    form = fragment.by_id(f"places-{meeting.slug}")
    assert form.tag == "form"
    assert form.attrs["data-hx-get"] == f"/seances/{meeting.slug}/places"
    assert form.attrs["data-hx-trigger"] == "every 30s, seats-changed from:body"
    assert form.attrs["data-hx-swap"] == "outerHTML"
    assert form.attrs["method"] == "get"
    assert form.find("input", name="dernier").attrs["value"] == "open:25"
    assert "25 places restantes sur 30" in form.text
    assert form.find("button") is None  # nothing to press: without JavaScript it is plain text


def test_seat_fragment_without_htmx_redirects_to_the_meeting(client, create_meeting):
    meeting = create_meeting()
    db.session.commit()
    response = client.get(f"/seances/{meeting.slug}/places")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/seances/{meeting.slug}#places-{meeting.slug}"


def test_seat_fragment_reads_the_database_each_time(client, create_meeting, create_registration):
    meeting = create_meeting(capacity=3)
    db.session.commit()
    url = f"/seances/{meeting.slug}/places"
    assert french("3 places restantes sur 3") in client.get(url, headers=HX).get_data(as_text=True)
    create_registration(meeting=meeting)
    create_registration(meeting=meeting)
    db.session.commit()
    assert french("1 place restante sur 3") in client.get(url, headers=HX).get_data(as_text=True)
    create_registration(meeting=meeting)
    db.session.commit()
    fragment = parse(client.get(url, headers=HX).data)
    assert "Complet : liste d’attente" in fragment.text
    assert "Aucune place restante sur 3" in fragment.text
    assert fragment.find("input", name="dernier").attrs["value"] == "full:0"


def test_announces_only_when_the_count_or_state_changed(
    client, create_meeting, create_registration
):
    meeting = create_meeting(capacity=10, seats_taken=4)
    db.session.commit()
    url = f"/seances/{meeting.slug}/places"

    unchanged = parse(client.get(url, query_string={"dernier": "open:6"}, headers=HX).data)
    assert unchanged.by_id("annonces") is None

    first_poll = parse(client.get(url, headers=HX).data)  # no previous value: nothing to compare
    assert first_poll.by_id("annonces") is None

    create_registration(meeting=meeting)
    db.session.commit()
    changed = parse(client.get(url, query_string={"dernier": "open:6"}, headers=HX).data)
    announcement = changed.by_id("annonces")
    assert announcement is not None
    assert announcement.attrs["data-hx-swap-oob"] == "innerHTML"
    assert "5 places restantes sur 10" in announcement.text
    assert changed.find("input", name="dernier").attrs["value"] == "open:5"

    again = parse(client.get(url, query_string={"dernier": "open:5"}, headers=HX).data)
    assert again.by_id("annonces") is None


def test_the_state_change_is_announced_too(client, create_meeting):
    meeting = create_meeting(capacity=2, seats_taken=2)
    db.session.commit()
    url = f"/seances/{meeting.slug}/places"
    page = parse(client.get(url, query_string={"dernier": "open:1"}, headers=HX).data)
    assert "complet" in page.by_id("annonces").text.lower()


def test_finished_states_are_not_polled(client, create_meeting):
    meeting = create_meeting(status=MeetingStatus.CANCELLED)
    db.session.commit()
    _, page = get(client, f"/seances/{meeting.slug}")
    block = page.by_id(f"places-{meeting.slug}")
    assert block.tag == "div"
    assert not any(name.startswith(("hx-", "data-hx-")) for name in block.attrs)


def test_hx_attributes_only_on_links_buttons_and_forms(client, programme, create_meeting):
    create_meeting(programme=programme)
    create_meeting(programme=programme, capacity=1, seats_taken=1)
    db.session.commit()
    for path in ("/", f"/seances/{programme.meetings[0].slug}"):
        _, page = get(client, path)
        for element in page.find_all():
            if any(name.startswith(("hx-", "data-hx-")) for name in element.attrs):
                assert element.tag in {"a", "button", "form"}, f"{element.tag} on {path}"


# --- Legal pages ------------------------------------------------------------------------------


def test_accessibility_statement_follows_the_official_structure(client, programme):
    db.session.commit()
    _, page = get(client, "/accessibilite")
    assert page.find("title").text == "Déclaration d’accessibilité" + TITLE_SUFFIX
    assert page.find("h1").text == "Déclaration d’accessibilité"
    headings = [h.text for h in page.find_all("h2")]
    for heading in (
        "État de conformité",
        "Contenus non accessibles",
        "Établissement de cette déclaration d’accessibilité",
        "Retour d’information et contact",
        "Voies de recours",
    ):
        assert heading in headings
    text = page.text
    audit = accessibility_audit.current_results()
    assert page.by_id("mention-conformite").text == audit.mention
    assert page.by_id("taux-global").text == f"{audit.global_rate:.1f} %".replace(".", ",")
    assert "Dérogations pour charge disproportionnée" in text
    assert "Technologies utilisées" in text and "Environnement de test" in text
    assert "Libre réponse 71120" in text and "75342 Paris CEDEX 07" in text
    links = link_texts(page)
    assert links["Défenseur des droits (formulaire en ligne)"].startswith("https://")
    assert "délégué du Défenseur des droits" in " ".join(links)
    assert links["m.petit@irev.fr"] == "mailto:m.petit@irev.fr"
    anchors = {a.attrs["href"] for a in page.find_all("a")}
    plan = "/accessibilite/schema-pluriannuel"
    assert {f"{plan}#schema-pluriannuel", f"{plan}#plan-actions"} <= anchors
    _, plan_page = get(client, plan)
    assert plan_page.by_id("schema-pluriannuel") and plan_page.by_id("plan-actions")
    assert page.find("time").attrs["datetime"] == "2026-12-01"


def test_personal_data_notice_covers_article_13(client, create_programme):
    create_programme(retention_months=18)
    db.session.commit()
    _, page = get(client, "/donnees-personnelles")
    text = page.text
    assert page.find("h1").text == "Données personnelles"
    for anchor in (
        "responsable",
        "dpo",
        "finalites",
        "base-legale",
        "donnees",
        "destinataires",
        "conservation",
        "droits",
        "reclamation",
        "cookies",
    ):
        assert page.by_id(anchor) is not None, anchor
    assert "Institut régional de la ville (IREV)" in text
    assert "article 6, paragraphe 1, point e" in text
    assert "Zoom" in text and "hors de l’Union européenne" in text
    assert "18 mois après la dernière séance du programme" in text
    for right in ("accès", "rectification", "effacement", "limitation", "opposition"):
        assert right in text
    assert "CNIL" in text
    assert "aucun bandeau" in text


def test_personal_data_notice_defaults_to_twelve_months_and_names_the_dpo(app, client):
    app.config["IREV_DPO_EMAIL"] = "dpo@irev.example"
    _, page = get(client, "/donnees-personnelles")
    assert "12 mois après la dernière séance du programme" in page.text
    assert link_texts(page)["dpo@irev.example"] == "mailto:dpo@irev.example"


def test_legal_notice(client, programme):
    db.session.commit()
    _, page = get(client, "/mentions-legales")
    headings = [h.text for h in page.find_all("h2")]
    assert {"Éditeur du site", "Direction de la publication", "Hébergement", "Contact"} <= set(
        headings
    )
    text = page.text
    assert "groupement d’intérêt public" in text
    assert "Morgane Petit, directrice de l’IREV" in text
    assert "à compléter" not in text  # staff-facing: listed on their dashboard only


# --- Layout, errors, headers ------------------------------------------------------------------


@pytest.fixture
def every_page(client, programme, create_meeting):
    """Paths of every public HTML page, with a meeting to show."""
    meeting = create_meeting(programme=programme)
    db.session.commit()
    return [
        "/",
        f"/seances/{meeting.slug}",
        "/accessibilite",
        "/accessibilite/schema-pluriannuel",
        "/donnees-personnelles",
        "/mentions-legales",
    ]


def test_layout_of_every_page(client, every_page):
    for path in [*every_page, "/introuvable"]:
        response = client.get(path)
        page = parse(response.data)
        html = response.get_data(as_text=True)
        assert page.find("html").attrs["lang"] == "fr"
        assert page.find("title").text.endswith(TITLE_SUFFIX), path
        assert len(page.find_all("h1")) == 1, path
        assert len(page.find_all("main")) == 1 and page.find("main").attrs["id"] == "contenu"
        assert page.find("header") and page.find("nav") and page.find("footer")
        skip = page.find_all("a")[0]
        assert (skip.text, skip.attrs["href"]) == ("Aller au contenu", "#contenu")
        footer = link_texts(page.find("footer"))
        mention = accessibility_audit.current_results().mention
        assert footer[f"Accessibilité : {mention}"] == "/accessibilite"
        assert footer["Données personnelles"] == "/donnees-personnelles"
        assert footer["Mentions légales"] == "/mentions-legales"
        status = page.by_id("annonces")
        assert status.attrs["role"] == "status" and status.text == ""
        # CSP: no inline style or script, nothing from another origin.
        assert " style=" not in html and "<style" not in html, path
        for script in page.find_all("script"):
            assert script.attrs.get("src", "").startswith("/static/"), path
            assert script.text == ""
        for link in page.find_all("link"):
            assert link.attrs["href"].startswith(("/static/", "data:")), path
        assert " hx-on" not in html and "hx-boost" not in html


def test_security_headers_on_every_page(client, every_page):
    for path in [*every_page, "/calendrier.ics", "/introuvable"]:
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "HX-Request" in headers["Vary"]


def test_french_404_page(client):
    _response, page = get(client, "/cette-page-n-existe-pas", 404)
    assert page.find("title").text == "Page introuvable" + TITLE_SUFFIX
    assert "Erreur 404" in page.text
    assert link_texts(page)["programme des rencontres"] == "/"


def test_french_500_page_without_details(app, client):
    def explode():
        raise RuntimeError("secret internal detail")

    app.add_url_rule("/test-erreur", "explode", explode)
    response, page = get(client, "/test-erreur", 500)
    assert page.find("title").text == "Erreur du serveur" + TITLE_SUFFIX
    assert page.find("h1").text == "Erreur du serveur"
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_french_500_page_after_a_database_error(app, client):
    from sqlalchemy import text

    def broken_query():
        db.session.execute(text("SELECT * FROM table_that_does_not_exist"))

    app.add_url_rule("/test-erreur-sql", "broken_query", broken_query)
    response, page = get(client, "/test-erreur-sql", 500)
    assert page.find("h1").text == "Erreur du serveur"
    assert "table_that_does_not_exist" not in response.get_data(as_text=True)


def test_french_503_page_when_the_database_is_gone(app, client):
    from sqlalchemy import create_engine

    def needs_database():
        db.session.execute(db.select(1)).scalar()

    app.add_url_rule("/test-sans-base", "needs_database", needs_database)
    db._app_engines[app][None] = create_engine("sqlite:////nonexistent/dir/db.sqlite3")
    response, page = get(client, "/test-sans-base", 503)
    assert page.find("h1").text == "Service momentanément indisponible"
    assert response.headers["Retry-After"].isdigit()


def test_a_running_meeting_is_in_progress_and_a_past_one_promises_nothing(
    client, programme, create_meeting
):
    running = create_meeting(
        programme=programme,
        starts_at=utcnow() - timedelta(minutes=30),
        ends_at=utcnow() + timedelta(minutes=90),
    )
    over = create_meeting(
        programme=programme,
        title="Thème à venir",
        topic_announced=False,
        starts_at=in_days(-40),
        ends_at=in_days(-40, 19),
    )
    db.session.commit()
    _, page = get(client, "/")
    past = page.by_id("seances-passees").parent
    assert page.by_id(f"places-{running.slug}").find("span", class_="badge").text == (
        "Séance en cours"
    )
    assert page.by_id(f"places-{over.slug}").find("span", class_="badge").text == "Séance passée"
    assert "sera annoncé" not in past.text
