"""Reading instants that people and files write, in the contract's time zone when none is given,
and how far ahead of the desk's clock one given as "now" may be."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

# A time given as now or earlier may be read off a clock a little ahead of the desk's; beyond
# this it is in the future, and refused.
CLOCK_SKEW = timedelta(minutes=5)


def parse_instant(text: str, tz: str) -> datetime:
    """ISO 8601 → aware UTC. Without an offset the time is local to `tz` (spec §6)."""
    value = (text or "").strip()
    if not value:
        raise ValueError("empty time")
    if value.endswith("Z") or value.endswith("z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time (e.g. 2025-06-03T10:00 or 2025-06-03T02:00:00Z)")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it
        raise ValueError(f"{text!r} is outside the years a time can have")


def local(dt: datetime | None, tz: str) -> datetime | None:
    return None if dt is None else dt.astimezone(ZoneInfo(tz))
