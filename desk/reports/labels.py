"""The words of the report (zh by default, en on request) and how its figures are read and written.

Every renderer takes its columns and totals from here, so the CSV, XLSX and PDF show the same
figures under the same names.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from desk.sla.timeutil import hours, month_bounds
from desk.sla.timeutil import money as fen  # to the fen, half up (spec §1)

TEXT = {
    "zh": {
        "report": "月度SLA报告", "contract": "合同编号", "title": "合同名称", "customer": "甲方",
        "carrier": "乙方", "month": "报告月份", "as_of": "截至", "generated_at": "生成时间",
        "timezone": "时区", "cards": "卡数", "total_amount": "合同总金额", "monthly_fee": "月服务费",
        "status": "状态", "final": "终版（本月已冻结）", "provisional": "临时",
        "provisional_cause": "临时：部分事件原因尚未经双方确认，相关数字可能变化",
        "provisional_month": "临时：本月尚未结束，数字可能变化",
        "provisional_unfrozen": "临时：本月已结束，尚未冻结定稿，数字可能变化",
        "totals": "合计", "item": "项目", "value": "数值", "clause": "条款", "no_clause": "合同无此条款",
        "incidents": "事件", "interruptions": "业务中断次数", "repair_deadline_met": "按时修复",
        "repair_deadline_missed": "超时修复", "outage_hours": "本月累计中断时长",
        "strikes_in_month": "本月违约次数", "penalties": "违约赔偿金", "day_waiver_total": "当日服务费减免合计",
        "period_waiver_total": "中断期间服务费减免", "waiver_total": "服务费减免合计",
        "strikes_to_date": "累计违约次数", "termination_right": "甲方终止权",
        "termination_refund": "终止时退还已付服务费", "termination_penalty": "终止违约金",
        "id": "编号", "external_id": "外部编号", "reported_at": "报告时间", "started_at": "中断开始",
        "restored_at": "恢复时间", "kind": "类型", "cause": "原因", "cause_confirmed": "原因已确认",
        "affected_cards": "影响卡数", "repair_hours": "修复时长（小时）", "deadline": "时限",
        "strike_number": "违约序号", "penalty": "违约金",
        "day_waivers": "当日服务费减免", "date": "日期", "amount": "金额", "waivers": "减免",
        "payments": "已付服务费", "paid_at": "付款时间",
        "adjustments": "往月调整（定稿后更正）", "adj_month": "月份", "adj_item": "项目", "adj_frozen": "已定稿",
        "adj_now": "更正后", "adj_difference": "差额", "sheet_adjustments": "往月调整",
        "note": "备注", "sum": "合计", "yes": "是", "no": "否", "met": "按时", "missed": "超时",
        "open": "未恢复", "exists": "已产生", "not_exists": "未产生", "hours": "小时", "yuan": "元",
        "charts": "图表", "signatures": "签署",
        "sign": "签字", "seal": "盖章", "sign_date": "日期", "page": "第 {n} 页 / 共 {m} 页",
        "hash": "报告指纹（SHA-256）", "no_incidents": "本月无事件", "no_rows": "无",
        "termination_text": "累计违约 {n} 次，达到 {t} 次：甲方有权终止合同；行使时乙方退还已付服务费 {refund} 元，"
                            "并支付违约金 {penalty} 元（{clause}）。是否行使由甲方决定，本系统不会自行终止合同。",
        "no_termination_text": "累计违约 {n} 次，未达到 {t} 次，甲方尚无终止权（{clause}）。",
        "decisions": "甲方终止权决定", "decided_at": "决定时间", "decision": "决定",
        "strikes_at_decision": "当时累计违约次数",
        "exercised": "行使终止权", "not_exercised": "暂不行使终止权",
        "decision_text": "{at} 甲方决定{decision}（当时累计违约 {n} 次，{clause}）。",
        "period_text": "本月累计中断 {h} 小时，阈值 {t} 小时（{clause}）：{result}",
        "period_yes": "已达到，期间服务费减免 {amount} 元。", "period_no": "未达到，无期间减免。",
        "period_all_days": "已达到，但中断所在各日已按当日服务费减免全免（{clause}），不重复减免，期间减免 0.00 元。",
        # charts
        "chart_daily": "每日中断时长", "chart_cumulative": "本月累计中断",
        "chart_repair": "修复时长", "chart_strikes": "合同期内累计违约次数",
        "line_day_waiver": "连续中断 ≥ {h} 小时免当日服务费（{clause}）",
        "line_period_waiver": "累计 ≥ {h} 小时免期间服务费（{clause}）",
        "line_repair": "修复时限 {h} 小时（{clause}）",
        "line_strikes": "{n} 次：甲方终止权（{clause}）",
        "axis_hours": "小时", "axis_strikes": "次",
        "legend_waived": "已免当日服务费", "legend_missed": "超时", "legend_met": "按时",
        "legend_provisional": "临时（原因未确认）", "legend_exempt": "不适用（豁免原因）",
        "unconfirmed_note": "* 原因尚未经双方确认", "this_month": "本月",
        "sheet_totals": "合计", "sheet_incidents": "事件", "sheet_waivers": "减免", "sheet_payments": "已付服务费",
        "local_time_note": "时间为 {tz} 本地时间",
    },
    "en": {
        "report": "Monthly SLA report", "contract": "Contract", "title": "Title", "customer": "Customer",
        "carrier": "Carrier", "month": "Month", "as_of": "As of", "generated_at": "Generated",
        "timezone": "Time zone", "cards": "Cards", "total_amount": "Total amount", "monthly_fee": "Monthly fee",
        "status": "Status", "final": "Final (month frozen)", "provisional": "PROVISIONAL",
        "provisional_cause": "PROVISIONAL: some causes are not yet confirmed by both parties",
        "provisional_month": "PROVISIONAL: the month is not over yet",
        "provisional_unfrozen": "PROVISIONAL: the month is over but not frozen yet",
        "totals": "Totals", "item": "Item", "value": "Value", "clause": "Clause", "no_clause": "not in contract",
        "incidents": "Incidents", "interruptions": "Interruptions", "repair_deadline_met": "Repair deadline met",
        "repair_deadline_missed": "Repair deadline missed", "outage_hours": "Cumulative outage",
        "strikes_in_month": "Strikes in month", "penalties": "Penalties", "day_waiver_total": "Day waivers total",
        "period_waiver_total": "Period waiver", "waiver_total": "Waivers total",
        "strikes_to_date": "Strikes to date", "termination_right": "Termination right",
        "termination_refund": "Refund on termination", "termination_penalty": "Termination penalty",
        "id": "ID", "external_id": "External ID", "reported_at": "Reported", "started_at": "Started",
        "restored_at": "Restored", "kind": "Kind", "cause": "Cause", "cause_confirmed": "Cause confirmed",
        "affected_cards": "Affected cards", "repair_hours": "Repair (h)", "deadline": "Deadline",
        "strike_number": "Strike #", "penalty": "Penalty",
        "day_waivers": "Day waivers", "date": "Date", "amount": "Amount", "waivers": "Waivers",
        "payments": "Payments to date", "paid_at": "Paid at",
        "adjustments": "Adjustments to frozen months", "adj_month": "Month", "adj_item": "Item",
        "adj_frozen": "As signed", "adj_now": "Corrected", "adj_difference": "Difference",
        "sheet_adjustments": "Adjustments",
        "note": "Note", "sum": "Total", "yes": "yes", "no": "no", "met": "met", "missed": "missed",
        "open": "open", "exists": "yes", "not_exists": "no", "hours": "h", "yuan": "CNY",
        "charts": "Charts", "signatures": "Signatures",
        "sign": "Signature", "seal": "Seal", "sign_date": "Date", "page": "Page {n} of {m}",
        "hash": "Report fingerprint (SHA-256)", "no_incidents": "No incidents this month", "no_rows": "none",
        "termination_text": "{n} strikes, threshold {t}: the customer may terminate; the carrier would refund "
                            "the fees paid, {refund} CNY, and pay a penalty of {penalty} CNY ({clause}). "
                            "The customer decides; the desk never terminates by itself.",
        "no_termination_text": "{n} strikes, below the threshold of {t}: no termination right ({clause}).",
        "decisions": "Termination decisions", "decided_at": "Decided at", "decision": "Decision",
        "strikes_at_decision": "Strikes then",
        "exercised": "to exercise the termination right", "not_exercised": "not to exercise the termination right",
        "decision_text": "{at}: the customer decided {decision} ({n} strikes then, {clause}).",
        "period_text": "Cumulative outage {h} h, threshold {t} h ({clause}): {result}",
        "period_yes": "reached, period waiver {amount} CNY.", "period_no": "not reached, no period waiver.",
        "period_all_days": "reached, but every outage day is already waived whole by the day waiver ({clause}); "
                           "nothing is waived twice, so the period waiver is 0.00 CNY.",
        "chart_daily": "Outage hours per day", "chart_cumulative": "Cumulative outage this month",
        "chart_repair": "Repair times", "chart_strikes": "Strikes over the contract period",
        "line_day_waiver": "continuous ≥ {h} h waives the day ({clause})",
        "line_period_waiver": "≥ {h} h in the month waives the period ({clause})",
        "line_repair": "repair deadline {h} h ({clause})",
        "line_strikes": "{n} strikes: termination right ({clause})",
        "axis_hours": "h", "axis_strikes": "strikes",
        "legend_waived": "day waived", "legend_missed": "missed", "legend_met": "met",
        "legend_provisional": "provisional (cause unconfirmed)", "legend_exempt": "n/a (exempt cause)",
        "unconfirmed_note": "* cause not yet confirmed by both parties",
        "this_month": "this month",
        "sheet_totals": "Totals", "sheet_incidents": "Incidents", "sheet_waivers": "Waivers",
        "sheet_payments": "Payments",
        "local_time_note": "Times are local time in {tz}",
    },
}

KINDS = {
    "zh": {"interruption": "业务中断", "degradation": "服务降级"},
    "en": {"interruption": "interruption", "degradation": "degradation"},
}
CAUSES = {
    "zh": {"carrier": "乙方原因", "customer": "甲方原因", "third_party": "第三方", "force_majeure": "不可抗力",
           "planned_maintenance": "计划维护", "undetermined": "待定"},
    "en": {"carrier": "carrier", "customer": "customer", "third_party": "third party",
           "force_majeure": "force majeure", "planned_maintenance": "planned maintenance",
           "undetermined": "undetermined"},
}

# The totals of spec §5 in report order: key, the rules that produce it, and how it is written.
TOTALS: list[tuple[str, tuple[str, ...], str]] = [
    ("incidents", (), "int"),
    ("interruptions", (), "int"),
    ("repair_deadline_met", ("R1",), "int"),
    ("repair_deadline_missed", ("R1",), "int"),
    ("outage_hours", ("R5",), "hours"),
    ("strikes_in_month", ("R2",), "int"),
    ("penalties", ("R2",), "money"),
    ("day_waiver_total", ("R4",), "money"),
    ("period_waiver_total", ("R5",), "money"),
    ("waiver_total", ("R4", "R5"), "money"),
    ("strikes_to_date", ("R3",), "int"),
    ("termination_right", ("R3",), "bool"),
    ("termination_refund", ("R3",), "money"),
    ("termination_penalty", ("R3",), "money"),
]


# A spreadsheet (Excel, WPS) reads a cell typed with one of these first characters as a formula:
# OWASP "CSV Injection". Text people typed (an imported external ID, a payment note) may start so.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def read_as_formula(text: str) -> bool:
    """Whether a spreadsheet would evaluate this text, typed into a cell, instead of showing it."""
    return text.startswith(FORMULA_TRIGGERS)


def words(lang: str) -> dict[str, str]:
    return TEXT.get(lang, TEXT["zh"])


def instant(value: str | None) -> datetime | None:
    """An ISO 8601 instant of the report as an aware UTC datetime."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"instant without offset: {value!r}")
    return parsed.astimezone(timezone.utc)


