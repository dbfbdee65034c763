"""Refill the automatic rows of the RGAA grid (irev/data/rgaa/grid.csv) from Chromium.

Runs tests/browser/test_rgaa_audit.py in writing mode: every page of the sample is measured
on a live server (gunicorn over TLS, as in production) and the rows a tool can judge are
written back; rows judged by hand are kept. Screenshots and the measured facts (Tab order,
headings, links, accessibility tree, axe "incomplete" results) land in RGAA_OUT
(default /tmp/irev-rgaa) for the manual review.

    .venv/bin/python bench/rgaa_refresh.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    """Run the audit test with RGAA_WRITE_GRID=1 and return its exit code."""
    env = {**os.environ, "RGAA_WRITE_GRID": "1"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-s",
        "tests/browser/test_rgaa_audit.py",
    ]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
