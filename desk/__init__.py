"""desk: the SLA and fault-ticket desk for the police private mobile network."""
from __future__ import annotations

import gc
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from config import DEVELOPMENT_SECRET_KEY, ROOT, config_for
# desk.db is a submodule; importing it rebinds the package attribute `db`, so no global of that name here.
from desk import extensions

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MAX_ROW_ID = 2**31 - 1  # primary keys are INTEGER
# The web sessions' timeouts: (setting, unit, largest value). A year at most: beyond it a typo.
SESSION_LIMITS = (("DESK_SESSION_IDLE_MINUTES", "minutes", 366 * 24 * 60),
                  ("DESK_SESSION_LIFETIME_HOURS", "hours", 366 * 24))
_long_lived_frozen = False


class RowIdConverter(IntegerConverter):
    """<int:…> in the desk's URLs: beyond the 32-bit keys no row exists, so such a URL is a 404 like
    any other missing row (PostgreSQL would refuse the number with an error)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


def create_app(config: dict | str | None = None) -> Flask:
    """The application factory: no work happens at import time, everything is built here."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    # Before any route is added: every <int:…> in a URL is a row id.
    app.url_map.converters["int"] = RowIdConverter
    app.config.from_object(config_for(config if isinstance(config, str) else None))
    if isinstance(config, dict):
        app.config.update(config)
    if app.config["DESK_REQUIRE_SECRET_KEY"] and app.config.get("SECRET_KEY") in (None, "", DEVELOPMENT_SECRET_KEY):
        # The development key is public: with it anyone could sign a session cookie as any user.
        raise RuntimeError("SECRET_KEY is not set: production needs its own secret key")
    for name, unit, most in SESSION_LIMITS:
        app.config[name] = _whole_number(name, app.config.get(name), unit, most)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config.get("DESK_PROXY_HOPS"):
        hops = app.config["DESK_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(MIGRATIONS), render_as_batch=True)
    extensions.csrf.init_app(app)
    extensions.login_manager.init_app(app)

    from desk import models  # noqa: F401  (tables registered before migrations look)
    from desk.db import init_app as init_database

    init_database(app)

    from desk.api import bp as api_bp

    app.register_blueprint(api_bp)

    from desk.reports.views import bp as reports_bp

    app.register_blueprint(reports_bp)

    from desk.hotline.views import bp as hotline_bp

    app.register_blueprint(hotline_bp)

    from desk.cli import register_cli

    register_cli(app)

    from desk.web import init_web

    init_web(app)

    from desk.clock.scheduler import init_embedded

    init_embedded(app)

    from desk.demo import register_cli as register_demo_cli

    register_demo_cli(app)
    _freeze_long_lived()
    return app


def _whole_number(name: str, value, unit: str, most: int) -> int:
    """A setting that must be a whole number from 1 to `most`, refused at start-up naming it."""
    text = str(value).strip() if value is not None else ""
    digits = text.isascii() and text.isdigit()  # int() would take "١٢", "+5" and "1_0" as well
    if isinstance(value, bool) or not (isinstance(value, int) or digits):
        raise ValueError(f"{name}: {value!r} is not a whole number of {unit}")
    number = int(text)
    if not 1 <= number <= most:
        raise ValueError(f"{name}: {value!r} must be from 1 to {most} {unit}")
    return number


def _freeze_long_lived() -> None:
    """Take what the process is built of (modules, mappers, routes, the app) out of the garbage
    collector's generations, once per process.

    They live as long as the process, yet every full collection walked them all: a report of 10,000
    incidents allocates enough to set one off every third report or so, about 100 ms each (31 ms a
    report on average; 3 ms once frozen), and a worker in a storm of filings pays the same now and
    then. Once per process: an app made again (the tests make one each) is not kept forever."""
    global _long_lived_frozen
    if not _long_lived_frozen:
        gc.collect()  # what the imports left as garbage goes now, not frozen with the rest
        gc.freeze()
        _long_lived_frozen = True
