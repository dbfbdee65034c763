"""The real application with one probe route, to serve with deploy/gunicorn.conf.py.

/_gc answers, from the worker that took the request, whether its collector runs, how many
objects it tracks against how many the master froze before forking it, and how many templates
it holds compiled. The application is the one wsgi.py loads, preloaded by the configuration.
"""

from __future__ import annotations

import gc
import os

from wsgi import app


def _collector_state() -> dict:
    """Return this worker's collector and template state."""
    compiled = len(app.jinja_env.cache or ())  # before anything below renders a template
    gc.collect()
    return {
        "pid": os.getpid(),
        "enabled": gc.isenabled(),
        "frozen": gc.get_freeze_count(),
        "tracked": len(gc.get_objects()),
        "compiled": compiled,
        "templates": len(app.jinja_env.list_templates()),
    }


app.add_url_rule("/_gc", "gc_probe", _collector_state)
