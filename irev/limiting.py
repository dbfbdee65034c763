"""Flask-Limiter, wired so that the pages without a limit pay nothing for it.

Every limit of the site is a decorator on the route it protects (`@limiter.limit` on the
registration form, its inline checks and the staff sign-in), and the decorator checks it. There
is no default, application or blueprint limit, yet Flask-Limiter also runs a before_request hook
on every request to look for those: 75 µs a request, a third of what a cached programme page
costs. That hook is kept only when such limits exist (RATELIMIT_DEFAULT, RATELIMIT_APPLICATION,
a limit on a blueprint, an in-memory fallback ...), decided once, at the first request, when every
blueprint is registered.
"""

from __future__ import annotations

from flask import Flask

from irev.extensions import limiter


def init_app(app: Flask) -> None:
    """Start Flask-Limiter, its per-request hook replaced by one that runs it only if needed."""
    limiter.init_app(app)
    hooks = app.before_request_funcs.setdefault(None, [])
    original = limiter._check_request_limit
    needed: list[bool] = []

    def check_limits_if_any() -> None:
        """Run Flask-Limiter's own check when a default, application or blueprint limit exists."""
        if not needed:
            needed.append(_has_request_wide_limits())
        if needed[0]:
            original()

    hooks[:] = [check_limits_if_any if hook == original else hook for hook in hooks]


def _has_request_wide_limits() -> bool:
    """Return True when a limit applies beyond the decorated routes."""
    manager = limiter.limit_manager
    return bool(
        manager.default_limits
        or manager.application_limits
        or getattr(manager, "_blueprint_limits", True)
        or getattr(limiter, "_meta_limits", True)
        or getattr(limiter, "_in_memory_fallback", True)
    )
