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

    def clause(self, rule: str) -> str:
        """The clause of this contract that rule R1..R5 implements."""
        return self.clause_labels.get(rule) or CLAUSES[rule]

    def payments(self) -> list[Payment]:
        return [p if isinstance(p, Payment) else Payment(*p) for p in self.payments_to_date]

    @property
    def has_strikes(self) -> bool:
        return self.strike_threshold is not None

    @property
    def has_waivers(self) -> bool:
        return self.day_waiver_hours is not None or self.period_waiver_hours is not None
