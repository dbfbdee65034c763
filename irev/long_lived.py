"""What the gunicorn master does once it has loaded the app, before it forks the workers.

The application, its libraries and its templates are some 200,000 objects that live as long
as the process. Python's full collection walks every one of them each time, and in a worker
forked from a preloaded master the walk also wrote into the pages it shared with the master,
so each was copied: the worker stalled 250 to 480 ms, a few times a minute under load. Frozen
before the fork, they are never walked again; only what a worker makes itself is collected.
(The mail worker was measured too: a pass of 1,000 messages ran no full collection.)
"""

from __future__ import annotations

import gc

from flask import Flask


def compile_templates(app: Flask) -> int:
    """Compile every template of app now (an error in one stops the process here); return
    how many there are."""
    environment = app.jinja_env
    names = environment.list_templates()
    for name in names:
        environment.get_template(name)
    return len(names)


def freeze_loaded() -> None:
    """Collect the garbage made so far (a frozen cycle is never freed), then freeze the rest."""
    gc.collect()
    gc.freeze()
