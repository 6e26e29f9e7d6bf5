"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi …`."""
from desk import create_app

app = create_app()
