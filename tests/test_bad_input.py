"""Bad input gets a clear French message and a 4xx, never a 500, and nothing half-saved."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from werkzeug.routing import IntegerConverter

from irev.extensions import db
from irev.models import OutboundEmail, Person, RegistrationState, utcnow
from irev.notifications import manage_url, render
from irev.services import staff
from irev.tokens import make_token
from irev.typography import french
from tests.registration_support import (
    confirm_path,
    counts,
    emails,
    form_data,
    fresh,
    path_of,
    registrations,
    season,
)

S = RegistrationState
NOTHING_SAVED = {"people": 0, "registrations": 0, "emails": 0}


@pytest.fixture
def meetings(app):
    return season()


def saved() -> dict[str, int]:
    """Return the counts that must stay at zero after a refused submission."""
    found = counts()
    return {key: found[key] for key in NOTHING_SAVED}


# --- the form: one row per kind of bad input -----------------------------------------------

BAD_FORMS = [
    pytest.param({"first_name": ""}, "Saisissez votre prénom.", id="prénom manquant"),
    pytest.param({"first_name": "   "}, "Saisissez votre prénom.", id="prénom en espaces"),
    pytest.param({"last_name": None}, "Saisissez votre nom.", id="nom absent du corps"),
    pytest.param({"email": ""}, "Saisissez votre adresse électronique.", id="courriel manquant"),
    pytest.param({"organisation": ""}, "Saisissez le nom de votre commune", id="collectivité"),
    pytest.param({"mandate": ""}, "Choisissez votre mandat dans la liste.", id="mandat manquant"),
    pytest.param({"mandate": "empereur"}, "Choisissez votre mandat", id="mandat inconnu"),
    pytest.param({"department": None}, "Choisissez votre département.", id="département absent"),
    pytest.param(
        {"department": "Paris"}, "Choisissez votre département.", id="département inconnu"
    ),
    pytest.param({"data_notice": None}, "Cochez la case pour indiquer", id="notice non cochée"),
    pytest.param(
        {"first_name": "É" * 101}, "Le prénom doit faire 100 caractères au plus.", id="prénom 101"
    ),
    pytest.param(
        {"last_name": "x" * 10_000}, "Le nom doit faire 100 caractères au plus.", id="nom 10 ko"
    ),
    pytest.param(
        {"organisation": "x" * 201}, "doit faire 200 caractères au plus", id="collectivité 201"
    ),
    pytest.param(
        {"accessibility_needs": "x" * 1001}, "1 000 caractères au plus", id="besoins 1001"
    ),
    pytest.param({"phone": "x" * 41}, "Le numéro de téléphone est trop long.", id="téléphone long"),
    pytest.param({"phone": "appelez-moi"}, "Saisissez un numéro de téléphone", id="téléphone"),
    pytest.param({"email": "camille"}, "Saisissez une adresse électronique valide", id="sans @"),
    pytest.param(
        {"email": "camille@"}, "Saisissez une adresse électronique valide", id="sans domaine"
    ),
    pytest.param({"email": "camille durand@ville.fr"}, "adresse électronique valide", id="espace"),
    pytest.param({"email": "a@b"}, "Saisissez une adresse électronique valide", id="domaine court"),
    pytest.param(
        {"email": "Camille <camille@ville.fr>"}, "adresse électronique valide", id="nom affiché"
    ),
    pytest.param({"email": "x" * 250 + "@ville.fr"}, "254 caractères au plus", id="courriel long"),
    pytest.param(
        {"email": "camille@ville.fr\r\nBcc: tous@ville.fr"},
        "L’adresse électronique doit tenir sur une seule ligne.",
        id="CRLF courriel",
    ),
    pytest.param(
        {"first_name": "Camille\r\nBcc: x@y.fr"},
        "Le prénom doit tenir sur une seule ligne.",
        id="CRLF prénom",
    ),
    pytest.param(
        {"last_name": "Durand\nX-Test: 1"}, "Le nom doit tenir sur une seule ligne.", id="LF nom"
    ),
    pytest.param(
        {"organisation": "Ville\rde Lille"}, "doit tenir sur une seule ligne", id="CR collectivité"
    ),
    pytest.param({"phone": "06\r\n12"}, "doit tenir sur une seule ligne", id="CRLF téléphone"),
    pytest.param(
        {"accessibility_needs": "Sous-titrage\x00"},
        "contiennent des caractères non autorisés",
        id="NUL besoins",
    ),
    pytest.param({"meetings": []}, "Choisissez au moins une séance", id="aucune séance"),
    pytest.param({"meetings": ["seance-inconnue"]}, "n’existe pas", id="séance inconnue"),
    pytest.param({"meetings": ["seance-brouillon"]}, "n’existe pas", id="séance brouillon"),
    pytest.param({"meetings": ["seance-passee"]}, "n’existe pas", id="séance passée"),
    pytest.param({"meetings": ["seance-close"]}, "sont closes", id="séance close"),
    pytest.param({"meetings": ["seance-annulee"]}, "est annulée", id="séance annulée"),
    pytest.param({"meetings": ["seance-ouverte\r\nX: y"]}, "n’existe pas", id="CRLF séance"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_FORMS)
def test_bad_form_input_is_refused_in_french(client, meetings, overrides, message):
    data = form_data("seance-ouverte", **overrides)
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
    response = client.post("/inscription", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.count("Il y a un problème") == 1
    assert french(message) in html  # as typeset on the page (irev.typography)
    assert french("<title>Erreur : ") in html
    assert saved() == NOTHING_SAVED


@pytest.mark.parametrize("field", ["first_name", "email", "organisation", "mandate", "meetings"])
def test_bad_input_through_the_inline_check_is_a_message_not_an_error(client, meetings, field):
    data = form_data(first_name="x" * 500, email="nope", organisation="", mandate="?")
    data["meetings"] = ["seance-annulee"]
    response = client.post(
        "/inscription/valider", data=data, headers={"HX-Request": "true", "HX-Trigger-Name": field}
    )
    assert response.status_code == 200
    assert 'class="error-message"' in response.get_data(as_text=True)
    assert saved() == NOTHING_SAVED


def test_a_body_over_the_limit_is_refused(client, meetings):
    response = client.post("/inscription", data=form_data("seance-ouverte", last_name="x" * 70_000))
    assert response.status_code == 413
    assert "Envoi trop volumineux" in response.get_data(as_text=True)
    assert saved() == NOTHING_SAVED


def test_the_honeypot_gets_the_same_answer_and_saves_nothing(client, meetings):
    response = client.post("/inscription", data=form_data("seance-ouverte", website="http://spam"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/inscription/envoyee"
    htmx = client.post(
        "/inscription",
        data=form_data("seance-ouverte", website="x"),
        headers={"HX-Request": "true"},
    )
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"] == "/inscription/envoyee"
    assert saved() == NOTHING_SAVED


def test_duplicate_submissions_give_one_request_and_one_email(client, meetings):
    for _ in range(3):
        response = client.post("/inscription", data=form_data("seance-ouverte"))
        assert response.status_code == 303
    assert saved() == {"people": 1, "registrations": 1, "emails": 1}


def test_a_form_posted_twice_in_parallel(app, meetings):
    db.session.commit()  # nothing of ours holds the database while the requests run

    def post(_):
        return app.test_client().post("/inscription", data=form_data("seance-ouverte")).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = list(pool.map(post, range(2)))
    assert statuses == [303, 303]
    db.session.expire_all()
    assert saved() == {"people": 1, "registrations": 1, "emails": 1}


def test_one_link_confirmed_twice_in_parallel_takes_one_seat(app, client, meetings):
    client.post("/inscription", data=form_data("seance-ouverte"))
    path = confirm_path()
    db.session.commit()

    def post(_):
        return app.test_client().post(path).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(post, range(2)))
    assert statuses == [200, 409]
    db.session.expire_all()
    assert [r.state for r in registrations()] == [S.SEATED]
    assert fresh(meetings["open"]).seats_taken == 1
    assert len(emails("seated_to_registrant")) == 1


# --- HTML and script are text, escaped everywhere -------------------------------------------

PAYLOAD = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def test_markup_is_stored_as_text_and_escaped_everywhere(client, meetings):
    data = form_data(
        "seance-moderee",
        first_name=PAYLOAD[:60],
        organisation=PAYLOAD,
        accessibility_needs=PAYLOAD,
    )
    refused = client.post("/inscription", data={**data, "email": "nope"}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in refused
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in refused
    assert 'value="&#34;&gt;&lt;script&gt;' in refused
    assert client.post("/inscription", data=data).status_code == 303
    person = db.session.scalar(db.select(Person))
    assert person.organisation == PAYLOAD  # stored as typed
    client.post(confirm_path())
    manage = client.get(path_of(manage_url(person))).get_data(as_text=True)
    assert "<script>" not in manage.split("<main", 1)[1].split("</main>")[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in manage
    for mail in emails():
        rendered = render(mail)
        assert "<script>" not in rendered.html
        assert "onerror=alert(2)>" not in rendered.html
        assert "\n" not in rendered.subject and "\r" not in rendered.subject
    staff = render(emails("new_request_to_staff")[0])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in staff.html
    assert PAYLOAD in staff.text  # plain text stays plain text


# --- links: tampered, foreign, expired, reused ---------------------------------------------


@pytest.fixture
def requested(client, meetings):
    client.post("/inscription", data=form_data("seance-ouverte"))
    return confirm_path()


def flip(path: str) -> str:
    """Return path with one character of its token changed."""
    head, token = path.rsplit("/", 1)
    middle = len(token) // 2
    changed = "A" if token[middle] != "A" else "B"
    return f"{head}/{token[:middle]}{changed}{token[middle + 1 :]}"


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_confirmation_link_is_refused(client, requested, method):
    response = getattr(client, method)(flip(requested))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Lien incorrect" in html and "Recommencer mon inscription" in html
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert [r.state for r in registrations()] == [S.REQUESTED]


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/inscription/confirmer/pas-un-jeton", ("get", "post")),
        ("/inscription/confirmer/" + "x" * 3000, ("get", "post")),
        ("/inscription/annuler/pas-un-jeton", ("get", "post")),
        ("/inscription/gerer/pas-un-jeton", ("get",)),
        ("/inscription/gerer/pas-un-jeton/ajouter", ("post",)),
        ("/inscription/gerer/pas-un-jeton/annuler/1", ("get", "post")),
        ("/inscription/gerer/pas-un-jeton/tout-annuler", ("get", "post")),
        ("/inscription/gerer/pas-un-jeton/coordonnees", ("get", "post")),
    ],
)
def test_garbage_links_are_refused(client, meetings, path, methods):
    """Every page behind an e-mailed link refuses a broken token, in French, with a way back."""
    for method in methods:
        response = getattr(client, method)(path)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "Lien incorrect" in html and 'href="/inscription"' in html


def test_a_token_for_another_purpose_or_shape_is_refused(app, client, requested):
    person = db.session.scalar(db.select(Person))
    manage_token = path_of(manage_url(person)).rsplit("/", 1)[1]
    assert client.post(f"/inscription/confirmer/{manage_token}").status_code == 400
    wrong_shape = make_token("confirm", {"k": 12, "p": "un"})
    assert client.post(f"/inscription/confirmer/{wrong_shape}").status_code == 400
    unknown = make_token("confirm", {"k": "inconnue", "p": person.id})
    gone = client.post(f"/inscription/confirmer/{unknown}")
    assert gone.status_code == 410 and "Demande expirée" in gone.get_data(as_text=True)
    assert [r.state for r in registrations()] == [S.REQUESTED]


def test_an_expired_link_is_refused(app, client, requested):
    app.config["IREV_LINK_MAX_AGE_DAYS"] = -1  # every link is now older than its life
    response = client.post(requested)
    assert response.status_code == 410
    assert "Lien expiré" in response.get_data(as_text=True)
    assert [r.state for r in registrations()] == [S.REQUESTED]
    assert client.get(requested).status_code == 410


def test_a_reused_confirmation_link(client, requested):
    assert client.post(requested).status_code == 200
    again = client.post(requested)
    assert again.status_code == 409
    assert "Ce lien a déjà servi" in again.get_data(as_text=True)
    assert len(emails("seated_to_registrant")) == 1


def test_manage_links_of_others_and_old_versions(client, meetings, create_person):
    stranger = create_person()
    other = create_person()
    from tests import factories

    theirs = factories.create_registration(meeting=meetings["open"], person=other)
    db.session.commit()
    base = path_of(manage_url(stranger))
    assert client.get(f"{base}/annuler/{theirs.id}").status_code == 404
    assert client.post(f"{base}/annuler/{theirs.id}").status_code == 404
    assert fresh(theirs).state is S.SEATED
    stranger.link_version = 5
    db.session.commit()
    assert client.get(base).status_code == 404
    missing = make_token("manage", {"p": 999_999, "v": 0})
    assert client.get(f"/inscription/gerer/{missing}").status_code == 404


def test_a_cancel_link_for_a_past_or_missing_registration(client, meetings, create_person):
    from irev.notifications import cancel_url
    from tests import factories

    past = factories.create_registration(meeting=meetings["past"], person=create_person())
    db.session.commit()
    response = client.post(path_of(cancel_url(past)))
    assert response.status_code == 409
    assert fresh(past).state is S.SEATED
    missing = make_token("cancel", {"r": 999_999})
    assert client.get(f"/inscription/annuler/{missing}").status_code == 404


# --- CSRF -------------------------------------------------------------------------------------


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_a_form_without_or_with_a_wrong_token_keeps_what_was_typed(self, client, meetings):
        for token in (None, "faux-jeton"):
            data = form_data("seance-ouverte", first_name="Dominique")
            if token:
                data["csrf_token"] = token
            response = client.post("/inscription", data=data)
            html = response.get_data(as_text=True)
            assert response.status_code == 400
            assert "Le formulaire a expiré" in html
            assert 'value="Dominique"' in html
            assert 'name="csrf_token" value="' in html  # a fresh token to send again
        assert saved() == NOTHING_SAVED

    def test_the_form_works_with_its_token(self, client, meetings):
        page = client.get("/inscription").get_data(as_text=True)
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        response = client.post(
            "/inscription", data={**form_data("seance-ouverte"), "csrf_token": token}
        )
        assert response.status_code == 303
        assert saved() == {"people": 1, "registrations": 1, "emails": 1}

    def test_confirmation_and_checks_need_the_token(self, client, meetings):
        page = client.get("/inscription").get_data(as_text=True)
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/inscription", data={**form_data("seance-ouverte"), "csrf_token": token})
        refused = client.post(confirm_path())
        assert refused.status_code == 400
        assert "La page a expiré" in refused.get_data(as_text=True)
        assert [r.state for r in registrations()] == [S.REQUESTED]
        check = client.post(
            "/inscription/valider", data=form_data(), headers={"HX-Request": "true"}
        )
        assert check.status_code == 204


# --- rate limits ------------------------------------------------------------------------------


class TestRateLimits:
    @pytest.fixture
    def app_config(self):
        return {
            "RATELIMIT_ENABLED": True,
            "IREV_RATELIMIT_SUBMIT_IP": "3 per minute",
            "IREV_RATELIMIT_SUBMIT_EMAIL": "2 per minute",
            "IREV_RATELIMIT_CHECK_IP": "4 per minute",
            "IREV_RATELIMIT_CHECK_EMAIL": "100 per minute",
        }

    def post(self, client, address: str, ip: str, **extra):
        data = form_data("seance-ouverte", email=address)
        return client.post("/inscription", data=data, environ_base={"REMOTE_ADDR": ip}, **extra)

    def test_per_client_address(self, client, meetings):
        statuses = [
            self.post(client, f"p{n}@ville.example", "10.0.0.1").status_code for n in range(4)
        ]
        assert statuses == [303, 303, 303, 429]
        refused = self.post(client, "p9@ville.example", "10.0.0.1")
        html = refused.get_data(as_text=True)
        assert refused.status_code == 429
        assert "trop de demandes" in html and 'value="p9@ville.example"' in html
        assert self.post(client, "p9@ville.example", "10.0.0.2").status_code == 303
        assert counts()["people"] == 4

    def test_per_target_address_whatever_the_client(self, client, meetings):
        statuses = [
            self.post(
                client, "Cible@Ville.example" if n % 2 else "cible@ville.example", f"10.1.0.{n}"
            ).status_code
            for n in range(3)
        ]
        assert statuses == [303, 303, 429]
        assert len(emails()) == 1  # the second one was a duplicate within the window

    def test_htmx_gets_the_form_back_with_the_message(self, client, meetings):
        for n in range(3):
            self.post(client, f"h{n}@ville.example", "10.2.0.1")
        response = self.post(client, "h9@ville.example", "10.2.0.1", headers={"HX-Request": "true"})
        assert response.status_code == 422
        assert "trop de demandes" in response.get_data(as_text=True)

    def test_inline_checks_pause_quietly(self, client, meetings):
        headers = {"HX-Request": "true", "HX-Trigger-Name": "email"}
        statuses = [
            client.post("/inscription/valider", data=form_data(), headers=headers).status_code
            for _ in range(5)
        ]
        assert statuses == [200, 200, 200, 200, 204]

    def test_other_pages_are_not_limited(self, client, meetings):
        for _ in range(10):
            assert client.get("/inscription").status_code == 200


def test_confirming_after_the_meeting_started_reports_it(client, meetings):
    client.post("/inscription", data=form_data("seance-ouverte"))
    meetings["open"].starts_at = utcnow() - timedelta(minutes=5)
    meetings["open"].ends_at = utcnow() + timedelta(hours=1)
    db.session.commit()
    response = client.post(confirm_path())
    assert response.status_code == 200
    assert "Les inscriptions à cette séance sont closes." in response.get_data(as_text=True)
    assert registrations() == []
    assert fresh(meetings["open"]).seats_taken == 0


# --- one table of bad-input classes, over every rule of the URL map --------------------------
#
# Each class is applied to every rule of app.url_map (GET and POST), with a signed-in staff
# client (public pages do not mind it). Each answer must be below 500, a 4xx must be French,
# and a refused request saves nothing. NUL never reaches a stored text.

HUGE = "9" * 23  # past 64 bits
NUL = "a\x00b"
ENGLISH = ("Bad Request", "Not Found", "Internal Server Error", "Method Not Allowed", "Not a valid")
FRENCH_MARKERS = ("é", "è", "à", "ç", "ê", "’", "'")
QUERY_KEYS = (
    "q", "page", "etat", "departement", "mandat", "programme", "id", "numero", "action",
    "acteur", "objet", "du", "au", "next", "retour", "seance", "dernier",
)  # fmt: skip
#: Destructive or session-ending rules go last, so that the others meet the rows they expect.
#: Unpublishing the cycle takes the calendars checked at the end off the site: publishing
#: it again comes right after; so does publishing the meeting after unpublishing it (a
#: cancellation previewed but not confirmed leaves it as it was).
LAST = ("admin.cycle_unpublish", "admin.cycle_publish", "admin.meeting_unpublish",
        "admin.meeting_publish", "admin.person_erase", "admin.meeting_cancel",
        "registration.cancel_everything", "admin.sign_out")  # fmt: skip


def valid_fields(world) -> dict:
    """Return plausible values for every field of every form of the site (unknown are ignored)."""
    return {
        **form_data(world["meeting"].slug, email="nouvelle.personne@ville.example"),
        "title": "Un titre",
        "topic_announced": "y",
        "day": "2031-03-27",
        "start": "17:00",
        "end": "19:00",
        "mode": "video",
        "capacity": "80",
        "approval_mode": "automatic",
        "video_url": "https://zoom.example/j/1",
        "retention_months": "12",
        "contact_email": "contact@irev.fr",
        "reason": "Un motif",
        # Mass changes are previewed, then confirmed: the walk confirms, so that each change
        # (and the cancellation, last) really happens; the preview runs the same validation.
        "confirmer": "1",
        "password": "une phrase de passe",
        "action": "valider",
        "ids": [str(world["registration"].id)],
        f"presence-{world['past_registration'].id}": "present",
        "retour": "/admin/",
        "champ": "first_name",
    }


def with_each_value(data: dict, change) -> dict:
    """Return data with change() applied to every value (and to each item of a list)."""
    return {
        key: [change(v) for v in value] if isinstance(value, list) else change(value)
        for key, value in data.items()
    }


def nul_inside(value: str) -> str:
    """Return value with a NUL character in its middle."""
    middle = len(value) // 2
    return f"{value[:middle]}\x00{value[middle:]}"


# Each class: name -> function(world, rule, method) returning a list of (path values, query,
# form) variants, or [] when the class does not apply to that rule and method.
def _nul_path(world, rule, method):
    strings = [a for a in rule.arguments if not isinstance(rule._converters[a], IntegerConverter)]
    if not strings:
        return [({}, {}, None, "%00")]
    return [({name: NUL}, {}, None, "") for name in strings]


def _nul_query(world, rule, method):
    query = {key: NUL for key in QUERY_KEYS}
    return [({}, query, None, ""), ({}, {"\x00": "x"}, None, "")]


def _nul_form(world, rule, method):
    if method != "POST":
        return []
    valid = valid_fields(world)
    return [
        ({}, {}, with_each_value(valid, nul_inside), ""),
        ({}, {}, {**valid, "champ\x00": "x"}, ""),
        *[({}, {}, {**valid, key: nul_inside(str(valid[key]))}, "") for key in (
            "first_name", "email", "title", "q", "accessibility_needs", "password", "reason"
        ) if key in valid],
    ]  # fmt: skip


def _huge_path(world, rule, method):
    ints = [a for a in rule.arguments if isinstance(rule._converters[a], IntegerConverter)]
    return [({name: HUGE}, {}, None, "") for name in ints]


def _huge_query(world, rule, method):
    keys = ("page", "programme", "id", "numero")
    return [({}, dict.fromkeys(keys, value), None, "") for value in (HUGE, "²", "-1", "١٢")]


def _huge_form(world, rule, method):
    if method != "POST":
        return []
    valid = valid_fields(world)
    return [
        ({}, {}, {**valid, "ids": [HUGE, "²", "-1", "١"], f"presence-{HUGE}": "present",
                  "presence-²": "present", "capacity": HUGE, "retention_months": HUGE}, ""),
    ]  # fmt: skip


#: Optional fields of the forms: a script or an old page may leave them out altogether.
OPTIONAL_FIELDS = (
    "phone", "accessibility_needs", "website", "address", "description", "speakers",
    "partners", "video_url", "video_meeting_id", "video_passcode", "registration_opens_at",
    "registration_closes_at", "audience", "format_line", "introduction", "planned_topics",
    "contact_name", "contact_role", "contact_email", "contact_phone", "reason", "topic_announced",
)  # fmt: skip


def _absent_fields(world, rule, method):
    if method != "POST":
        return []
    valid = valid_fields(world)
    without = {k: v for k, v in valid.items() if k not in OPTIONAL_FIELDS}
    return [({}, {}, {}, ""), ({}, {}, without, "")]


def _dates(world, rule, method):
    if method != "POST":
        return []
    valid = valid_fields(world)
    return [
        ({}, {}, {**valid, "day": day, "registration_opens_at": f"{day}T09:00",
                  "registration_closes_at": f"{day}T10:00"}, "")
        for day in ("0001-01-01", "9999-12-31")
    ]  # fmt: skip


def _international_email(world, rule, method):
    if method != "POST":
        return []
    valid = valid_fields(world)
    return [
        ({}, {}, {**valid, "email": "josé@example.org", "contact_email": "josé@example.org"}, "")
    ]


BAD_INPUT_CLASSES = {
    "NUL dans le chemin": _nul_path,
    "NUL dans la requête": _nul_query,
    "NUL dans le formulaire": _nul_form,
    "entier géant dans le chemin": _huge_path,
    "entier géant dans la requête": _huge_query,
    "entier géant dans le formulaire": _huge_form,
    "champs facultatifs absents": _absent_fields,
    "dates hors limites": _dates,
    "adresse non ASCII": _international_email,
}


@pytest.fixture
def world(app, staff_client, client):
    """Rows every rule can name: a programme, meetings, a person, registrations, an e-mail."""
    from irev.notifications import cancel_url
    from irev.services import outbox as outbox_service
    from tests import factories

    meetings = season()
    person = factories.create_person(email="personne@ville.example")
    registration = factories.create_registration(meeting=meetings["open"], person=person)
    past_registration = factories.create_registration(meeting=meetings["past"], person=person)
    outbox_service.enqueue(
        "seated_to_registrant", person.email, dedupe_key="test:world", registration=registration
    )
    db.session.commit()
    client.post("/inscription", data=form_data("seance-ouverte"))
    return {
        "meeting": meetings["open"],
        "past": meetings["past"],
        "person": person,
        "registration": registration,
        "past_registration": past_registration,
        "email": db.session.scalar(db.select(OutboundEmail)),
        "manage": path_of(manage_url(person)).rsplit("/", 1)[1],
        "confirm": confirm_path().rsplit("/", 1)[1],
        "cancel": path_of(cancel_url(registration)).rsplit("/", 1)[1],
    }


def rule_values(world, rule) -> dict:
    """Return valid values for the arguments of a rule."""
    token = {
        "registration.confirm": "confirm",
        "registration.confirm_post": "confirm",
        "registration.cancel_link": "cancel",
    }.get(rule.endpoint, "manage")
    past_pages = ("admin.attendance", "admin.attendance_report", "admin.attendance_match")
    meeting = world["past"] if rule.endpoint in past_pages else world["meeting"]
    values = {
        "meeting_id": meeting.id,
        "registration_id": world["registration"].id,
        "person_id": world["person"].id,
        "email_id": world["email"].id,
        "programme_id": world["meeting"].programme_id,
        "slug": world["meeting"].slug,
        "fmt": "csv",
        "token": world[token],
        "year": world["past"].starts_at.year,
        "participant_id": 1,
        # The signed-in account itself: disabling it is refused, so the walk goes on signed in.
        "staff_id": staff.get_by_email("equipe@irev.fr").id,
    }
    return {name: values[name] for name in rule.arguments}


def stored_state() -> dict:
    """Return the row count of every table."""
    return {
        table.name: db.session.scalar(db.select(db.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def stored_nul() -> list[str]:
    """Return table.column for every stored text holding a NUL character."""
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, db.String):
                rows = db.session.execute(db.select(column).where(column.is_not(None))).scalars()
                if any("\x00" in str(value) for value in rows):
                    found.append(f"{table.name}.{column.name}")
    return found


def build_path(rule, values: dict, suffix: str) -> str:
    """Return the path of rule with values (quoted, NUL included), plus a raw suffix."""
    from urllib.parse import quote

    path = rule.rule
    for name, value in values.items():
        path = re.sub(rf"<(?:\w+:)?{name}>", quote(str(value), safe=""), path)
    return path + suffix


def is_french(html: str) -> bool:
    """Return True for a body written in French (and free of Werkzeug's English pages)."""
    return any(m in html for m in FRENCH_MARKERS) and not any(e in html for e in ENGLISH)


@pytest.mark.parametrize("bad_class", list(BAD_INPUT_CLASSES))
def test_every_rule_survives_every_class_of_bad_input(app, staff_client, world, bad_class):
    from tests.admin_helpers import sign_in

    make_variants = BAD_INPUT_CLASSES[bad_class]
    rules = sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint != "static"),
        key=lambda r: (r.endpoint in LAST, LAST.index(r.endpoint) if r.endpoint in LAST else 0),
    )
    failures, tried = [], 0
    for rule in rules:
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            for changes, query, form, suffix in make_variants(world, rule, method):
                values = {**rule_values(world, rule), **changes}
                path = build_path(rule, values, suffix)
                before = stored_state()
                response = staff_client.open(
                    path, method=method, query_string=query, data=form or {}
                )
                tried += 1
                # A download (the annual report's XLSX) is bytes: only errors must read French.
                html = response.get_data().decode("utf-8", "replace")
                label = f"{method} {rule.endpoint} {path[:60]!r} {sorted(query)[:3]}"
                if response.status_code >= 500:
                    failures.append(f"{label}: {response.status_code}")
                elif response.status_code >= 400:
                    if not is_french(html):
                        failures.append(f"{label}: {response.status_code} not French")
                    if stored_state() != before:
                        failures.append(f"{label}: refused, yet rows changed")
                db.session.rollback()
                if rule.endpoint == "admin.sign_out":
                    sign_in(staff_client)
    assert tried
    assert stored_nul() == []
    for check in ("/calendrier.ics", f"/seances/{world['meeting'].slug}.ics", "/"):
        assert staff_client.get(check).status_code == 200
    assert failures == [], "\n".join(failures)