def local(value: str | datetime | None, tz: str) -> datetime | None:
    """The local wall-clock time (naive) of an instant in the contract's time zone."""
    moment = instant(value) if isinstance(value, str) else value
    return None if moment is None else moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def local_text(value: str | datetime | None, tz: str, seconds: bool = False) -> str:
    moment = local(value, tz)
    if moment is None:
        return ""
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def utc_text(value: str | datetime | None) -> str:
    moment = instant(value) if isinstance(value, str) else value
    moment = moment and moment.astimezone(timezone.utc)
    return "" if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def money(value: str | Decimal) -> str:
    """1689.5 → '1,689.50' (for reading; files keep the plain '1689.50' of the JSON)."""
    return f"{Decimal(value):,.2f}"


def rules_of(meta) -> set[str]:
    """The rules the contract has, from the thresholds its clauses set."""
    present = set()
    if meta.repair_deadline_hours is not None:
        present.add("R1")
    if meta.strike_threshold is not None:
        present |= {"R2", "R3"}
    if meta.day_waiver_hours is not None:
        present.add("R4")
    if meta.period_waiver_hours is not None:
        present.add("R5")
    return present


def clause_of(meta, rules: tuple[str, ...]) -> str:
    """The clause(s) a figure comes from, '' when the contract has none of its rules."""
    present = rules_of(meta)
    labels = []
    for rule in rules:
        if rule in present and meta.clause(rule) not in labels:
            labels.append(meta.clause(rule))
    return ", ".join(labels)


