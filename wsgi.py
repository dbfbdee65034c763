"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from irev import create_app

app = create_app()
