"""The baseline: a bare Flask app returning a constant string, served like the real one."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def constant():
    """Return a constant string: the cost of Flask and gunicorn alone."""
    return "Bonjour"
