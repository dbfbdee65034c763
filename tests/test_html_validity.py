"""Valid HTML on every page and state (RGAA criterion 8.2), checked by the Nu HTML Checker.

Every public and staff page is rendered with the in-process client in the states a visitor
meets (empty form, form with errors, after sending, pages reached through real e-mailed links,
error pages...), written to files, and checked by vnu in ONE run (one JVM start). htmx
fragments are checked inside a minimal valid document. Every GET rule of the URL map is either
rendered here or listed in NOT_HTML with the reason, so a new page cannot be forgotten.

vnu comes from the npm registry (`make tools`, .tools/node_modules/vnu-jar), Java from Debian.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError

from irev.dates import to_paris
from irev.extensions import db
from irev.models import (
    OutboundEmail,
    Person,
    Registration,
    RegistrationState,
    utcnow,
)
from irev.notifications import cancel_url, manage_url, reconfirm_url
from irev.services import outbox
from irev.services.territories_load import load_territories
from tests import factories
from tests.admin_helpers import create_staff, meeting_form, sign_in
from tests.registration_support import confirm_path, emails, form_data, path_of, season
from tests.territory_support import installed_dir, write_subset

ROOT = Path(__file__).resolve().parents[1]
VNU = ROOT / ".tools" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
JAVA = shutil.which("java")

#: GET rules that answer something other than an HTML page, and why they are not checked here.
NOT_HTML = {
    "static": "CSS, JavaScript and images, not HTML",
    "public.healthz": "plain text for the load balancer",
    "public.meeting_calendar": "iCalendar file (tests/test_calendars.py reads it with two parsers)",
    "public.programme_calendar": "iCalendar file (tests/test_calendars.py)",
    "public.archived_calendar": "iCalendar file of a past cycle (tests/test_cycles.py)",
    "admin.export_meeting": "CSV / spreadsheet download (tests/test_exports.py)",
    "admin.export_programme": "CSV / spreadsheet download (tests/test_exports.py)",
    "admin.person_export": "JSON download of a person's data (tests/test_gdpr.py)",
    "admin.resource_file": "a meeting's file as uploaded (tests/test_followup_resources.py)",
    "registration.resource_download": "a meeting's file (tests/test_followup_resources.py)",
    "admin.speaker_questions_export": "spreadsheet download (tests/test_speaker_questions.py)",
    "admin.programme_questionnaire_export": "spreadsheet download (tests/test_questionnaire.py)",
    "admin.cycle_report_xlsx": "XLSX workbook of the annual report (tests/test_annual_report.py)",
}

#: Wraps an htmx fragment so that the checker sees a complete document.
FRAGMENT_PAGE = (
    '<!doctype html>\n<html lang="fr"><head><meta charset="utf-8"><title>{title}</title>'
    "</head><body>\n{body}\n</body></html>\n"
)
TABLE_FRAGMENT_PAGE = FRAGMENT_PAGE.replace("{body}", "<table><tbody>{body}</tbody></table>")
#: htmx takes a <title> found in a response for the page's title; it never lands in the body.
TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)


def as_document(fragment: str) -> str:
    """Return an htmx fragment inside a minimal valid document (its <title> in the head)."""
    found = TITLE.search(fragment)
    title = found.group(1) if found else "Fragment"
    body = TITLE.sub("", fragment, count=1).strip()
    template = TABLE_FRAGMENT_PAGE if body.startswith("<tr") else FRAGMENT_PAGE
    if body.startswith("<li"):  # a listbox's options (htmx swaps them inside their <ul>)
        items, after = body.rsplit("</li>", 1)
        body = f'<ul role="listbox" aria-label="Options">{items}</li></ul>{after}'
    return template.format(title=title, body=body)


@pytest.fixture
def app_config() -> dict:
    """Error pages rendered as in production (no exception propagated to the test)."""
    return {"PROPAGATE_EXCEPTIONS": False}


@dataclass
class Pages:
    """The rendered pages, and which endpoints they came from."""

    app: Flask
    folder: Path
    files: dict[Path, str] = field(default_factory=dict)
    endpoints: set[str] = field(default_factory=set)
    unexpected: list[str] = field(default_factory=list)

    def keep(self, name: str, response, expected: tuple[int, ...], fragment: bool) -> str:
        """Check the status, write the body to a file named after the state, return the body."""
        body = response.get_data(as_text=True)
        if response.status_code not in expected:
            self.unexpected.append(f"{name}: {response.status_code} {body[-300:]!r}")
        if fragment:
            if body.lstrip().lower().startswith("<!doctype"):
                self.unexpected.append(f"{name}: a full page answered an htmx request")
            if not body.strip():
                return body
            document = as_document(body)
        else:
            assert response.mimetype == "text/html", (name, response.mimetype)
            document = body
        path = self.folder / f"{len(self.files):03d}-{name}.html"
        path.write_text(document, encoding="utf-8")
        self.files[path] = name
        return body

    def _note(self, url: str, method: str) -> None:
        """Remember the endpoint a URL belongs to."""
        adapter = self.app.url_map.bind("irev.test")
        try:
            endpoint, _ = adapter.match(urlsplit(url).path, method=method)
        except Exception:  # an unknown URL (the 404 page) or a refused method (405)
            return
        if method == "GET":
            self.endpoints.add(endpoint)

    def get(self, client, name: str, url: str, expected=(200,), fragment=False, target=None):
        """GET url (as htmx aiming at target when fragment) and keep the page."""
        self._note(url, "GET")
        headers = {"HX-Request": "true"} if fragment else {}
        if target:
            headers["HX-Target"] = target
        response = client.get(url, headers=headers, follow_redirects=True)
        return self.keep(name, response, expected, fragment)

    def post(self, client, name: str, url: str, data=None, expected=(200,), fragment=False):
        """POST data to url, follow a redirect as a browser does, and keep the page."""
        self._note(url, "POST")
        headers = {"HX-Request": "true"} if fragment else {}
        response = client.post(url, data=data or {}, headers=headers, follow_redirects=True)
        return self.keep(name, response, expected, fragment)


def render_public(pages: Pages, app: Flask) -> dict:
    """Render every public page and state; return the ids the staff pages need."""
    client = app.test_client()
    pages.get(client, "programme-absent", "/")
    meetings = season(capacity=40)
    programme = meetings["open"].programme
    full = factories.create_meeting(
        programme=programme,
        slug="seance-complete",
        title="Séance complète",
        starts_at=utcnow().replace(microsecond=0) + timedelta(days=20),
        capacity=1,
    )
    factories.create_registration(meeting=full)
    factories.create_registration(meeting=full, state=RegistrationState.WAITING)
    db.session.commit()
    open_slug = meetings["open"].slug

    pages.get(client, "programme", "/")
    for key, meeting in (*meetings.items(), ("full", full)):
        expected = (404,) if key == "draft" else (200,)
        pages.get(client, f"seance-{key}", f"/seances/{meeting.slug}", expected)
    pages.get(client, "seance-places", f"/seances/{open_slug}/places", fragment=True)
    pages.get(client, "seance-complete-places", f"/seances/{full.slug}/places", fragment=True)
    pages.get(client, "accessibilite", "/accessibilite")
    pages.get(client, "schema-pluriannuel", "/accessibilite/schema-pluriannuel")
    pages.get(client, "plan-du-site", "/plan-du-site")
    pages.get(client, "mentions-legales", "/mentions-legales")
    pages.get(client, "donnees-personnelles", "/donnees-personnelles")
    pages.get(client, "cycles-precedents-vide", "/cycles-precedents")
    older = factories.create_programme(slug="cycle-ancien", title="Cycle ancien", year=2020)
    factories.create_meeting(
        programme=older, slug="seance-ancienne", starts_at=utcnow() - timedelta(days=2000)
    )
    db.session.commit()
    pages.get(client, "cycles-precedents", "/cycles-precedents")
    pages.get(client, "cycle-ancien", "/cycles/cycle-ancien")

    pages.get(client, "formulaire-vide", "/inscription")
    pages.get(client, "formulaire-une-seance", f"/inscription?seance={open_slug}")
    pages.get(client, "formulaire-places", "/inscription/places", fragment=True)
    load_territories(write_subset(installed_dir(), pages.folder / "territoires"))
    db.session.commit()
    for name, typed in (("suggestions", "Ami"), ("suggestions-aucune", "Zzzz")):
        pages.get(
            client,
            f"formulaire-{name}",
            f"/inscription/collectivites?organisation={typed}",
            fragment=True,
        )
    homonyms = form_data(open_slug, organisation="Saint-Martin")
    pages.post(client, "formulaire-choix-collectivite", "/inscription", homonyms)
    pages.post(
        client, "formulaire-choix-collectivite-htmx", "/inscription", homonyms, fragment=True
    )
    pages.post(
        client,
        "formulaire-choix-collectivite-erreur",
        "/inscription",
        {**homonyms, "choix": "1"},
        expected=(422,),
    )
    wrong = form_data(open_slug, email="pas-une-adresse", first_name="", data_notice=None)
    pages.post(client, "formulaire-erreurs", "/inscription", wrong, expected=(422,))
    pages.post(
        client, "formulaire-erreurs-htmx", "/inscription", wrong, expected=(200, 422), fragment=True
    )
    pages.post(
        client,
        "formulaire-controle-champ",
        "/inscription/valider",
        {**wrong, "field": "email"},
        fragment=True,
    )
    pages.post(
        client,
        "formulaire-envoye",
        "/inscription",
        form_data(open_slug, meetings["moderated"].slug),
    )
    pages.get(client, "formulaire-envoye-direct", "/inscription/envoyee")

    confirm = confirm_path()
    pages.get(client, "confirmer", confirm)
    pages.post(client, "confirmer-fait", confirm)
    pages.get(client, "confirmer-deja", confirm, expected=(409,))

    person = db.session.scalar(db.select(Person).where(Person.email == form_data()["email"]))
    registration = db.session.scalar(
        db.select(Registration).where(
            Registration.person_id == person.id, Registration.meeting_id == meetings["open"].id
        )
    )
    manage = path_of(manage_url(person))
    pages.get(client, "gerer", manage)
    pages.get(client, "coordonnees", f"{manage}/coordonnees")
    pages.post(
        client,
        "coordonnees-erreurs",
        f"{manage}/coordonnees",
        {"first_name": "", "last_name": "", "organisation": "", "mandate": "", "department": ""},
        expected=(422,),
    )
    details = {
        name: form_data()[name]
        for name in ("first_name", "last_name", "phone", "organisation", "mandate", "department")
    }
    pages.post(
        client, "coordonnees-enregistrees", f"{manage}/coordonnees", {**details, "phone": ""}
    )
    pages.post(client, "ajouter-erreur", f"{manage}/ajouter", {}, expected=(422,))
    pages.post(client, "ajouter-fait", f"{manage}/ajouter", {"meetings": [meetings["second"].slug]})

    reconfirm = path_of(reconfirm_url(registration))
    pages.get(client, "reconfirmer", reconfirm)
    pages.post(client, "reconfirmer-erreur", reconfirm, {"reponse": "?"}, expected=(400,))
    pages.post(client, "reconfirmer-fait", reconfirm, {"reponse": "confirmer"})
    pages.get(client, "reconfirmer-deja", reconfirm, expected=(409,))

    one = f"{manage}/annuler/{registration.id}"
    pages.get(client, "annuler-une", one)
    cancel = path_of(cancel_url(registration))
    pages.get(client, "lien-annulation", cancel)
    pages.post(client, "annuler-une-fait", one)
    pages.get(client, "lien-annulation-deja", cancel, expected=(409,))
    pages.get(client, "reconfirmer-plus-possible", reconfirm, expected=(409,))
    pages.get(client, "tout-annuler", f"{manage}/tout-annuler")
    pages.post(client, "tout-annuler-fait", f"{manage}/tout-annuler")
    pages.get(
        client, "lien-invalide", "/inscription/gerer/faux-jeton", expected=(400, 403, 404, 410)
    )
    pages.get(
        client,
        "lien-confirmation-invalide",
        "/inscription/confirmer/faux",
        expected=(400, 403, 404, 410),
    )

    verify = "/attestations/verifier"
    pages.get(client, "attestation-verifier", verify)
    pages.get(client, "attestation-verifier-erreur", f"{verify}?code=x", expected=(422,))
    pages.get(client, "attestation-inconnue", f"{verify}?code=ABCD-EFGH-JKMN", expected=(404,))

    pages.get(client, "erreur-404", "/page-inexistante", expected=(404,))
    pages.get(client, "erreur-404-htmx", "/page-inexistante", expected=(404,), fragment=True)
    pages.get(client, "erreur-405", "/inscription/valider", expected=(405,))
    pages.get(client, "erreur-500", "/_test/erreur", expected=(500,))
    pages.get(client, "erreur-503", "/_test/base-indisponible", expected=(503,))
    return {"meetings": meetings, "full": full, "person": person}


def render_assistants(pages: Pages, app: Flask, ids: dict) -> None:
    """Render the assistant's path: the form, the confirmation, their page and its actions."""
    from irev.services.assistants import assistant_token

    client = app.test_client()
    meetings = ids["meetings"]
    slug = meetings["open"].slug
    official = "claire.dupont@roubaix.example"
    data = form_data(
        slug,
        for_whom="elu",
        assistant_first_name="Samia",
        assistant_last_name="Benali",
        assistant_email="samia.benali@roubaix.example",
        civilite="madame",
        first_name="Claire",
        last_name="Dupont",
        email=official,
        mandate="maire",
    )
    pages.get(client, "formulaire-assistant", "/inscription?pour=elu")
    pages.post(
        client,
        "formulaire-assistant-erreurs",
        "/inscription",
        {**data, "assistant_email": official, "assistant_last_name": ""},
        expected=(422,),
    )
    pages.post(client, "formulaire-assistant-envoye", "/inscription", data)
    copy = emails("request_to_registrant", "samia.benali@roubaix.example")[-1]
    confirm = path_of(copy.context["confirm_url"])
    pages.get(client, "confirmer-assistant", confirm)
    pages.post(client, "confirmer-assistant-fait", confirm)
    helper = db.session.scalar(db.select(Person).where(Person.first_name == "Samia"))
    dupont = db.session.scalar(db.select(Person).where(Person.email == official))
    page = f"/inscription/assistant/{assistant_token(helper)}"
    pages.get(client, "assistant", page)
    pages.post(client, "assistant-ajouter-erreur", f"{page}/elu/{dupont.id}/ajouter", {}, (422,))
    pages.get(client, "assistant-coordonnees", f"{page}/elu/{dupont.id}/coordonnees")
    registration = dupont.registrations[0]
    pages.get(client, "assistant-annuler", f"{page}/elu/{dupont.id}/annuler/{registration.id}")
    pages.get(client, "gerer-avec-assistant", path_of(manage_url(dupont)))


