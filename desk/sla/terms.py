"""A contract's parameters, as the engine sees them (spec §1 and §6)."""
from __future__ import annotations

import re

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from decimal import Decimal, InvalidOperation
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class TermsError(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class RepairDeadline:  # 四.(三)
    hours: Decimal

    @cached_property
    def span(self) -> timedelta:
        """The deadline as a duration, made once: reports ask for it for every incident."""
        return timedelta(hours=float(self.hours))


@dataclass(frozen=True)
class IncidentPenalty:  # 六.(六)
    percent_of_total: Decimal


@dataclass(frozen=True)
class StrikeTermination:  # 六.(六)
    threshold: int
    penalty_percent_of_total: Decimal


@dataclass(frozen=True)
class OutageDayWaiver:  # 6.3
    min_continuous_hours: Decimal


@dataclass(frozen=True)
class OutagePeriodWaiver:  # 6.3
    min_monthly_hours: Decimal


@dataclass(frozen=True)
class PlannedMaintenance:  # 七.(五)
    min_notice_hours: Decimal


# The largest value of each kind of clause parameter, and how a refusal says it. Beyond these a
# number is a slip of the keyboard, and the engine's arithmetic on it (a deadline as a timedelta,
# a penalty in money) would overflow on every filing, report and tick. docs/contract-readings.md.
LIMITS = {
    "hours": (Decimal(8784), "a number of hours of at most 8,784 (a leap year)"),
    "month_hours": (Decimal(744), "a number of hours of at most 744 (a month of 31 days)"),
    "percent": (Decimal(100), "a percentage of at most 100"),
    "count": (Decimal(100), "a whole number of at most 100"),
}
CLAUSES = {
    "repair_deadline": (RepairDeadline, {"hours": "hours"}),
    "incident_penalty": (IncidentPenalty, {"percent_of_total": "percent"}),
    "strike_termination": (StrikeTermination, {"threshold": "count", "penalty_percent_of_total": "percent"}),
    "outage_day_waiver": (OutageDayWaiver, {"min_continuous_hours": "hours"}),
    "outage_period_waiver": (OutagePeriodWaiver, {"min_monthly_hours": "month_hours"}),
    "planned_maintenance": (PlannedMaintenance, {"min_notice_hours": "hours"}),
}
# The largest sum the desk accepts: far above any contract, well inside a BIGINT of fen (the money
# column, desk.models.types.Money).
MAX_MONEY = Decimal("999999999999.99")
# Cards: the XJGAT pool has 3,360; ten million is beyond any one customer, and inside the column.
MAX_CARDS = 10_000_000
# Service periods: days whose midnights and deadlines stay inside the calendar (year 9999 overflowed
# service_bounds), and well around any contract the desk serves.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
TOP_KEYS = {"code", "title", "customer", "carrier", "timezone", "service_start", "service_end",
            "total_amount", "cards", "monthly_fee", "clauses", "units"}
REQUIRED = ("code", "title", "customer", "carrier", "timezone", "service_start", "service_end",
            "total_amount", "cards")
TEXT_KEYS = ("code", "title", "customer", "carrier")
# The longest text each key may hold, in characters: the columns are made from these (desk.models),
# so a longer title is refused by name at load instead of failing the load on PostgreSQL (SQLite
# would have stored it whole).
TEXT_MAX = {"code": 64, "title": 300, "customer": 200, "carrier": 200}
UNIT_TEXT_MAX = {"code": 64, "name": 200}
# A contract's or unit's code names URLs (/contracts/<code>), download file names and SMS fields
# (报障 <unit code> …): a "/" made a contract's pages unreachable, a '"' broke its report's
# Content-Disposition, and a comma or colon is a separator in an SMS.
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class ContractTerms:
    code: str
    title: str
    customer: str
    carrier: str
    timezone: str
    service_start: date
    service_end: date
    total_amount: Decimal
    cards: int
    monthly_fee: Decimal | None
    repair_deadline: RepairDeadline | None = None
    incident_penalty: IncidentPenalty | None = None
    strike_termination: StrikeTermination | None = None
    outage_day_waiver: OutageDayWaiver | None = None
    outage_period_waiver: OutagePeriodWaiver | None = None
    planned_maintenance: PlannedMaintenance | None = None

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def service_period(self) -> tuple[datetime, datetime]:
        """[first instant, instant after the last day) of the service period, made once: the clock
        and the reports test every incident of the contract against it."""
        from desk.sla.timeutil import service_bounds

        return service_bounds(self.service_start, self.service_end, self.tz)

    @property
    def has_strikes(self) -> bool:
        return self.incident_penalty is not None or self.strike_termination is not None


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def text_problem(value, *, key_like: bool = False, max_len: int | None = None) -> str | None:
    """What is wrong with a required text, if anything. A code (key_like) is also refused with
    spaces around it: " QMGA" would be a second unit or contract beside QMGA, that no caller keys
    and no SMS names; a blank one was even loaded as a contract."""
    if not isinstance(value, str):
        return "must be text"
    if not value.strip():
        return "blank"
    if max_len is not None and len(value) > max_len:
        return f"{len(value)} characters, at most {max_len}"
    if key_like and value != value.strip():
        return "spaces before or after"
    if key_like and not CODE.match(value):
        return "letters, digits, '-', '_' and '.' only"
    return None


def _day(data: Mapping, key: str, errors: list[str]) -> date | None:
    """A day of the service period, or None with the problem added to errors."""
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, datetime):  # TOML's 2025-06-01T10:00:00; a datetime is also a date
        errors.append(f"{key}: a date (YYYY-MM-DD), not a date and time")
        return None
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            errors.append(f"{key}: not a date (YYYY-MM-DD)")
            return None
    if not FIRST_DAY <= day <= LAST_DAY:
        errors.append(f"{key}: a date from {FIRST_DAY} to {LAST_DAY}")
        return None
    return day


