"""The JSON API under /api/v1/ for callers with an API token."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from desk.api import views  # noqa: E402,F401  (routes register on import)