def render_staff(pages: Pages, app: Flask, ids: dict) -> None:
    """Render every staff page and state, signed in, with registrations of every kind."""
    client = app.test_client()
    create_staff()
    pages.get(client, "equipe-connexion", "/admin/connexion")
    pages.post(
        client,
        "equipe-connexion-erreur",
        "/admin/connexion",
        {"email": "", "password": ""},
        expected=(200, 401, 422),
    )
    assert sign_in(client).status_code == 303

    meetings, full, person = ids["meetings"], ids["full"], ids["person"]
    moderated = meetings["moderated"]
    pending = factories.create_registration(
        meeting=moderated, state=RegistrationState.PENDING_APPROVAL
    )
    factories.create_registration(meeting=moderated, state=RegistrationState.PENDING_APPROVAL)
    factories.create_registration(meeting=moderated, state=RegistrationState.REJECTED)
    seated = factories.create_registration(meeting=meetings["second"])
    db.session.commit()
    programme_id = moderated.programme_id

    pages.get(client, "tableau-de-bord", "/admin/")
    pages.get(client, "seances", "/admin/seances")
    pages.get(client, "plan-accessibilite", "/admin/accessibilite")
    bad_plan = {"first_year": "2027", "last_year": "2031", "schema_text": "", "actions_year": "x"}
    pages.post(client, "plan-accessibilite-erreurs", "/admin/accessibilite", bad_plan, (422,))
    pages.get(client, "plan-du-site-equipe", "/plan-du-site")
    pages.get(client, "seance-nouvelle", f"/admin/seances/nouvelle?programme={programme_id}")
    pages.post(
        client,
        "seance-nouvelle-erreurs",
        f"/admin/seances/nouvelle?programme={programme_id}",
        meeting_form(title="", capacity="0", day=""),
        expected=(422,),
    )
    pages.get(client, "seance-modifier", f"/admin/seances/{moderated.id}/modifier")
    pages.post(
        client,
        "seance-modifier-erreurs",
        f"/admin/seances/{moderated.id}/modifier",
        meeting_form(start="20:00", end="18:00"),
        expected=(422,),
    )
    second = meetings["second"]
    pages.get(client, "seance-annuler", f"/admin/seances/{second.id}/annuler")
    cancel_url_ = f"/admin/seances/{second.id}/annuler"
    pages.post(client, "seance-annuler-erreurs", cancel_url_, {"reason": ""}, expected=(422,))
    preview = pages.post(
        client, "seance-annuler-apercu", cancel_url_, {"reason": "Salle indisponible."}
    )
    assert "1 personne ayant une place reçoit un e-mail" in preview
    # The seated person was told the current time: moving it is previewed before saving.
    outbox.enqueue(
        "seated_to_registrant", seated.person.email, dedupe_key="told", registration=seated
    )
    db.session.commit()
    preview = pages.post(
        client, "seance-modifier-apercu", f"/admin/seances/{second.id}/modifier", meeting_form()
    )
    assert "Enregistrer et envoyer les e-mails" in preview
    for key, meeting in (
        ("moderee", moderated),
        ("complete", full),
        ("annulee", meetings["cancelled"]),
    ):
        url = f"/admin/seances/{meeting.id}/inscriptions"
        pages.get(client, f"inscriptions-{key}", url)
    url = f"/admin/seances/{moderated.id}/inscriptions"
    pages.get(client, "inscriptions-filtre", f"{url}?etat=pending_approval&q=Martin")
    pages.get(
        client,
        "inscriptions-htmx",
        f"{url}?etat=pending_approval",
        fragment=True,
        target="resultats",
    )
    pages.get(client, "compteurs-htmx", url, fragment=True, target="seance-compteurs")
    pages.get(client, "inscriptions-page-vide", f"{url}?q=personne")
    pages.post(client, "valider-htmx", f"/admin/inscriptions/{pending.id}/valider", fragment=True)
    pages.post(
        client,
        "lot-sans-selection",
        f"/admin/seances/{moderated.id}/inscriptions/lot",
        {"action": "approve"},
        expected=(200, 422),
    )
    pages.get(client, "refuser", f"/admin/inscriptions/{pending.id}/refuser")
    pages.post(
        client,
        "refuser-erreur",
        f"/admin/inscriptions/{pending.id}/refuser",
        {"reason": "x" * 1001},
        expected=(422,),
    )
    pages.get(client, "annuler-place", f"/admin/inscriptions/{seated.id}/annuler")
    pages.get(client, "inscrire", f"/admin/seances/{moderated.id}/inscrire")
    pages.post(
        client,
        "inscrire-erreurs",
        f"/admin/seances/{moderated.id}/inscrire",
        {"email": "x"},
        expected=(422,),
    )
    pages.get(client, "presence", f"/admin/seances/{meetings['past'].id}/presence")
    report_url = f"/admin/seances/{meetings['past'].id}/presence/rapport"
    pages.get(client, "presence-rapport", report_url)
    broken = {"report": (io.BytesIO(b"Nom\nx\n"), "rapport.csv")}
    pages.post(client, "presence-rapport-erreurs", report_url, broken, expected=(422,))
    start = to_paris(meetings["past"].starts_at)
    report = (
        "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"
        f"Tablette,,{start:%m/%d/%Y %I:%M:%S %p},{start + timedelta(hours=1):%m/%d/%Y %I:%M:%S %p}"
        ",60,Yes\n"
    )
    good = {"report": (io.BytesIO(report.encode()), "rapport.csv")}
    pages.post(client, "presence-rapport-importe", report_url, good)
    render_followup(pages, app, client, meetings["past"])
    pages.get(client, "emargement", f"/admin/seances/{meetings['second'].id}/emargement")
    pages.get(client, "chiffres", "/admin/chiffres")
    pages.get(client, "chiffres-programme", f"/admin/programmes/{programme_id}/chiffres")
    pages.get(client, "chiffres-seance", f"/admin/seances/{moderated.id}/chiffres")
    pages.get(client, "bilan", "/admin/bilan")
    pages.get(client, "bilan-cycle", f"/admin/cycles/{programme_id}/bilan")
    pages.get(client, "reglages", "/admin/reglages")
    pages.post(
        client, "reglages-erreurs", "/admin/reglages", {"IREV_DPO_EMAIL": "x"}, expected=(422,)
    )
    pages.post(client, "reglages-enregistres", "/admin/reglages", {"IREV_HOST_NAME": "OVH SAS"})
    pages.get(client, "personnes", "/admin/personnes")
    pages.get(client, "personnes-recherche", "/admin/personnes?q=Durand")
    pages.get(client, "personne", f"/admin/personnes/{person.id}")
    pages.get(client, "personne-modifier", f"/admin/personnes/{person.id}/modifier")
    pages.post(
        client,
        "personne-modifier-erreurs",
        f"/admin/personnes/{person.id}/modifier",
        {"first_name": "", "email": "x"},
        expected=(422,),
    )
    pages.get(client, "personne-effacer", f"/admin/personnes/{person.id}/effacer")
    pages.get(client, "programme", f"/admin/programme?id={programme_id}")
    pages.get(client, "programme-nouveau", "/admin/programme")
    pages.post(
        client,
        "programme-erreurs",
        f"/admin/programme?id={programme_id}",
        {"title": "", "retention_months": "0"},
        expected=(422,),
    )
    pages.get(client, "cycles", "/admin/cycles")
    pages.get(client, "cycle-nouveau", "/admin/cycles/nouveau")
    pages.post(
        client,
        "cycle-nouveau-erreurs",
        "/admin/cycles/nouveau",
        {"title": "", "year": "", "related_events": "demain", "default_approval_mode": "x"},
        expected=(422,),
    )
    pages.get(client, "cycle-dupliquer", f"/admin/cycles/{programme_id}/dupliquer")
    pages.post(
        client,
        "cycle-dupliquer-erreurs",
        f"/admin/cycles/{programme_id}/dupliquer",
        {"title": "", "day_1": ""},
        expected=(422,),
    )
    pages.get(client, "emails", "/admin/emails")
    pages.get(client, "emails-filtre", "/admin/emails?etat=pending&q=camille")
    email = db.session.scalar(db.select(OutboundEmail).order_by(OutboundEmail.id.desc()).limit(1))
    pages.get(client, "email", f"/admin/emails/{email.id}")
    pages.get(client, "email-apercu", f"/admin/emails/{email.id}/apercu.html")
    pages.get(client, "journal", "/admin/journal")
    pages.get(client, "journal-filtre", "/admin/journal?action=registration.approve")
    render_accounts(pages, app, client)
    pages.get(client, "equipe-404", "/admin/seances/999999/modifier", expected=(404,))