def _money(data: Mapping, key: str, errors: list[str]) -> Decimal | None:
    """A sum in yuan as the money column keeps it, or None with the problem added to errors."""
    amount = _decimal(data.get(key))
    if amount is None or amount <= 0:
        errors.append(f"{key}: must be a positive amount")
    elif amount > MAX_MONEY:
        errors.append(f"{key}: at most {MAX_MONEY:,}")
    elif amount * 100 != (amount * 100).to_integral_value():
        errors.append(f"{key}: at most two decimals (whole fen)")
    else:
        return amount
    return None


def terms_from_mapping(data: Mapping) -> ContractTerms:
    """Validate one contract (as tomllib reads it) and build its terms; every problem is named."""
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise TermsError(["the contract must be a table of keys"])
    for key in REQUIRED:
        if data.get(key) is None or (key not in TEXT_KEYS and data[key] == ""):
            errors.append(f"{key}: required")
        elif key in TEXT_KEYS and (
                problem := text_problem(data[key], key_like=key == "code", max_len=TEXT_MAX[key])):
            errors.append(f"{key}: {problem}")
    for key in set(data) - TOP_KEYS:
        errors.append(f"{key}: unknown key")
    tz = data.get("timezone")
    if tz:
        try:
            ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(f"timezone: unknown time zone {tz!r}")
    start, end = _day(data, "service_start", errors), _day(data, "service_end", errors)
    if start and end and end < start:
        errors.append("service_end: before service_start")
    total = _money(data, "total_amount", errors) if "total_amount" in data else None
    cards = data.get("cards")
    if "cards" in data and (not isinstance(cards, int) or isinstance(cards, bool)
                            or not 1 <= cards <= MAX_CARDS):
        errors.append(f"cards: must be a whole number from 1 to {MAX_CARDS:,}")
    fee = _money(data, "monthly_fee", errors) if data.get("monthly_fee") is not None else None
    clauses = {}
    raw = data.get("clauses", {}) or {}
    if not isinstance(raw, Mapping):
        errors.append("clauses: must be tables [clauses.<name>]")
        raw = {}
    for name, params in raw.items():
        if name not in CLAUSES:
            errors.append(f"clauses.{name}: unknown clause (known: {', '.join(CLAUSES)})")
            continue
        cls, spec = CLAUSES[name]
        if not isinstance(params, Mapping):
            errors.append(f"clauses.{name}: must be a table")
            continue
        for key in set(params) - set(spec):
            errors.append(f"clauses.{name}.{key}: unknown parameter")
        values = {}
        for key, kind in spec.items():
            where = f"clauses.{name}.{key}"
            if key not in params:
                errors.append(f"{where}: required")
                continue
            value = _decimal(params[key])
            largest, limit = LIMITS[kind]
            if value is None or value <= 0:
                errors.append(f"{where}: must be a positive number")
            elif value > largest:
                errors.append(f"{where}: {limit}")
            elif kind == "count":
                if value != value.to_integral_value():
                    errors.append(f"{where}: must be a whole number of at least 1")
                else:
                    values[key] = int(value)
            else:
                values[key] = value
        if len(values) == len(spec):
            clauses[name] = cls(**values)
    if ("outage_day_waiver" in clauses or "outage_period_waiver" in clauses) and fee is None \
            and "monthly_fee" not in data:
        errors.append("monthly_fee: required by the outage waiver clauses")
    if errors:
        raise TermsError(errors)
    return ContractTerms(
        code=data["code"], title=data["title"], customer=data["customer"], carrier=data["carrier"],
        timezone=str(tz), service_start=start, service_end=end, total_amount=total, cards=cards,
        monthly_fee=fee, **clauses,
    )
