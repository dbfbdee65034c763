"""The public pages in Chromium: accessibility, keyboard, small screens, no JavaScript,
no third-party request, and a Content-Security-Policy that breaks nothing."""

from __future__ import annotations

import pytest

from irev.services import accessibility_audit
from tests.browser.conftest import assert_accessible

MEETING_SLUG = "rencontre-1-mixite-sociale-habitat"
TITLE_SUFFIX = " – Rencontres des élus – IREV"

#: (path, expected status): every public page, and a page that does not exist.
PAGES = [
    ("/", 200),
    (f"/seances/{MEETING_SLUG}", 200),
    ("/accessibilite", 200),
    ("/donnees-personnelles", 200),
    ("/mentions-legales", 200),
    ("/cette-page-n-existe-pas", 404),
]
PAGE_IDS = ["accueil", "seance", "accessibilite", "donnees-personnelles", "mentions", "404"]

#: Collects CSP violations from the first script run, before any page script.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""

pages = pytest.mark.parametrize(("path", "status"), PAGES, ids=PAGE_IDS)


def open_page(page, live_server, path: str, status: int):
    """Go to a page of the live server and check its HTTP status."""
    response = page.goto(live_server.url + path)
    assert response is not None
    assert response.status == status, f"{path} answered {response.status}"
    return response


@pages
def test_axe_finds_no_violation(page, live_server, path, status):
    open_page(page, live_server, path, status)
    assert_accessible(page)


@pages
def test_structure_lang_title_landmarks_and_one_h1(page, live_server, path, status):
    open_page(page, live_server, path, status)
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.title().endswith(TITLE_SUFFIX)
    assert len(page.title()) > len(TITLE_SUFFIX), "the title must name the page"
    assert page.locator("h1").count() == 1
    assert page.locator("h1").inner_text().strip()
    for landmark in ("header", "nav", "main", "footer"):
        assert page.locator(landmark).count() >= 1, f"no <{landmark}>"
    assert page.locator("main").count() == 1
    footer = page.locator("footer")
    mention = accessibility_audit.current_results().mention
    assert footer.get_by_role("link", name=f"Accessibilité : {mention}").count() == 1
    assert footer.get_by_role("link", name="Données personnelles").count() == 1
    assert footer.get_by_role("link", name="Mentions légales").count() == 1


@pages
def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(page, live_server, path, status):
    open_page(page, live_server, path, status)
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => ({tag: document.activeElement.tagName,"
        " href: document.activeElement.getAttribute('href'),"
        " text: document.activeElement.textContent.trim()})"
    )
    assert focused["tag"] == "A"
    assert focused["text"] == "Aller au contenu"
    skip_link = page.locator("a", has_text="Aller au contenu")
    box = skip_link.bounding_box()
    assert box is not None and box["width"] > 10 and box["height"] > 10, "invisible on focus"
    assert box["y"] >= 0 and box["x"] >= 0, "the focused skip link is off screen"

    page.keyboard.press("Enter")
    main_id = page.locator("main").get_attribute("id")
    assert focused["href"] == f"#{main_id}"
    assert page.evaluate("() => document.activeElement.tagName") == "MAIN"
    # The next Tab lands inside the content, not back in the header.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")


@pages
def test_no_horizontal_scrolling_at_320_px(page, live_server, path, status):
    page.set_viewport_size({"width": 320, "height": 640})
    open_page(page, live_server, path, status)
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    assert widths["scroll"] <= widths["client"], f"scrolls sideways at 320 px: {widths}"


#: The control pausing the automatic refresh exists only where the refresh runs (JavaScript).
MAIN_TEXT = """() => {
  const main = document.querySelector("main").cloneNode(true);
  main.querySelectorAll(".live-control").forEach((control) => control.remove());
  return main.textContent.replace(/\\s+/g, " ").trim();
}"""


def main_text(page) -> str:
    """Return the text of the page's main region, without the JavaScript-only refresh control."""
    return page.evaluate(MAIN_TEXT)


@pages
def test_works_without_javascript(js_off_page, page, live_server, path, status):
    open_page(js_off_page, live_server, path, status)
    # Page scripts did not run (Playwright's own evaluation still works).
    assert js_off_page.evaluate("() => typeof window.htmx") == "undefined"
    open_page(page, live_server, path, status)
    # The same content reaches a reader without JavaScript.
    assert js_off_page.locator("h1").inner_text() == page.locator("h1").inner_text()
    assert main_text(js_off_page) == main_text(page)
    for link in js_off_page.locator("main a[href]").all():
        href = link.get_attribute("href")
        assert href and not href.startswith("javascript:"), f"a link needs JavaScript: {href}"


@pages
def test_no_request_leaves_the_site(page, live_server, path, status):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    open_page(page, live_server, path, status)
    page.wait_for_load_state("networkidle")
    foreign = [url for url in requested if not url.startswith((live_server.url + "/", "data:"))]
    assert requested, "no request recorded"
    assert not foreign, f"requests to other origins: {foreign}"


@pages
def test_content_security_policy_blocks_nothing(page, live_server, path, status):
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.add_init_script(CSP_LISTENER)
    response = open_page(page, live_server, path, status)
    page.wait_for_load_state("networkidle")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    violations = page.evaluate("() => window.__cspViolations")
    assert violations == [], f"CSP violations: {violations}"
    if status == 404:  # Chromium logs the document's own 404 as a console error
        errors = [e for e in errors if "status of 404" not in e]
    assert errors == [], f"console errors: {errors}"


def test_htmx_runs_under_the_content_security_policy(page, live_server):
    page.goto(live_server.url + "/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => typeof window.htmx") == "object"
    assert page.evaluate("() => htmx.config.allowEval") is False
    assert page.evaluate("() => htmx.config.includeIndicatorStyles") is False


FOCUS_STYLE = """() => {
  const style = getComputedStyle(document.activeElement);
  return {
    element: document.activeElement.outerHTML.slice(0, 80),
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
    shadow: style.boxShadow !== "none",
  };
}"""


@pages
def test_focus_is_visible_on_every_tab_stop(page, live_server, path, status):
    open_page(page, live_server, path, status)
    seen = 0
    for _ in range(40):  # every tab stop of these pages, bounded
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement === document.body"):
            break
        focus = page.evaluate(FOCUS_STYLE)
        assert focus["outline"] or focus["shadow"], f"focus not visible on {focus['element']}"
        seen += 1
    assert seen >= 4, "too few tab stops: skip link, site name, menu, footer links at least"
