"""The deployment's gunicorn configuration freezes the preloaded app before forking workers.

Without the freeze, each worker's full collection walked the 200,000 objects of the app it
shares with the master, copying their pages as it went: a stall of 250 to 480 ms a few times
a minute under load, seen as the p99 of the form page in `make bench`. Served here as deployed
(TLS, production settings, deploy/gunicorn.conf.py), each worker must collect its own garbage
while the preloaded objects stay frozen, and find every template compiled by the master.
"""

from __future__ import annotations

import json
import urllib.request

from tests import servers


def test_workers_start_with_templates_compiled_and_the_preloaded_app_frozen(tmp_path):
    tls = servers.make_tls(tmp_path)
    port = servers.free_port()
    env = servers.server_env(
        f"sqlite:///{tmp_path / 'site.db'}",
        "https://rencontres.irev.test",
        mail_port=servers.free_port(),
    )
    command = servers.gunicorn_command(port, tls=tls, workers=2, config="deploy/gunicorn.conf.py")
    command[-1] = "tests.gc_probe:app"
    log = tmp_path / "gunicorn.log"
    process = servers.start(command, env, log)
    try:
        servers.wait_until_healthy(servers.origin(port), process, log, tls)
        states = {}
        for _ in range(20):  # enough requests to reach both workers
            with urllib.request.urlopen(
                f"{servers.origin(port)}/_gc", timeout=5, context=tls.client_context()
            ) as response:
                state = json.load(response)
            states[state["pid"]] = state
    finally:
        servers.stop(process)
    assert states, log.read_text()
    for state in states.values():
        assert state["enabled"], state
        # The app, its libraries and its templates: far more than a worker makes for itself.
        assert state["frozen"] > 50_000, state
        assert state["frozen"] > 3 * state["tracked"], state
        # The first request to /_gc compiles nothing: every template came compiled from the
        # master, so no visitor waits for a compilation after a restart or a recycling.
        assert state["compiled"] == state["templates"] > 100, state
