"""The automatic half of the RGAA audit: grid rows decided from what Chromium measured.

The browser audit (`tests/browser/test_rgaa_audit.py`, and `bench/rgaa_refresh.py` in writing
mode) measures every page of the sample and passes the facts here; the rows come back as
`accessibility_audit.Row` values, which `accessibility_audit.merge_automatic` puts into the
grid. Manual rows are never decided here.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from irev.services.accessibility_audit import (
    AUTOMATIC,
    CONFORME,
    NON_APPLICABLE,
    NON_CONFORME,
    Row,
)

#: axe-core rules (WCAG 2.0/2.1 A and AA) that decide a criterion, with the elements they need.
AXE_RULES: dict[str, tuple[str, ...]] = {
    "1.1": ("image-alt", "svg-img-alt", "role-img-alt", "input-image-alt", "area-alt"),
    "2.1": ("frame-title",),
    "3.2": ("color-contrast",),
    "6.2": ("link-name",),
    "8.3": ("html-has-lang",),
    "8.5": ("document-title",),
    "11.1": ("label", "select-name", "aria-input-field-name"),
}


#: Every axe-core rule tagged WCAG 2.0/2.1 A or AA (axe 4.x), with the RGAA criterion its
#: failure breaks. A violation of any of them makes that criterion « non conforme » on the
#: page, whatever the grid said, manual rows included; a violated rule missing here makes the
#: audit test fail (unmapped_axe_rules), so a new axe rule cannot pass unnoticed.
AXE_CRITERIA: dict[str, str] = {
    "area-alt": "1.1",
    "image-alt": "1.1",
    "input-image-alt": "1.1",
    "object-alt": "1.1",
    "role-img-alt": "1.1",
    "svg-img-alt": "1.1",
    "server-side-image-map": "1.1",
    "frame-title": "2.1",
    "frame-title-unique": "2.2",
    "frame-focusable-content": "7.3",
    "color-contrast": "3.2",
    "link-in-text-block": "10.6",
    "audio-caption": "4.1",
    "video-caption": "4.3",
    "no-autoplay-audio": "4.10",
    "blink": "13.8",
    "marquee": "13.8",
    "meta-refresh": "13.1",
    "meta-viewport": "10.4",
    "html-has-lang": "8.3",
    "html-lang-valid": "8.4",
    "html-xml-lang-mismatch": "8.4",
    "valid-lang": "8.8",
    "document-title": "8.5",
    "duplicate-id": "8.2",
    "duplicate-id-active": "8.2",
    "duplicate-id-aria": "8.2",
    "list": "9.3",
    "listitem": "9.3",
    "definition-list": "9.3",
    "dlitem": "9.3",
    "th-has-data-cells": "5.7",
    "td-headers-attr": "5.7",
    "td-has-header": "5.7",
    "scope-attr-valid": "5.6",
    "label": "11.1",
    "select-name": "11.1",
    "aria-input-field-name": "11.1",
    "aria-toggle-field-name": "11.1",
    "form-field-multiple-labels": "11.1",
    "label-content-name-mismatch": "11.2",
    "autocomplete-valid": "11.13",
    "button-name": "11.9",
    "input-button-name": "11.9",
    "link-name": "6.2",
    "aria-allowed-attr": "7.1",
    "aria-braille-equivalent": "7.1",
    "aria-command-name": "7.1",
    "aria-conditional-attr": "7.1",
    "aria-deprecated-role": "7.1",
    "aria-dialog-name": "7.1",
    "aria-hidden-body": "7.1",
    "aria-hidden-focus": "10.8",
    "aria-meter-name": "7.1",
    "aria-progressbar-name": "7.1",
    "aria-prohibited-attr": "7.1",
    "aria-required-attr": "7.1",
    "aria-required-children": "7.1",
    "aria-required-parent": "7.1",
    "aria-roles": "7.1",
    "aria-text": "7.1",
    "aria-tooltip-name": "7.1",
    "aria-treeitem-name": "7.1",
    "aria-valid-attr": "7.1",
    "aria-valid-attr-value": "7.1",
    "nested-interactive": "7.1",
    "summary-name": "7.1",
    "scrollable-region-focusable": "7.3",
    "bypass": "12.7",
    "avoid-inline-spacing": "10.12",
    "css-orientation-lock": "13.9",
}


def unmapped_axe_rules(facts: Mapping[str, Any]) -> list[str]:
    """Return the axe rules violated on a page that AXE_CRITERIA does not know."""
    return [rule for rule in facts["axe"]["violations"] if rule not in AXE_CRITERIA]


#: English words that would need lang="en" if they appeared in French text (RGAA 8.7).
#: Brand names (Zoom) and words French has adopted (e-mail, internet) are not listed.
ENGLISH_WORDS = frozenset(
    [
        "the",
        "and",
        "of",
        "with",
        "for",
        "click",
        "here",
        "meeting",
        "meetings",
        "online",
        "download",
        "login",
        "logout",
        "password",
        "welcome",
        "submit",
        "update",
        "sign",
        "please",
        "your",
        "you",
    ]
)


def _cell(page: str, number: str, status: str, tool: str, why: str) -> Row:
    """An automatic row."""
    return Row(page, number, status, AUTOMATIC, tool, "", why)


def automatic_rows(page: str, facts: Mapping[str, Any]) -> dict[tuple[str, str], Row]:
    """Judge what a tool can judge from the facts measured in Chromium on one page.

    `facts` is what tests/browser/test_rgaa_audit.py collects: element counts (DOM queries),
    axe-core results by rule, the Nu HTML Checker's error count, and the measurements at
    320 px, at 200 % zoom, with text spacing overridden, in both orientations and along the
    Tab path. A criterion whose elements are absent is non applicable; a criterion a tool
    cannot decide is left out (its row stays as it is: manual or « non évalué »).
    """
    counts = facts["counts"]
    axe = facts["axe"]
    dom = "requête DOM dans Chromium"
    out: dict[str, Row] = {}

    def put(number: str, status: str, tool: str, why: str) -> None:
        out[number] = _cell(page, number, status, tool, why)

    def axe_veto() -> None:
        """Make each criterion that a violated axe rule breaks « non conforme »."""
        broken: dict[str, list[str]] = {}
        for rule in axe["violations"]:
            if rule in AXE_CRITERIA:
                broken.setdefault(AXE_CRITERIA[rule], []).append(rule)
        for number, rules in broken.items():
            put(number, NON_CONFORME, "axe-core", f"violation axe-core : {', '.join(rules)}")

    def axe_judge(number: str, what: str) -> None:
        rules = AXE_RULES[number]
        failed = [r for r in rules if r in axe["violations"]]
        unsure = [r for r in rules if r in axe["incomplete"]]
        if failed:
            put(number, NON_CONFORME, "axe-core", f"{what} : violation {', '.join(failed)}")
        elif unsure:
            return  # axe could not decide: a person must look
        elif any(r in axe["passes"] for r in rules):
            put(number, CONFORME, "axe-core", f"{what} : règles {', '.join(rules)} réussies")

    images = sum(counts[k] for k in ("img", "svg", "canvas", "role_img", "input_image", "area"))
    if images == 0:
        for n in range(1, 10):
            put(f"1.{n}", NON_APPLICABLE, dom, "aucune image (img, svg, canvas, role=img, area)")
    else:
        axe_judge("1.1", "alternatives des images")
    if counts["iframe"] + counts["frame"] == 0:
        for n in (1, 2):
            put(f"2.{n}", NON_APPLICABLE, dom, "aucun cadre (iframe, frame)")
    else:
        axe_judge("2.1", "titres des cadres")
    axe_judge("3.2", "contrastes du texte")
    weak = facts.get("component_contrast", [])
    if weak:
        put("3.3", NON_CONFORME, "mesure des contrastes (script Chromium)", "; ".join(weak[:3]))
    elif counts["form_controls"]:
        put(
            "3.3",
            CONFORME,
            "mesure des contrastes (script Chromium)",
            "bordures des champs et anneau de focus au moins 3:1 sur leur fond",
        )
    if counts["video"] + counts["audio"] + counts["object"] + counts["embed"] == 0:
        for n in range(1, 14):
            put(f"4.{n}", NON_APPLICABLE, dom, "aucun média (video, audio, object, embed)")
    if counts["table"] == 0:
        for n in range(1, 9):
            put(f"5.{n}", NON_APPLICABLE, dom, "aucun tableau")
    elif counts["layout_table"] == 0:
        for n in (3, 8):
            put(f"5.{n}", NON_APPLICABLE, dom, "aucun tableau de mise en forme")
    axe_judge("6.2", "intitulés des liens")

    doctype_ok = facts["doctype"] == "html"
    put(
        "8.1",
        CONFORME if doctype_ok else NON_CONFORME,
        dom,
        "<!doctype html> en tête du document" if doctype_ok else "type de document absent",
    )
    if "vnu_errors" in facts:
        errors = facts["vnu_errors"]
        put(
            "8.2",
            CONFORME if errors == 0 else NON_CONFORME,
            "Nu HTML Checker (vnu) sur le code généré",
            "0 erreur" if errors == 0 else f"{errors} erreur(s) de validité",
        )
    lang = facts["lang"]
    put(
        "8.3",
        CONFORME if lang else NON_CONFORME,
        "axe-core, " + dom,
        f'lang="{lang}" sur <html>' if lang else "attribut lang absent",
    )
    french = facts["french_ratio"]
    relevant = lang.lower().startswith("fr") and french >= 0.08
    put(
        "8.4",
        CONFORME if relevant else NON_CONFORME,
        "axe-core html-lang-valid, mesure des mots outils",
        f'lang="{lang}" ; le texte est en français (plus de 8 % de mots outils français)'
        if relevant
        else f'lang="{lang}", {french:.0%} de mots outils français dans le texte',
    )
    title = facts["title"].strip()
    put(
        "8.5",
        CONFORME if title else NON_CONFORME,
        dom,
        f"<title> : « {title} »" if title else "absent",
    )
    if counts["lang_in_body"] == 0:
        put("8.8", NON_APPLICABLE, dom, "aucun changement de langue indiqué (attribut lang)")
    if counts["dir"] == 0 and not facts.get("rtl_text"):
        put("8.10", NON_APPLICABLE, dom, "aucun texte de droite à gauche, aucun attribut dir")
    if counts["q"] + counts["blockquote"] == 0:
        put("9.4", NON_APPLICABLE, dom, "aucune citation (q, blockquote)")

    if facts["kind"] == "page":
        missing = [
            name
            for name in ("banner", "navigation", "main", "contentinfo")
            if not facts["landmarks"].get(name)
        ]
        put(
            "12.6",
            CONFORME if not missing else NON_CONFORME,
            dom + " (rôles ARIA implicites)",
            "en-tête, navigation, contenu principal et pied de page balisés ; lien d’évitement"
            if not missing
            else f"zones absentes : {', '.join(missing)}",
        )
        skip = facts["skip_link"]
        put(
            "12.7",
            CONFORME if skip["works"] else NON_CONFORME,
            "Playwright (touche Tab puis Entrée)",
            "premier arrêt de tabulation « Aller au contenu », visible, le focus passe au <main>"
            if skip["works"]
            else f"lien d’évitement défaillant : {skip['detail']}",
        )
    presentational = facts["presentational"]
    put(
        "10.1",
        CONFORME if not presentational else NON_CONFORME,
        dom,
        "aucun élément ou attribut de présentation (font, center, align, bgcolor…)"
        if not presentational
        else f"présentation dans le HTML : {', '.join(presentational[:5])}",
    )
    generated = facts["generated_text"]
    put(
        "10.2",
        CONFORME if not generated else NON_CONFORME,
        dom + " (getComputedStyle ::before/::after)",
        "aucun texte porteur d’information généré par CSS"
        if not generated
        else f"texte généré par CSS : {', '.join(generated[:3])}",
    )
    for number, key, what in (
        ("10.4", "zoom_200", "zoom à 200 % (fenêtre de 640 px pour 1280 px)"),
        ("10.11", "reflow_320", "fenêtre de 320 px de large"),
        ("10.12", "text_spacing", "espacements du texte redéfinis (WCAG 1.4.12)"),
        ("13.9", "orientation", "portrait 360×800 et paysage 800×360"),
    ):
        lost = facts[key]
        put(
            number,
            CONFORME if not lost else NON_CONFORME,
            "Playwright + Chromium, " + what,
            "ni défilement horizontal ni texte tronqué"
            if not lost
            else f"perte : {'; '.join(lost[:3])}",
        )
    axe_rule = "link-in-text-block"
    if axe_rule in axe["violations"]:
        put("10.6", NON_CONFORME, "axe-core", f"liens dans le texte : violation {axe_rule}")
    elif axe_rule in axe["passes"] and axe_rule not in axe["incomplete"]:
        put("10.6", CONFORME, "axe-core", "liens dans le texte soulignés ou assez contrastés")
    tab = facts["tab"]
    if tab["stops"]:
        invisible = tab["invisible_focus"]
        put(
            "10.7",
            CONFORME if not invisible else NON_CONFORME,
            "Playwright (parcours à la touche Tab, styles au focus)",
            f"{tab['stops']} arrêts de tabulation, focus visible (contour ou ombre) sur chacun"
            if not invisible
            else f"focus invisible sur : {', '.join(invisible[:3])}",
        )
        put(
            "12.9",
            CONFORME if not tab["trapped"] else NON_CONFORME,
            "Playwright (parcours à la touche Tab)",
            "le parcours au clavier traverse toute la page et en sort"
            if not tab["trapped"]
            else f"piège au clavier : {tab['trapped']}",
        )
    if counts["form_controls"] == 0:
        for n in range(1, 14):
            put(f"11.{n}", NON_APPLICABLE, dom, "aucun champ de formulaire ni bouton de formulaire")
    else:
        axe_judge("11.1", "étiquettes des champs")
        if counts["select"] == 0:
            put("11.8", NON_APPLICABLE, dom, "aucune liste de choix (select)")
        issues = facts["autocomplete"]
        if issues:
            put("11.13", NON_CONFORME, "axe-core autocomplete-valid, " + dom, "; ".join(issues[:3]))
        elif facts["personal_fields"]:
            put(
                "11.13",
                CONFORME,
                "axe-core autocomplete-valid, " + dom,
                f"autocomplete juste sur {', '.join(facts['personal_fields'])}",
            )
        else:
            put("11.13", NON_APPLICABLE, dom, "aucun champ sur l’utilisateur")
    put(
        "13.2",
        CONFORME if facts["popups"] == 0 else NON_CONFORME,
        "Playwright (événement popup au chargement)",
        "aucune fenêtre ouverte sans action de l’utilisateur"
        if facts["popups"] == 0
        else f"{facts['popups']} fenêtre(s) ouverte(s) au chargement",
    )
    if counts["office_links"] == 0:
        for n in (3, 4):
            put(f"13.{n}", NON_APPLICABLE, dom, "aucun document bureautique en téléchargement")
    if counts["animations"] == 0 and counts["video"] + counts["canvas"] == 0:
        put("13.7", NON_APPLICABLE, dom + " (document.getAnimations)", "aucune animation ni vidéo")
    _structure_vetoes(facts, put)
    axe_veto()  # last: a violation wins over any other judgement of the same criterion
    return {(page, number): row for number, row in out.items()}


def _structure_vetoes(facts: Mapping[str, Any], put) -> None:
    """Failures a script can see in the structure: heading levels skipped or missing (9.1),
    English words outside a lang attribute (8.7), moving or blinking elements (13.8)."""
    levels = [int(h[1]) for h in facts.get("headings", [])]
    if facts["kind"] == "page":
        skipped = [f"h{a} puis h{b}" for a, b in itertools.pairwise(levels) if b > a + 1]
        if not levels or levels[0] != 1 or skipped:
            why = "aucun titre" if not levels else f"premier titre h{levels[0]}"
            put("9.1", NON_CONFORME, "requête DOM dans Chromium", f"{why} ; {', '.join(skipped)}")
    english = sorted(set(facts.get("english_words", [])) & ENGLISH_WORDS)
    if english:
        put(
            "8.7",
            NON_CONFORME,
            "requête DOM dans Chromium (mots anglais hors attribut lang)",
            f"mots anglais sans lang : {', '.join(english[:5])}",
        )
    if facts.get("moving"):
        put("13.8", NON_CONFORME, "requête DOM dans Chromium", "; ".join(facts["moving"][:3]))
    if facts.get("positive_tabindex"):
        tags = ", ".join(facts["positive_tabindex"][:3])
        put("12.8", NON_CONFORME, "requête DOM dans Chromium", f"tabindex positif sur : {tags}")
    if facts.get("unexplained_errors"):
        fields = ", ".join(facts["unexplained_errors"][:3])
        put(
            "11.10",
            NON_CONFORME,
            "requête DOM dans Chromium",
            f"champ en erreur sans message relié par aria-describedby : {fields}",
        )
    if facts.get("scripted") and not facts.get("status_region"):
        put(
            "7.5",
            NON_CONFORME,
            "requête DOM dans Chromium",
            "contenu mis à jour par script sans région role=status présente dès le chargement",
        )
    order = facts.get("landmark_order")
    if facts["kind"] == "page" and order is not None and order != ["header", "main", "footer"]:
        put(
            "9.2",
            NON_CONFORME,
            "requête DOM dans Chromium",
            f"ordre des zones : {', '.join(order) or 'aucune'} (attendu : en-tête, contenu, pied)",
        )


#: The link that leads to the site map, last of every page's footer (RGAA 12.4).
SITE_MAP_LINK = "Plan du site"


def consistency_rows(facts: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, str], Row]:
    """Judge what only a comparison between pages shows: the same menu and footer links in
    the same order on every page of a set (12.2), the site-map link at the same place (12.4).

    Sets: the public pages, and the staff pages once signed in (their menu differs); the
    sign-in page belongs to the public set for its footer only.
    """
    tool = "comparaison des pages de l’échantillon dans Chromium"
    pages = {n: f for n, f in facts.items() if f["kind"] == "page" and "footer_links" in f}
    out: dict[tuple[str, str], Row] = {}
    if not pages:
        return out
    footer = _most_common([tuple(f["footer_links"]) for f in pages.values()])
    staff = {n for n, f in pages.items() if n.startswith("equipe-") and len(f["nav_links"]) > 1}
    menus = {
        group: _most_common([tuple(pages[n]["nav_links"]) for n in names])
        for group, names in (("staff", staff), ("public", set(pages) - staff))
        if names
    }
    for name, page_facts in pages.items():
        menu = menus["staff" if name in staff else "public"]
        if name.startswith("equipe-") and name not in staff:
            menu = tuple(page_facts["nav_links"])  # sign-in page: a menu of its own
        differs = []
        if tuple(page_facts["footer_links"]) != footer:
            differs.append("liens du pied de page : " + ", ".join(page_facts["footer_links"]))
        if tuple(page_facts["nav_links"]) != menu:
            differs.append("menu : " + ", ".join(page_facts["nav_links"]))
        out[(name, "12.2")] = _cell(
            name,
            "12.2",
            NON_CONFORME if differs else CONFORME,
            tool,
            "; ".join(differs)
            if differs
            else "même menu dans l’en-tête et mêmes liens du pied de page, dans le même ordre, "
            "que les autres pages de l’ensemble",
        )
        last = page_facts["footer_links"][-1:] == [SITE_MAP_LINK]
        out[(name, "12.4")] = _cell(
            name,
            "12.4",
            CONFORME if last else NON_CONFORME,
            tool,
            f"lien « {SITE_MAP_LINK} » en dernier dans le pied de page, comme sur chaque page"
            if last
            else f"pas de lien « {SITE_MAP_LINK} » à la fin du pied de page",
        )
    return out


def _most_common(values: list[tuple[str, ...]]) -> tuple[str, ...]:
    """Return the value most pages share (the reference of a set)."""
    return max(set(values), key=values.count) if values else ()


def with_tool_version(rows: Mapping[tuple[str, str], Row], date: str) -> dict[tuple[str, str], Row]:
    """Stamp the date of the run on automatic rows."""
    return {key: replace(row, date=date) for key, row in rows.items()}
