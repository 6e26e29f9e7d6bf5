"""Local calendar days and months as UTC instants: the one helper for contractual time."""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

CENT = Decimal("0.01")


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)


def month_bounds(year: int, month: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return local_midnight(start, tz), local_midnight(end, tz)


def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def local_days(start: datetime, end: datetime, tz: ZoneInfo) -> list[date]:
    """Local calendar days that [start, end) overlaps by more than an instant."""
    if end <= start:
        return []
    first = start.astimezone(tz).date()
    last_instant = end - timedelta(microseconds=1)
    last = last_instant.astimezone(tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def service_bounds(service_start: date, service_end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return local_midnight(service_start, tz), local_midnight(service_end + timedelta(days=1), tz)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_share(amount: Decimal, part: int, whole: int) -> Decimal:
    """amount × part ÷ whole, rounded once to 0.01 half-up from the exact quotient (spec §1).

    Exact arithmetic, not Decimal division: a quotient cut to 28 digits on its way can land just
    under a half cent (1648.625 as 1648.6249…) and round down.
    """
    cents = Fraction(amount) * part * 100 / whole
    rounded = int(abs(cents) + Fraction(1, 2))  # half up: away from zero
    return Decimal(-rounded if cents < 0 else rounded).scaleb(-2)


def hours(seconds: float | int | Decimal) -> Decimal:
    """Seconds as hours with two decimals, half up (spec §1)."""
    return (Decimal(seconds) / 3600).quantize(CENT, rounding=ROUND_HALF_UP)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo is timezone.utc else value.astimezone(timezone.utc)).isoformat()


def local_month(at: datetime, tz: ZoneInfo) -> tuple[int, int]:
    local = at.astimezone(tz)
    return local.year, local.month


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + delta
    return index // 12, index % 12 + 1


def months_between(start: datetime, end: datetime, tz: ZoneInfo) -> list[str]:
    """The local months ("YYYY-MM") from start's to end's, both included."""
    month, last = local_month(start, tz), local_month(end, tz)
    months = []
    while month <= last:
        months.append(f"{month[0]:04d}-{month[1]:02d}")
        month = add_months(*month, 1)
    return months