def period_reached(totals: dict, meta) -> bool:
    """R5 (6.3): whether the month's cumulative outage reached the threshold, on exact seconds.

    Not inferred from the period waiver: it is 0.00 when every outage day is already waived whole
    by R4. The report carries the hours rounded; the exact seconds come with the meta, and are used
    when they agree with the report's figure (a frozen month whose facts changed since keeps what
    was signed, compared as written).
    """
    threshold = Decimal(meta.period_waiver_hours)
    seconds = meta.outage_seconds
    if seconds is not None and hours(Decimal(str(seconds))) == Decimal(totals["outage_hours"]):
        return Decimal(str(seconds)) >= threshold * 3600
    return Decimal(totals["period_waiver_total"]) > 0 or Decimal(totals["outage_hours"]) >= threshold


def period_sentence(totals: dict, meta, w: dict) -> str:
    """The R5 clause in words: the month's outage against its threshold, and what it waived."""
    if not period_reached(totals, meta):
        result = w["period_no"]
    elif Decimal(totals["period_waiver_total"]) > 0:
        result = w["period_yes"].format(amount=money(totals["period_waiver_total"]))
    else:
        result = w["period_all_days"].format(clause=meta.clause("R4") if meta.day_waiver_hours is not None else "")
    return w["period_text"].format(h=totals["outage_hours"], t=number(meta.period_waiver_hours),
                                   clause=meta.clause("R5"), result=result)


