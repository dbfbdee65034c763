# ruff: noqa: E501  (the measuring scripts are JavaScript, kept one statement a line)
"""The automatic part of the RGAA 4.1 audit, measured in Chromium on every page of the sample.

Each page of irev/data/rgaa/sample.yaml is reached as a visitor reaches it (registration
through the real form, links read from the e-mails the SMTP server received, staff signed in);
e-mails are loaded from the HTML part received. On each, the test collects facts (DOM counts,
axe-core results, the Tab path, 320 px, 200 % zoom, text spacing, orientations), runs the Nu
HTML Checker once over the generated code of all of them, and turns the facts into automatic
rows (irev.services.accessibility_checks.automatic_rows).

The test fails when an automatic row of the grid disagrees with what was measured now.
With RGAA_WRITE_GRID=1 (bench/rgaa_refresh.py), it writes the measured rows into the grid
instead (manual rows are kept) and saves screenshots plus the facts for the manual review.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from irev.extensions import db
from irev.services import accessibility_audit as audit
from irev.services import accessibility_checks as checks
from irev.services import staff
from irev.services.territories_load import load_territories
from tests.browser.conftest import plain_text, poll, run_axe

ROOT = Path(__file__).resolve().parents[2]
VNU = ROOT / ".tools" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
JAVA = shutil.which("java")
WRITE = os.environ.get("RGAA_WRITE_GRID") == "1"
OUT = Path(os.environ.get("RGAA_OUT", "/tmp/irev-rgaa"))
FIRST = "rencontre-1-mixite-sociale-habitat"
EMAIL = "camille.audit@mairie.example"
STAFF = "equipe.audit@irev.fr"
PASSWORD = "une phrase de passe assez longue"

#: Windows opened while each URL loaded.
POPUPS: dict[str, int] = {}

#: Facts of a page, gathered in one evaluation (no page script: works under the site's CSP).
FACTS_JS = r"""
() => {
  const q = (s) => document.querySelectorAll(s);
  const visible = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const counts = {
    img: q('img').length, svg: q('svg').length, canvas: q('canvas').length,
    role_img: q('[role=img]').length, input_image: q('input[type=image]').length,
    area: q('area').length, object: q('object').length, embed: q('embed').length,
    iframe: q('iframe').length, frame: q('frame').length, video: q('video').length,
    audio: q('audio').length, table: q('table').length,
    layout_table: q('table[role=presentation], table[role=none]').length,
    q: q('q').length, blockquote: q('blockquote').length, dir: q('[dir]').length,
    lang_in_body: q('body [lang]').length,
    // Theme 11 is about forms: a button outside any form (the pause of the live figures) is a script's control (7.x).
    form_controls: [...q('input:not([type=hidden]), select, textarea, form button')].filter(visible).length,
    select: q('select').length,
    office_links: [...q('a[href]')].filter(a => /\.(pdf|docx?|odt|xlsx?|ods|pptx?|odp|rtf)(\?|$)/i.test(a.getAttribute('href'))).length,
    animations: document.getAnimations ? document.getAnimations().length : 0,
  };
  const presentational = [...q('font, center, big, blink, marquee, [align], [bgcolor], [border], [background], [color]:not(input), [hspace], [vspace]')].map(e => e.tagName.toLowerCase());
  const generated = [];
  for (const e of q('body *')) {
    for (const pseudo of ['::before', '::after']) {
      const c = getComputedStyle(e, pseudo).content;
      if (c && c !== 'none' && c !== 'normal' && /[\p{L}\p{N}]/u.test(c.replace(/^"|"$/g, ''))) {
        generated.push(`${e.tagName.toLowerCase()}.${e.className}${pseudo}: ${c}`);
      }
    }
  }
  const words = (document.body.innerText.toLowerCase().match(/[\p{L}’']+/gu) || []);
  const stop = new Set(['le','la','les','de','des','du','et','à','au','aux','un','une','vous','votre','vos','pour','en','sur','par','est','dans','qui','ne','pas','ou','avec']);
  const french = words.length ? words.filter(w => stop.has(w)).length / words.length : 0;
  const rtl = /[\u0590-\u08FF\uFB1D-\uFEFC]/.test(document.body.innerText);
  const landmarks = {
    banner: q('body > header, [role=banner]').length, navigation: q('nav, [role=navigation]').length,
    main: q('main, [role=main]').length, contentinfo: q('body > footer, [role=contentinfo]').length,
  };
  // RGAA 11.13 (WCAG 1.3.5): fields about the user carry the token of their purpose. When an
  // assistant registers an official (« Qui inscrivez-vous ? » on « elu »), the official's
  // fields are not the user's: they must be "off", and only the assistant's own fields carry
  // tokens (in a section of their own, so a browser keeps the two people apart).
  const tokens = {first_name: 'given-name', last_name: 'family-name', email: 'email', phone: 'tel',
                  organisation: 'organization', mandate: 'organization-title'};
  const own_tokens = {assistant_first_name: 'given-name', assistant_last_name: 'family-name',
                      assistant_email: 'email', assistant_function: 'organization-title'};
  const for_whom = document.querySelector('input[name=for_whom]:checked');
  const for_official = !!for_whom && for_whom.value === 'elu';
  const autocomplete = []; const personal = []; const others = [];
  const purpose = (e) => (e.getAttribute('autocomplete') || '').trim();
  for (const [name, token] of Object.entries(tokens)) {
    for (const e of q(`input[name=${name}], select[name=${name}]`)) {
      const got = purpose(e);
      if (e.type === 'hidden') continue;  // carried answers (the choice page): not a field
      if (for_official) {
        if (got === 'off') { others.push(name); continue; }  // the official's: claims nothing
        autocomplete.push(`${name} : autocomplete="${got}" sur un champ de l’élu inscrit par un tiers (attendu off)`);
        continue;
      }
      const ok = got === token || (name === 'email' && got === 'username');
      if (ok) personal.push(`${name} (${got})`); else autocomplete.push(`${name} : autocomplete="${got}" au lieu de ${token}`);
    }
  }
  for (const [name, token] of Object.entries(own_tokens)) {
    for (const e of q(`input[name=${name}]`)) {
      if (e.type === 'hidden') continue;
      const got = purpose(e);
      const ok = got === token || new RegExp(`^section-[\\w-]+ ${token}$`).test(got);
      if (!ok) autocomplete.push(`${name} : autocomplete="${got}" au lieu de ${token}`);
      else if (for_official) personal.push(`${name} (${got})`);
    }
  }
  if (others.length) personal.push(`off sur les champs de l’élu inscrit par un tiers (${others.join(', ')})`);
  const rgb = (s) => { const m = s.match(/[\d.]+/g); return m ? m.map(Number) : [0,0,0,0]; };
  const lum = ([r,g,b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c/12.92 : ((c+0.055)/1.055) ** 2.4; }; return 0.2126*f(r)+0.7152*f(g)+0.0722*f(b); };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((m, n) => n - m); return (x + 0.05) / (y + 0.05); };
  const background = (e) => { for (let n = e.parentElement; n; n = n.parentElement) { const c = rgb(getComputedStyle(n).backgroundColor); if (c.length < 4 || c[3] > 0) return c; } return [255,255,255]; };
  const weak = [];
  for (const e of [...q('input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea')].filter(visible)) {
    const s = getComputedStyle(e);
    if (parseFloat(s.borderTopWidth) > 0) {
      const r = ratio(rgb(s.borderTopColor), background(e));
      if (r < 3) weak.push(`bordure de #${e.id} à ${r.toFixed(2)}:1`);
    }
  }
  // Words of text nodes outside any element with its own lang (8.7): compared with an English list.
  const english = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const owner = n.parentElement && n.parentElement.closest('[lang]');
    if (owner && owner !== document.documentElement) continue;
    if (n.parentElement && n.parentElement.closest('script, style, code, pre')) continue;
    english.push(...(n.textContent.toLowerCase().match(/[a-z]+/g) || []));
  }
  const moving = [...q('marquee, blink')].map(e => e.tagName.toLowerCase());
  for (const e of q('body *')) {
    const s = getComputedStyle(e);
    if (s.textDecorationLine.includes('blink')) moving.push(`${e.tagName.toLowerCase()} clignotant`);
    if (s.animationName !== 'none' && s.animationIterationCount === 'infinite') moving.push(`${e.tagName.toLowerCase()}.${e.className} animé sans fin`);
  }
  // Structure a reader meets in this order (9.2), the tab order (12.8), errors (11.10), menus (12.2).
  const order = [...q('body > header, main, body > footer')].map(e => e.tagName.toLowerCase());
  const positive_tabindex = [...q('[tabindex]')].filter(e => parseInt(e.getAttribute('tabindex'), 10) > 0).map(e => e.tagName.toLowerCase());
  // A field's message is linked to the field, or for radios and checkboxes to their fieldset
  // (the GOV.UK pattern: read when the group is entered).
  const linked = (e) => (e ? (e.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean) : [])
    .some(id => { const d = document.getElementById(id); return d && d.textContent.trim(); });
  const unexplained = [...q('[aria-invalid=true]')]
    .filter(e => !linked(e) && !(/radio|checkbox/.test(e.type) && linked(e.closest('fieldset'))))
    .map(e => `#${e.id}`);
  const texts = (sel) => [...q(sel)].map(a => a.textContent.trim().replace(/\s+/g, ' '));
  const status_region = !!document.querySelector('#annonces[role=status]');
  const scripted = !!document.querySelector('[data-hx-get], [data-hx-post]');
  // The page's structure without its text (accessibility_audit.fingerprint): what a manual
  // judgement looked at. Ids, values and URLs are left out (they move with the data).
  const structure = {
    controls: [...q('input, select, textarea, button')].map(e => `${e.tagName.toLowerCase()}:${e.type || ''}:${e.name || ''}:${e.getAttribute('autocomplete') || ''}`),
    groups: [...q('fieldset')].map(f => `fieldset:${!!f.querySelector('legend')}:${[...f.querySelectorAll('input, select, textarea')].map(e => e.type).sort().join(',')}`),
    headings: [...q('h1, h2, h3, h4, h5, h6')].map(h => h.tagName),
    landmarks: [...q('header, nav, main, footer, aside, section[aria-labelledby], form[aria-label], [role]')].map(e => `${e.tagName.toLowerCase()}:${e.getAttribute('role') || ''}`),
    aria: [...q('*')].flatMap(e => [...e.attributes].filter(a => a.name.startsWith('aria-') && a.name !== 'aria-busy').map(a => a.name)),
    scripts: [...q('[data-hx-trigger], [data-hx-get], [data-hx-post], [data-hx-swap-oob]')].map(e => `${e.tagName.toLowerCase()}:${e.getAttribute('data-hx-trigger') || ''}:${e.getAttribute('data-hx-swap') || ''}`),
    media: [...q('img, svg, canvas, video, audio, iframe, object, embed, table, caption, th')].map(e => e.tagName.toLowerCase()),
  };
  return {doctype: document.doctype ? document.doctype.name : '', lang: document.documentElement.lang || '', structure,
          english_words: [...new Set(english)], moving, landmark_order: order, positive_tabindex,
          unexplained_errors: unexplained, status_region, scripted,
          nav_links: texts('body > header nav a, body > header nav button'), footer_links: texts('body > footer a'),
          title: document.title, counts, presentational, generated_text: generated, french_ratio: french,
          rtl_text: rtl, landmarks, autocomplete, personal_fields: personal, component_contrast: weak,
          headings: [...q('h1,h2,h3,h4,h5,h6')].map(h => `${h.tagName} ${h.innerText.trim().slice(0, 80)}`),
          links: [...q('a[href]')].map(a => a.innerText.trim().replace(/\s+/g, ' ').slice(0, 80))};
}
"""

#: Horizontal overflow of the page and clipped text, at the current viewport.
LOSS_JS = r"""
() => {
  const lost = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth + 1) {
    // Name the innermost elements that stick out, so the fix knows where to look.
    const out = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.visually-hidden, .skip-link'));
    const inner = out.filter(e => !out.some(o => o !== e && e.contains(o))).slice(0, 2)
      .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className ? '.' + String(e.className).split(' ')[0] : ''}`);
    lost.push(`défilement horizontal (${root.scrollWidth} px pour ${window.innerWidth} : ${inner.join(', ')})`);
  }
  for (const e of document.querySelectorAll('body *')) {
    const s = getComputedStyle(e);
    if (e.closest('.visually-hidden, [hidden], .skip-link')) continue;
    const clips = /hidden|clip/.test(s.overflowX + s.overflowY);
    if (!clips || !e.innerText || !e.innerText.trim()) continue;
    if (e.clientWidth <= 2 || e.clientHeight <= 2) continue;
    if (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1) {
      lost.push(`texte tronqué dans ${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${e.className}`);
    }
  }
  return lost;
}
"""

#: WCAG 1.4.12 text spacing, set on every element (last measure: the page is left changed).
SPACING_JS = r"""
() => {
  for (const e of document.querySelectorAll('body, body *')) {
    e.style.setProperty('line-height', '1.5', 'important');
    e.style.setProperty('letter-spacing', '0.12em', 'important');
    e.style.setProperty('word-spacing', '0.16em', 'important');
    if (e.tagName === 'P') e.style.setProperty('margin-bottom', '2em', 'important');
  }
}
"""

#: The focused element: a description, and whether a ring (outline or shadow) shows.
FOCUS_JS = r"""
() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  // 'auto' is the browser's own focus ring (what an e-mail without focus styles shows).
  const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
  window.__rgaaIds = window.__rgaaIds || new WeakMap();
  if (!window.__rgaaIds.has(e)) { window.__rgaaCount = (window.__rgaaCount || 0) + 1; window.__rgaaIds.set(e, window.__rgaaCount); }
  const name = (e.innerText || e.getAttribute('aria-label') || e.name || e.id || '').trim().replace(/\s+/g, ' ').slice(0, 50);
  return {key: String(window.__rgaaIds.get(e)), label: `${e.tagName.toLowerCase()} « ${name} »`, ring};
}
"""


def tab_path(page) -> dict[str, Any]:
    """Walk the page with Tab from the skip link (or the top); report stops, rings, traps."""
    stops: list[dict[str, Any]] = []
    # Tab from the skip link: blur() does not reset where sequential navigation starts.
    if page.evaluate(
        "() => { const a = document.querySelector('.skip-link');"
        " if (a) a.focus({focusVisible: true}); return !!a; }"
    ):
        first = page.evaluate(FOCUS_JS)
        stops.append(first)
    trapped = ""
    seen: set[str] = {s["key"] for s in stops}
    for _ in range(200):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_JS)
        if focused is None:
            break
        if focused["key"] in seen:
            break  # back at the start: the path left the page and came round
        if stops and focused["key"] == stops[-1]["key"]:
            trapped = focused["label"]
            break
        seen.add(focused["key"])
        stops.append(focused)
    else:
        trapped = "plus de 200 arrêts sans sortir de la page"
    return {
        "stops": len(stops),
        "order": [s["label"] for s in stops],
        "invisible_focus": [s["label"] for s in stops if not s["ring"]],
        "trapped": trapped,
    }


def skip_link(page) -> dict[str, Any]:
    """Press Tab then Enter on a freshly loaded page: the skip link must show and move
    focus to <main>. Where the page already placed focus (error summary, a field just
    checked), the skip link is focused from the keyboard's start instead."""
    if page.evaluate("document.activeElement !== document.body"):
        page.evaluate("document.querySelector('.skip-link')?.focus({focusVisible: true})")
    else:
        page.keyboard.press("Tab")
    first = page.evaluate(
        "() => ({text: document.activeElement.textContent.trim(),"
        " href: document.activeElement.getAttribute('href'),"
        " w: document.activeElement.getBoundingClientRect().width})"
    )
    if first["text"] != "Aller au contenu" or first["w"] < 10:
        return {"works": False, "detail": f"premier arrêt : {first['text']!r}"}
    page.keyboard.press("Enter")
    works = poll(page, "document.activeElement && document.activeElement.id === 'contenu'")
    return {"works": works, "detail": "" if works else "le focus ne passe pas au contenu"}


def measure(page, name: str, kind: str) -> dict[str, Any]:
    """Collect the facts of the page shown in `page`."""
    facts = page.evaluate(FACTS_JS)
    facts["kind"] = kind
    results = run_axe(page)
    facts["axe"] = {
        key: sorted({r["id"] for r in results.get(key, [])})
        for key in ("violations", "incomplete", "passes")
    }
    facts["axe_details"] = {
        key: [
            {"id": r["id"], "nodes": [n.get("html", "")[:160] for n in r["nodes"]][:5]}
            for r in results.get(key, [])
        ]
        for key in ("violations", "incomplete")
    }
    facts["skip_link"] = skip_link(page) if kind == "page" else {"works": False, "detail": ""}
    facts["tab"] = tab_path(page)
    facts["source"] = page.content()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.html").write_text(facts["source"], encoding="utf-8")
    facts["accessibility_tree"] = page.locator("body").aria_snapshot()
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    # The same page is resized, so a state reached by a POST or an htmx swap stays as it is.
    # 200 % zoom of a 1280 px window lays out as a 640 px one (CSS pixels).
    for key, width, height in (
        ("reflow_320", 320, 640),
        ("zoom_200", 640, 400),
        ("orientation_portrait", 360, 800),
        ("orientation_landscape", 800, 360),
    ):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(50)
        facts[key] = page.evaluate(LOSS_JS)
        if key == "reflow_320":
            page.screenshot(path=str(OUT / f"{name}-320.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    # Text spacing as a reader's style sheet sets it (through the CSSOM, which CSP allows).
    page.evaluate(SPACING_JS)
    facts["text_spacing"] = page.evaluate(LOSS_JS)
    facts["orientation"] = facts.pop("orientation_portrait") + facts.pop("orientation_landscape")
    return facts


def visit(page, url: str) -> None:
    """Open a page, counting windows opened without the user's action."""
    opened: list[Any] = []

    def count(popup) -> None:
        opened.append(popup)

    page.on("popup", count)
    response = page.goto(url)
    assert response is not None and response.status < 500
    page.wait_for_load_state("networkidle")
    page.remove_listener("popup", count)
    POPUPS[page.url] = len(opened)


def mail_with_subject(live_server, start: str):
    """Wait for the message to EMAIL whose subject starts with `start`."""
    for _ in range(300):
        with live_server.smtp.lock:
            found = [
                m for m in live_server.smtp.to(EMAIL) if str(m.message["Subject"]).startswith(start)
            ]
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no e-mail « {start} … » to {EMAIL}")


def html_part(received) -> str:
    """Return the HTML part of a received message."""
    part = received.message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


#: The organisation field once combobox.js has equipped it (the structure measured depends on it).
ENHANCED = "!!document.querySelector('#organisation[role=combobox][aria-expanded]')"


def fill_person(page) -> None:
    """Fill the form but the organisation (left to the caller): a meeting, the notice read."""
    page.fill("#first_name", "Camille")
    page.fill("#last_name", "Durand")
    page.fill("#email", EMAIL)
    page.select_option("#mandate", "maire")
    page.check(f"#meetings-{FIRST}")
    page.check("#data_notice")


def walk_sample(browser, live_server) -> dict[str, dict[str, Any]]:
    """Reach every page of the sample as a visitor would, and measure it."""
    facts: dict[str, dict[str, Any]] = {}
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    base = live_server.url

    def shot(name: str, kind: str = "page") -> None:
        facts[name] = measure(page, name, kind)
        facts[name]["popups"] = POPUPS.get(page.url, 0)

    for name, path in (
        ("accueil", "/"),
        ("seance", f"/seances/{FIRST}"),
        ("accessibilite", "/accessibilite"),
        ("schema-pluriannuel", "/accessibilite/schema-pluriannuel"),
        ("mentions-legales", "/mentions-legales"),
        ("donnees-personnelles", "/donnees-personnelles"),
        ("plan-du-site", "/plan-du-site"),
        ("inscription-vide", "/inscription"),
    ):
        visit(page, base + path)
        shot(name)

    page.get_by_role("button", name="Envoyer ma demande d’inscription").click()
    assert poll(page, "document.title.startsWith('Erreur')")
    assert poll(page, ENHANCED)  # the swapped form's combobox, equipped again (htmx:load)
    shot("inscription-erreurs")

    visit(page, base + "/inscription")
    page.fill("#email", "pas-une-adresse")
    page.press("#email", "Tab")
    assert poll(
        page,
        "!!document.querySelector('#email-error') && document.querySelector('#email-error').innerText.trim().length > 0",
    )
    # registration.js marks the field invalid once htmx has settled the swap: measure then.
    assert poll(page, "document.querySelector('#email').getAttribute('aria-invalid') === 'true'")
    shot("inscription-erreurs-en-ligne")

    # An assistant registering an official, sent with errors (the assistant's own fields
    # asked for, the official's messages worded « l’élu ou l’élue »).
    visit(page, base + "/inscription?pour=elu")
    page.fill("#assistant_email", EMAIL)
    page.fill("#email", EMAIL)
    page.get_by_role("button", name="Envoyer ma demande d’inscription").click()
    assert poll(page, "document.title.startsWith('Erreur')")
    assert poll(page, ENHANCED)
    shot("inscription-elu-erreurs")

    # A name several communes share, typed without choosing a suggestion: the choice form
    # (swapped in by htmx; without JavaScript the same form is a page of its own).
    visit(page, base + "/inscription")
    fill_person(page)
    page.focus("#organisation")
    page.keyboard.type("Saint Martin")
    page.wait_for_selector("#organisation-listbox:not([hidden]) [role=option]")
    page.keyboard.press("Escape")
    page.check("#department-5")  # « Autre »
    page.get_by_role("button", name="Envoyer ma demande d’inscription").click()
    page.wait_for_selector("h2:has-text('Précisez votre collectivité')")
    page.wait_for_load_state("networkidle")
    shot("inscription-choix")

    visit(page, base + "/inscription")
    fill_person(page)
    page.focus("#organisation")
    page.keyboard.type("Roubaix")
    page.wait_for_selector("#organisation-listbox:not([hidden]) [role=option]")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert page.input_value("#organisation_code")
    page.get_by_role("button", name="Envoyer ma demande d’inscription").click()
    page.wait_for_url("**/inscription/envoyee**")
    shot("inscription-envoyee")

    request = live_server.wait_for_mail(EMAIL, "/inscription/confirmer/")
    link = live_server.mail_link(EMAIL, "/inscription/confirmer/")
    visit(page, link)
    shot("confirmation")
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    shot("confirmation-faite")

    seated = mail_with_subject(live_server, "Inscription confirmée")
    manage = live_server.mail_link(EMAIL, "/inscription/gerer/")
    visit(page, manage)
    shot("gerer")
    visit(page, manage + "/coordonnees")
    shot("coordonnees")
    visit(page, manage)
    page.locator("main a[href*='/annuler/']").first.click()
    page.wait_for_load_state("networkidle")
    shot("annuler")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    cancelled = mail_with_subject(live_server, "Annulation enregistrée")

    for name, received in (
        ("courriel-demande", request),
        ("courriel-place", seated),
        ("courriel-annulation", cancelled),
    ):
        # A blank page of its own: the site's CSP must not strip the message's inline styles.
        mail_context = browser.new_context(viewport={"width": 1280, "height": 800})
        mail_page = mail_context.new_page()
        mail_page.set_content(html_part(received))
        facts[name] = measure(mail_page, name, "courriel")
        facts[name]["popups"] = 0
        assert plain_text(received)  # the text part exists too
        mail_context.close()

    with live_server.app.app_context():
        staff.create_staff(STAFF, PASSWORD, "Équipe IREV")
        db.session.commit()
    visit(page, base + "/admin/connexion")
    shot("equipe-connexion")
    page.fill("#email", STAFF)
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(base + "/admin/")
    shot("equipe-tableau-de-bord")
    visit(page, base + "/admin/seances")
    shot("equipe-seances")
    page.locator("main a[href$='/inscriptions']").first.click()
    page.wait_for_load_state("networkidle")
    shot("equipe-inscriptions")
    context.close()
    return facts


def vnu_errors(facts: dict[str, dict[str, Any]], folder: Path) -> dict[str, int]:
    """Run the Nu HTML Checker once over the generated code of every page; count errors."""
    files = {}
    for name, page_facts in facts.items():
        path = folder / f"{name}.html"
        path.write_text(page_facts["source"], encoding="utf-8")
        files[str(path)] = name
    command = [JAVA, "-jar", str(VNU), "--errors-only", "--format", "json", "--stdout", *files]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    counts = dict.fromkeys(facts, 0)
    for message in json.loads(result.stdout or "{}").get("messages", []):
        url = message.get("url", "").removeprefix("file:")
        name = files.get(url)
        if name and message.get("type") == "error":
            counts[name] += 1
    return counts


@pytest.mark.skipif(JAVA is None or not VNU.exists(), reason="needs Java and vnu.jar (make tools)")
def test_the_grid_holds_what_the_tools_measure(
    browser, live_server, tmp_path, territory_subset_dir
):
    with live_server.app.app_context():  # the communes and EPCI the combobox suggests
        load_territories(territory_subset_dir)
        db.session.commit()
    facts = walk_sample(browser, live_server)
    for name, count in vnu_errors(facts, tmp_path).items():
        facts[name]["vnu_errors"] = count
    measured: dict[tuple[str, str], audit.Row] = {}
    today = dt.date.today().isoformat()
    unmapped = {name: checks.unmapped_axe_rules(f) for name, f in facts.items()}
    assert not any(unmapped.values()), (
        f"axe rules violated that no RGAA criterion maps (add them to AXE_CRITERIA): {unmapped}"
    )
    for name, page_facts in facts.items():
        measured.update(checks.with_tool_version(checks.automatic_rows(name, page_facts), today))
    measured.update(checks.with_tool_version(checks.consistency_rows(facts), today))

    grid = audit.read_grid()
    prints = {name: audit.fingerprint(f["structure"]) for name, f in facts.items()}
    changed = audit.changed_pages(audit.read_fingerprints(), prints)
    if WRITE:
        # Manual rows of a page whose structure changed go back to « non évalué ».
        grid = audit.mark_changed_pages(grid, changed)
        audit.write_grid(audit.merge_automatic(grid, measured))
        audit.write_fingerprints({**audit.read_fingerprints(), **prints})
        if changed:
            print(f"pages changed since their manual judgement (to judge again): {changed}")
        review = {
            name: {k: v for k, v in f.items() if k not in ("source",)} for name, f in facts.items()
        }
        (OUT / "facts.json").write_text(json.dumps(review, ensure_ascii=False, indent=1))
        return
    by_key = {(r.page, r.critere): r for r in grid}
    disagreements = []
    for key, row in measured.items():
        held = by_key[key]
        # A judgement made by hand holds until a tool measures a failure on the page.
        if held.methode == audit.MANUAL and row.statut != audit.NON_CONFORME:
            continue
        # The status is what must hold; justifications quote counts that move with content.
        if held.statut != row.statut:
            disagreements.append(
                f"{key}: grille « {held.statut} », mesuré « {row.statut} » ({row.justification})"
            )
    stale = [
        f"{r.page} {r.critere}: automatique dans la grille, plus mesuré"
        for r in grid
        if r.methode == audit.AUTOMATIC and (r.page, r.critere) not in measured
    ]
    changed_rows = [
        f"{name}: structure changed since its manual rows were judged (run bench/rgaa_refresh.py,"
        " then judge its « non évalué » rows again by hand)"
        for name in changed
    ]
    assert not disagreements + stale + changed_rows, (
        "the grid's automatic rows differ from the measures (run bench/rgaa_refresh.py):\n"
        + "\n".join(disagreements + stale + changed_rows)
    )
