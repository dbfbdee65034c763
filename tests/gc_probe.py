"""The real application behind a probe of the collector, to serve with deploy/gunicorn.conf.py.

/_gc answers, from the worker that took the request, whether its collector runs and how many
objects it tracks against how many the master froze before forking it. Everything else goes to
the real application, loaded (preloaded by the configuration) exactly as wsgi.py loads it.
"""

from __future__ import annotations

import gc
import json
import os

from wsgi import app as site


def app(environ, start_response):
    """Answer /_gc with this worker's collector state; pass anything else to the site."""
    if environ.get("PATH_INFO") != "/_gc":
        return site(environ, start_response)
    gc.collect()
    state = {
        "pid": os.getpid(),
        "enabled": gc.isenabled(),
        "frozen": gc.get_freeze_count(),
        "tracked": len(gc.get_objects()),
    }
    body = json.dumps(state).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
