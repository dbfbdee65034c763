"""Pages carrying a visitor's CSRF token, assembled per request from a token-free copy kept here.

The rule (issue 14): no cache may replay a finished page, token or cookie to anyone. A page with
a form is mostly the same for everyone, though: only its CSRF token is the visitor's. So what is
kept here holds nothing of any visitor: the page rendered once with a placeholder wherever
csrf_token() or csrf_meta_tag() would have written the token (hidden inputs, meta, hx-headers),
for one version of what the page shows and one variant of its address (the owner's key). Each
request still makes its own session and token through Flask-WTF (generate_csrf()), which is
written into the copy, and goes through Flask as usual: the visitor's own Set-Cookie, every
security header, the request log.

Only a GET from a visitor who holds nothing (no session, or one holding nothing but a CSRF
token), with no flashed message, no staff sign-in and no token made yet in this request gets
the kept copy; for anyone else page() answers None and the view renders as it always did. The
copy is kept by irev.page_cache (share=False: never marked shareable, so irev.response_cache
never replays it), which also refuses to keep a render that made a token or touched the session.
The placeholder is random per process and letters only: the typography leaves it alone, and no
text a staff member types can hold it by chance.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Hashable

from flask import Flask, current_app, g, has_request_context, request, session
from flask_login import current_user
from flask_wtf.csrf import csrf_meta_tag as flask_wtf_meta_tag
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from irev.page_cache import PageCache
from irev.response_cache import ANONYMOUS_SESSION_KEYS

#: Key of app.extensions.
KEPT = "irev_kept_pages"
#: Key of the WSGI environ, set while a token-free copy renders.
RENDERING = "irev.kept_pages.rendering"
#: Token-free pages kept per process (the form of 100 meetings is about 125 kB).
SIZE = 64
#: Stands where the visitor's token goes, in the kept copy only.
PLACEHOLDER = "irevtoken" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(24))


def init_app(app: Flask) -> None:
    """Make csrf_token() and csrf_meta_tag() write the placeholder while a kept copy renders."""
    app.extensions[KEPT] = PageCache(SIZE)
    # Flask-WTF offers both as globals and again through a context processor, which wins.
    app.jinja_env.globals.update(csrf_token=csrf_token, csrf_meta_tag=csrf_meta_tag)
    app.context_processor(lambda: {"csrf_token": csrf_token, "csrf_meta_tag": csrf_meta_tag})


def csrf_token(**kwargs) -> str:
    """Return the visitor's CSRF token (Flask-WTF's), or the placeholder in a token-free copy."""
    if _rendering():
        return PLACEHOLDER
    return generate_csrf(**kwargs)


def csrf_meta_tag(name: str | None = None, **kwargs) -> Markup:
    """Return Flask-WTF's <meta name="csrf-token">, with the placeholder in a token-free copy."""
    if _rendering():
        name = name or current_app.config.get("WTF_CSRF_META_NAME", "csrf-token")
        return Markup(f'<meta name="{escape(name)}" content="{PLACEHOLDER}">')
    return flask_wtf_meta_tag(name, **kwargs)


def page(
    key: Callable[[], Hashable], version: Callable[[], Hashable], render: Callable[[], str]
) -> str | None:
    """Return the page with this visitor's own token written in, or None: render it normally.

    key: returns everything the page depends on besides version (the route, the query's
    variant, htmx), asked only for a visitor who may have the copy; version: called when the
    copy is no longer fresh (irev.services.cache), to know whether it still holds; render:
    renders the page as the view would, with csrf_token() left to this module.
    """
    if not holds_nothing():
        return None
    kept: PageCache = current_app.extensions[KEPT]
    body = kept.get_or_render(key(), version, lambda: _token_free(render), share=False)
    token = generate_csrf()
    # A view renders after its form made the token, and the render loads the user (Flask-
    # Login's context processor), whose session protection then marks the session (_fresh).
    # Load the (anonymous) user now that the token exists, as such a render would, so the
    # visitor's cookie holds what a render gives (a copy rendered just now loaded it before).
    g.pop("_login_user", None)
    current_user._get_current_object()
    return body.replace(PLACEHOLDER, str(escape(token)))


def holds_nothing() -> bool:
    """Return True when nothing of this visitor can show on the page (see the module's doc)."""
    if request.method != "GET":
        return False
    if current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") in g:
        return False  # a token exists already: a copy rendered now could hold it
    remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    if remember in request.cookies:
        return False  # staff, whose sign-in the page would meet
    keys = set(session)
    return keys <= ANONYMOUS_SESSION_KEYS and not session.get("_fresh")


def _rendering() -> bool:
    """Return True while a token-free copy renders (in this request)."""
    return has_request_context() and bool(request.environ.get(RENDERING))


def _token_free(render: Callable[[], str]) -> str:
    """Render with the placeholder where the token goes."""
    request.environ[RENDERING] = True
    try:
        return render()
    finally:
        request.environ.pop(RENDERING, None)