def render_followup(pages: Pages, app: Flask, client, meeting) -> None:
    """Render a past meeting's resources page (empty, refused, filled) and its follow-up."""
    app.config["IREV_RESOURCES_DIR"] = str(pages.folder / "ressources")
    url = f"/admin/seances/{meeting.id}/ressources"
    pages.get(client, "ressources", url)
    renamed = {"file": (io.BytesIO(b"MZ\x90\x00"), "programme.pdf"), "title": "Programme"}
    pages.post(client, "ressources-erreur-fichier", url, renamed, expected=(422,))
    bad_link = {"replay_url": "http://exemple.fr"}
    pages.post(client, "ressources-erreur-replay", f"{url}/replay", bad_link, expected=(422,))
    pdf = {"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "diaporama.pdf"), "title": "Diaporama"}
    pages.post(client, "ressources-ajoutee", url, pdf)
    replay = {"replay_url": "https://video.exemple.fr/replay", "replay_title": ""}
    pages.post(client, "ressources-replay", f"{url}/replay", replay)
    pages.get(client, "suivi", f"/admin/seances/{meeting.id}/suivi")
    pages.post(client, "suivi-envoye", f"/admin/seances/{meeting.id}/suivi")
    seated = factories.create_registration(meeting=meeting, attended=True)
    db.session.commit()
    pages.get(app.test_client(), "gerer-ressources", path_of(manage_url(seated.person)))


def render_accounts(pages: Pages, app: Flask, client) -> None:
    """Render the team's account pages: list, invitation, forgotten password, e-mailed links."""
    from irev.services import staff

    pages.get(client, "comptes", "/admin/comptes")
    pages.get(client, "comptes-inviter", "/admin/comptes/inviter")
    pages.post(client, "comptes-inviter-erreurs", "/admin/comptes/inviter", expected=(422,))
    invite = {"email": "nina@irev.fr", "display_name": "Nina", "role": "moderation"}
    pages.post(client, "comptes-invitation-envoyee", "/admin/comptes/inviter", invite)
    me = staff.get_by_email("equipe@irev.fr")
    pages.post(client, "comptes-refus", f"/admin/comptes/{me.id}/desactiver", expected=(409,))
    visitor = app.test_client()
    pages.get(visitor, "mot-de-passe-oublie", "/admin/mot-de-passe-oublie")
    pages.post(visitor, "mot-de-passe-oublie-erreur", "/admin/mot-de-passe-oublie", expected=(422,))
    invited = staff.get_by_email("nina@irev.fr")
    invitation = f"/admin/invitation/{staff.link_token(staff.INVITE, invited.id, 1)}"
    pages.get(visitor, "invitation", invitation)
    pages.post(visitor, "invitation-erreurs", invitation, {"password": "court"}, expected=(422,))
    reset = staff.link_token(staff.RESET, me.id, me.link_version)
    pages.get(visitor, "nouveau-mot-de-passe", f"/admin/nouveau-mot-de-passe/{reset}")
    pages.get(visitor, "lien-inutilisable", "/admin/invitation/abc", expected=(410,))


def render_feedback(pages: Pages, app: Flask) -> None:
    """Render the questionnaire, the self-service question page and their staff pages."""
    from irev.services import questionnaire, questionnaire_results, speaker_questions

    client = app.test_client()
    programme = factories.create_programme(slug="cycle-avis", title="Cycle des avis")
    held = factories.create_meeting(
        programme=programme, slug="seance-tenue", starts_at=utcnow() - timedelta(days=2)
    )
    coming = factories.create_meeting(programme=programme, slug="seance-a-venir")
    present = [
        factories.create_registration(held, attended=True)
        for _ in range(questionnaire_results.MIN_ANSWERS + 1)
    ]
    seat = factories.create_registration(coming)
    asked = [factories.create_registration(coming) for _ in range(2)]
    for index, registration in enumerate(asked):
        speaker_questions.set_question(registration, f"Question {index} ?", registration.person)
    db.session.commit()
    link = path_of(questionnaire.questionnaire_url(present[0]))
    pages.get(client, "questionnaire", link)
    pages.post(client, "questionnaire-erreurs", link, {"remark": "x"}, expected=(422,))
    ratings = {q.key: "4" for q in questionnaire.current_set().ratings}
    pages.post(client, "questionnaire-fait", link, {**ratings, "remark": "Très bien"})
    pages.get(client, "questionnaire-deja", link, expected=(409,))
    absent = factories.create_registration(held, attended=False)
    db.session.commit()
    closed = f"/inscription/questionnaire/{questionnaire.questionnaire_token(absent)}"
    pages.get(client, "questionnaire-reserve", closed, expected=(403,))
    for registration in present[1:]:
        questionnaire.save_answer(registration, {k: 3 for k in ratings}, "Parfait")
    db.session.commit()

    question = f"{path_of(manage_url(seat.person))}/question/{seat.id}"
    pages.get(client, "question-intervenant", question)
    pages.post(client, "question-erreur", question, {"action": "save"}, expected=(422,))

    create_staff("avis@irev.fr")
    assert sign_in(client, "avis@irev.fr").status_code == 303
    pages.get(client, "equipe-questions", f"/admin/seances/{coming.id}/questions")
    first, second = speaker_questions.meeting_questions(coming)
    pages.post(
        client,
        "equipe-questions-erreur",
        f"/admin/seances/{coming.id}/questions/{first.id}",
        {"action": "merge", "cible": str(first.id)},
        expected=(422,),
    )
    pages.post(
        client,
        "equipe-questions-fusion",
        f"/admin/seances/{coming.id}/questions/{second.id}",
        {"action": "merge", "cible": str(first.id)},
    )
    pages.get(client, "equipe-questions-apres", f"/admin/seances/{coming.id}/questions")
    pages.get(client, "equipe-questions-imprimer", f"/admin/seances/{coming.id}/questions/imprimer")
    pages.get(client, "equipe-satisfaction-seance", f"/admin/seances/{held.id}/questionnaire")
    pages.get(client, "equipe-satisfaction-peu", f"/admin/seances/{coming.id}/questionnaire")
    pages.get(
        client, "equipe-satisfaction-cycle", f"/admin/programmes/{programme.id}/questionnaire"
    )


def render_everything(app: Flask, folder: Path) -> Pages:
    """Render every page and state into folder."""

    @app.get("/_test/erreur")
    def _boom():
        raise RuntimeError("a bug")

    @app.get("/_test/base-indisponible")
    def _database_down():
        # As SQLAlchemy raises it when no connection can be opened (no statement ran).
        raise OperationalError(None, None, Exception("connection refused"))

    pages = Pages(app=app, folder=folder)
    ids = render_public(pages, app)
    render_assistants(pages, app, ids)
    render_staff(pages, app, ids)
    render_feedback(pages, app)
    pages.endpoints |= {"_boom", "_database_down"}
    assert not pages.unexpected, "\n".join(pages.unexpected)
    return pages


def test_every_get_rule_is_checked_or_listed(app: Flask, tmp_path: Path) -> None:
    pages = render_everything(app, tmp_path)
    rules = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}
    forgotten = sorted(rules - pages.endpoints - set(NOT_HTML))
    assert not forgotten, f"GET rules neither checked nor listed in NOT_HTML: {forgotten}"
    assert not set(NOT_HTML) - rules, "NOT_HTML names a rule that no longer exists"


@pytest.mark.skipif(JAVA is None, reason="needs Java: apt-get install -y default-jre-headless")
@pytest.mark.skipif(not VNU.exists(), reason="needs vnu.jar: run `make tools` (npm vnu-jar)")
def test_every_page_is_valid_html(app: Flask, tmp_path: Path) -> None:
    pages = render_everything(app, tmp_path)
    assert len(pages.files) > 80
    command = [JAVA, "-jar", str(VNU), "--errors-only", "--format", "json", "--stdout"]
    result = subprocess.run(
        [*command, *map(str, pages.files)], capture_output=True, text=True, check=False
    )
    messages = json.loads(result.stdout or "{}").get("messages", [])
    errors = [m for m in messages if m.get("type") == "error" or m.get("subType") == "fatal"]
    report = [
        f"{pages.files.get(Path(urlsplit(m.get('url', '')).path), m.get('url'))}:"
        f"{m.get('lastLine')}: {m.get('message')}  [{(m.get('extract') or '').strip()[:120]}]"
        for m in errors
    ]
    assert not errors, f"{len(errors)} vnu error(s):\n" + "\n".join(report)
    assert result.returncode == 0, result.stderr[-2000:]
