"""Configuration classes: every setting comes from an environment variable with a sane default."""
import os
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Heroku-style URLs name the old driver; the desk speaks psycopg 3.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://"):]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    return f"sqlite:///{ROOT / 'instance' / 'desk.sqlite3'}"


def _numbers(name: str, default: str, kind=int) -> tuple:
    """A comma-separated list of numbers, e.g. DESK_DEADLINE_WARNINGS="60,15"."""
    text = os.environ.get(name, default)
    try:
        values = tuple(kind(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a comma-separated list of numbers") from None
    if any(v <= 0 for v in values):
        raise ValueError(f"{name}: {text!r} must hold positive numbers")
    return values


# The development signing key: public (it is in this file), so a production desk refuses to start with it.
DEVELOPMENT_SECRET_KEY = "dev-only-change-me"


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
    DESK_REQUIRE_SECRET_KEY = False  # production: refuse the development key (desk.create_app)
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    DESK_TIMEZONE = os.environ.get("DESK_TIMEZONE", "Asia/Shanghai")
    DESK_DEMO = _bool("DESK_DEMO")
    BABEL_DEFAULT_TIMEZONE = DESK_TIMEZONE
    # SQLite: how long a writer waits for another one before the request fails with a 503.
    DESK_SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("DESK_SQLITE_BUSY_TIMEOUT_MS", "30000"))
    MAX_CONTENT_LENGTH = int(os.environ.get("DESK_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("DESK_SECURE_COOKIES")
    REMEMBER_COOKIE_HTTPONLY = True
    # Web sessions (desk/auth/sessions.py): signed out after this long without a request, and this
    # long after signing in whatever happens. Whole numbers, checked by create_app.
    DESK_SESSION_IDLE_MINUTES = os.environ.get("DESK_SESSION_IDLE_MINUTES", "120")
    DESK_SESSION_LIFETIME_HOURS = os.environ.get("DESK_SESSION_LIFETIME_HOURS", "12")
    WTF_CSRF_TIME_LIMIT = None
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
    TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
    # Empty: api.twilio.com. Else a Twilio-compatible gateway (see desk/outbox/gateway.py).
    TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "")
    # Behind a reverse proxy the signed URL is the public one: trust this many proxy hops.
    DESK_PROXY_HOPS = int(os.environ.get("DESK_PROXY_HOPS", "0"))
    # The SLA clock (desk/clock/): warnings before each threshold, how often it beats, its lease.
    DESK_DEADLINE_WARNINGS = _numbers("DESK_DEADLINE_WARNINGS", "60,15")  # minutes before R1's deadline
    DESK_DAY_WAIVER_WARNING_HOURS = _numbers("DESK_DAY_WAIVER_WARNING_HOURS", "2.5", Decimal)[0]  # R4 at 3 h
    DESK_PERIOD_WAIVER_WARNING_HOURS = _numbers("DESK_PERIOD_WAIVER_WARNING_HOURS", "60", Decimal)[0]  # R5 at 72 h
    DESK_CLOCK_INTERVAL_SECONDS = _numbers("DESK_CLOCK_INTERVAL_SECONDS", "10", float)[0]
    DESK_CLOCK_LEASE_SECONDS = _numbers("DESK_CLOCK_LEASE_SECONDS", "45", float)[0]
    # `make run`: the dev server runs the clock itself; in production `flask scheduler` does.
    DESK_EMBEDDED_SCHEDULER = _bool("DESK_EMBEDDED_SCHEDULER")
    # The public URL Twilio calls (https://desk.example.cn), when the proxy sends no forwarded headers.
    DESK_PUBLIC_URL = os.environ.get("DESK_PUBLIC_URL", "").rstrip("/")
    # Twilio voice for the hotline's zh-CN prompts. Twilio's own default (man) speaks no Chinese;
    # set empty, the account's default voice in Twilio's console is used.
    HOTLINE_VOICE = os.environ.get("HOTLINE_VOICE", "Polly.Zhiyu")
    # Reports of one contract within this many minutes are offered to the engineer as one incident.
    DESK_BURST_MINUTES = int(os.environ.get("DESK_BURST_MINUTES", "30"))
    # The outbox dispatcher: attempts per message, doubling backoff from base to cap, how long a
    # claim may stay in `sending` before it counts as abandoned, and Twilio's request timeout.
    DESK_OUTBOX_MAX_ATTEMPTS = int(os.environ.get("DESK_OUTBOX_MAX_ATTEMPTS", "20"))
    DESK_OUTBOX_BACKOFF_SECONDS = int(os.environ.get("DESK_OUTBOX_BACKOFF_SECONDS", "30"))
    DESK_OUTBOX_BACKOFF_MAX_SECONDS = int(os.environ.get("DESK_OUTBOX_BACKOFF_MAX_SECONDS", "1800"))
    DESK_OUTBOX_SENDING_TIMEOUT_SECONDS = int(os.environ.get("DESK_OUTBOX_SENDING_TIMEOUT_SECONDS", "300"))
    DESK_OUTBOX_HTTP_TIMEOUT_SECONDS = float(os.environ.get("DESK_OUTBOX_HTTP_TIMEOUT_SECONDS", "15"))


class DevelopmentConfig(Config):
    DEBUG = True


class TestingConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = False
    SECRET_KEY = "test-secret"


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("DESK_SECURE_COOKIES", True)
    DESK_REQUIRE_SECRET_KEY = True


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> type[Config]:
    name = name or os.environ.get("DESK_ENV", "development")
    if name not in CONFIGS:
        # Like the other settings' checks: the variable and what it takes, not a bare KeyError.
        raise ValueError(f"DESK_ENV: {name!r} is not one of {', '.join(CONFIGS)}")
    return CONFIGS[name]