def decision_sentence(decision, meta, w: dict) -> str:
    """A termination decision (meta.Decision) in words, with its note: what the customer decided, when."""
    text = w["decision_text"].format(at=local_text(decision.decided_at, meta.timezone), decision=w[decision.decision],
                                     n=decision.strikes, clause=meta.clause("R3"))
    return f"{text} {decision.note}" if decision.note else text


RULES_BEHIND = {key: rules for key, rules, _ in TOTALS}


def clause_text(meta, key: str, w: dict) -> str:
    """The clause cell of a total (TOTALS key), from the contract's own clauses, as every report
    writes it: "not in contract" where the contract has none of the rules behind the figure (the
    figure is still given, as in the JSON; outage_hours is computed for every contract, spec §5).
    Counts no rule produces (incidents, interruptions) have an empty cell."""
    return rules_clause(meta, RULES_BEHIND[key], w)


def rules_clause(meta, rules: tuple[str, ...], w: dict) -> str:
    """The clause(s) behind rules, or "not in contract" when the contract has none of them."""
    return clause_of(meta, rules) or (w["no_clause"] if rules else "")


def provisional_reasons(report: dict, meta, w: dict) -> list[str]:
    """Why the figures may still change, one sentence a reason, as every format states them; none once
    the month is final (over and frozen) and every cause behind it agreed.

    build_report makes a month provisional while it is not over, or while a cause that weighs on it
    is not agreed by both parties (unconfirmed, or undetermined); final once it is over and frozen.
    While the month runs, an unagreed cause is seen in the month's incidents or in a strike to date.
    """
    if report["final"] and not report["provisional"]:
        return []
    year, month = (int(part) for part in report["month"].split("-"))
    as_of = instant(report["as_of"])
    month_over = as_of >= month_bounds(year, month, ZoneInfo(report["timezone"]))[1]
    unagreed = report["provisional"] and (month_over or any(
        not i["cause_confirmed"] or i["cause"] == "undetermined" for i in report["incidents"]) or any(
        provisional and at <= as_of for at, _, provisional in meta.strikes_timeline))
    reasons = [] if month_over else [w["provisional_month"]]
    if unagreed:
        reasons.append(w["provisional_cause"])
    if month_over and not report["final"]:
        reasons.append(w["provisional_unfrozen"])
    return reasons


def contract_figures(meta, w: dict) -> list[tuple[str, str, int | Decimal | None]]:
    """The contract's own figures every format gives, (key, label, value): cards as an int, money as
    Decimal to the fen (0.01); a monthly fee the contract does not state is None, written as
    "not in contract" (XJGAT pays by milestone)."""
    fee = None if meta.monthly_fee is None else fen(Decimal(meta.monthly_fee))
    return [("cards", w["cards"], int(meta.cards)),
            ("total_amount", w["total_amount"], fen(Decimal(meta.total_amount))),
            ("monthly_fee", w["monthly_fee"], fee)]


def payments_total(meta) -> Decimal:
    """The sum of the payments to date the PDF and the XLSX give below the ledger."""
    return sum((payment.amount for payment in meta.payments()), Decimal("0.00"))


def number(value: Decimal | int | None) -> str:
    """A threshold as written in the contract: 3, 72, 4 (no trailing zeros)."""
    if value is None:
        return ""
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
