"""Figures that refresh themselves every 30 s can be paused and resumed (RGAA 13.8,
WCAG 2.2.2): the button shows only where something refreshes, stops the polls (not the
refreshes that follow the visitor's own action), says its state, and is kept for the visit."""

from __future__ import annotations

from tests.browser.conftest import assert_accessible, poll

POLL_URL = "/places"


def polls_during(page, seconds: int) -> int:
    """Let the page's (fake) clock run; return how many seat requests were sent meanwhile."""
    sent: list[str] = []

    def note(request) -> None:
        if POLL_URL in request.url:
            sent.append(request.url)

    page.on("request", note)
    page.clock.run_for(seconds * 1000)
    page.wait_for_timeout(300)  # let the requests just fired reach the listener
    page.remove_listener("request", note)
    return len(sent)


def test_the_seat_counts_refresh_until_paused_and_again_once_resumed(page, live_server):
    page.clock.install()
    page.goto(live_server.url + "/")
    control = page.locator("#actualisation")
    assert control.is_visible()
    button = control.get_by_role("button", name="Suspendre la mise à jour automatique")
    assert polls_during(page, 31) >= 1  # running: every live block asks again

    button.click()
    assert poll(page, "document.getElementById('annonces').textContent.includes('suspendue')")
    assert "suspendue" in control.inner_text()
    assert polls_during(page, 95) == 0  # three intervals, nothing asked
    assert_accessible(page)

    # The choice holds on the next page of the visit.
    page.goto(live_server.url + "/inscription")
    resume = page.get_by_role("button", name="Reprendre la mise à jour automatique")
    assert resume.is_visible()
    assert polls_during(page, 31) == 0
    resume.click()
    assert poll(page, "document.getElementById('annonces').textContent.includes('reprise')")
    assert polls_during(page, 31) >= 1


def test_pages_that_do_not_refresh_show_no_control(page, live_server):
    for path in ("/mentions-legales", "/accessibilite", "/plan-du-site"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        assert page.locator("#actualisation").is_hidden(), path


def test_without_javascript_the_control_stays_hidden(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/")
    assert page.locator("#actualisation").is_hidden()
    context.close()
