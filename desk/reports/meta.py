"""What the renderers need besides the report dict of spec §5: the contract's words and the chart series."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Mapping, Sequence

# Which clause produced a figure, by rule (spec §3). The defaults are the two contracts' own
# numbering; a contract with other numbering overrides them in ReportMeta.clause_labels.
CLAUSES: Mapping[str, str] = {
    "R1": "四.(三)",  # XJGAT: 乙方应4小时内排除故障
    "R2": "六.(六)",  # XJGAT: 每发生一次 … 合同总金额的1%
    "R3": "六.(六)",  # XJGAT: 三次及以上 … 终止合同, 退还已付服务费, 30%违约金
    "R4": "6.3",  # QMGA: 单次连续中断时间达3小时以上，免去当日服务费
    "R5": "6.3",  # QMGA: 单月中断时间累计达72小时以上，免去对应中断期间的服务费
}


@dataclass(frozen=True)
class Payment:
    paid_at: datetime  # aware UTC
    amount: Decimal
    note: str = ""


@dataclass(frozen=True)
class Decision:
    """六.(六): the customer's decision on its termination right, as recorded on the desk."""

    decided_at: datetime  # aware UTC
    decision: str  # exercised | not_exercised
    strikes: int  # strikes to date when it was decided
    note: str = ""


@dataclass(frozen=True)
class ReportMeta:
    """The contract as the report names it, the thresholds of its clauses and the chart series.

    A threshold is None when the contract lacks the clause: its lines and labels are left out.
    """

    contract: str
    title: str
    customer: str
    carrier: str
    cards: int
    total_amount: Decimal
    generated_at: datetime
    monthly_fee: Decimal | None = None
    timezone: str = "Asia/Shanghai"
    repair_deadline_hours: Decimal | None = None  # R1
    day_waiver_hours: Decimal | None = None  # R4
    period_waiver_hours: Decimal | None = None  # R5
    strike_threshold: int | None = None  # R3
    service_start: date | None = None
    service_end: date | None = None
    payments_to_date: Sequence[Payment | tuple[datetime, Decimal, str]] = ()
    lang: str = "zh"
    daily_outage_hours: Sequence[tuple[date, Decimal]] = ()
    cumulative_outage: Sequence[tuple[datetime, Decimal]] = ()
    strikes_timeline: Sequence[tuple[datetime, int, bool]] = ()
    # R5's cumulative outage of the month in exact seconds (the report carries it rounded to 0.01 h;
    # thresholds compare exact seconds, spec §1). None where the caller did not compute it.
    outage_seconds: float | None = None
    clause_labels: Mapping[str, str] = field(default_factory=dict)
    # Corrections to frozen earlier months, stated in this report (services.report_adjustments).
    adjustments: Sequence[Mapping[str, str]] = ()
    # The customer's decisions on its termination right up to as_of, oldest first (六.(六)).
    decisions: Sequence[Decision] = ()

    def clause(self, rule: str) -> str:
        """The clause of this contract that rule R1..R5 implements."""
        return self.clause_labels.get(rule) or CLAUSES[rule]

    def payments(self) -> list[Payment]:
        return [p if isinstance(p, Payment) else Payment(*p) for p in self.payments_to_date]

    def snapshot(self) -> dict:
        """What the renderers take from the database, as JSON: a frozen month is rendered from it ever
        after, so its documents stay the signed ones whatever is entered or edited later. Without
        lang and adjustments, which are given when rendering (the adjustments are stored apart)."""
        return {
            "contract": self.contract, "title": self.title, "customer": self.customer, "carrier": self.carrier,
            "cards": self.cards, "total_amount": _text(self.total_amount), "generated_at": _text(self.generated_at),
            "monthly_fee": _text(self.monthly_fee), "timezone": self.timezone,
            "repair_deadline_hours": _text(self.repair_deadline_hours), "day_waiver_hours": _text(self.day_waiver_hours),
            "period_waiver_hours": _text(self.period_waiver_hours), "strike_threshold": self.strike_threshold,
            "service_start": _text(self.service_start), "service_end": _text(self.service_end),
            "payments_to_date": [[_text(p.paid_at), _text(p.amount), p.note] for p in self.payments()],
            "daily_outage_hours": [[_text(day), _text(h)] for day, h in self.daily_outage_hours],
            "cumulative_outage": [[_text(at), _text(h)] for at, h in self.cumulative_outage],
            "strikes_timeline": [[_text(at), number, provisional] for at, number, provisional in self.strikes_timeline],
            "outage_seconds": self.outage_seconds, "clause_labels": dict(self.clause_labels),
            "decisions": [[_text(d.decided_at), d.decision, d.strikes, d.note] for d in self.decisions],
        }

    @classmethod
    def from_snapshot(cls, data: Mapping, **given) -> ReportMeta:
        """The meta a snapshot() stored, with the fields given (lang, adjustments)."""
        return cls(
            contract=data["contract"], title=data["title"], customer=data["customer"], carrier=data["carrier"],
            cards=data["cards"], total_amount=Decimal(data["total_amount"]),
            generated_at=datetime.fromisoformat(data["generated_at"]), monthly_fee=_decimal(data["monthly_fee"]),
            timezone=data["timezone"], repair_deadline_hours=_decimal(data["repair_deadline_hours"]),
            day_waiver_hours=_decimal(data["day_waiver_hours"]),
            period_waiver_hours=_decimal(data["period_waiver_hours"]), strike_threshold=data["strike_threshold"],
            service_start=_date(data["service_start"]), service_end=_date(data["service_end"]),
            payments_to_date=[Payment(datetime.fromisoformat(at), Decimal(amount), note)
                              for at, amount, note in data["payments_to_date"]],
            daily_outage_hours=[(date.fromisoformat(day), Decimal(h)) for day, h in data["daily_outage_hours"]],
            cumulative_outage=[(datetime.fromisoformat(at), Decimal(h)) for at, h in data["cumulative_outage"]],
            strikes_timeline=[(datetime.fromisoformat(at), number, provisional)
                              for at, number, provisional in data["strikes_timeline"]],
            outage_seconds=data["outage_seconds"], clause_labels=data["clause_labels"],
            decisions=[Decision(datetime.fromisoformat(at), decision, strikes, note)
                       for at, decision, strikes, note in data.get("decisions", [])],
            **given,
        )

    @property
    def has_strikes(self) -> bool:
        return self.strike_threshold is not None

    @property
    def has_waivers(self) -> bool:
        return self.day_waiver_hours is not None or self.period_waiver_hours is not None


def _text(value: Decimal | date | datetime | None) -> str | None:
    """A Decimal, date or aware datetime as exact text (str, ISO 8601), None as None."""
    return None if value is None else value.isoformat() if isinstance(value, date) else str(value)


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
