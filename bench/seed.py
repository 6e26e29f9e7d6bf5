"""The benchmark's contracts and people, loaded through the desk's own services.

Every bench contract carries every clause of spec §6 (the 4-hour repair deadline, strikes and
the termination right, planned maintenance, both fee waivers), so each workload exercises all
of R1–R5.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

SERVICE_START = date(2024, 1, 1)
SERVICE_END = date(2026, 12, 31)
CARDS = 1000
PASSWORD = "bench-pass-2025"

TEMPLATE = """\
code = "{code}"
title = "基准测试合同 {n}"
customer = "基准测试公安局 {n}"
carrier = "中国移动通信集团新疆有限公司"
timezone = "Asia/Shanghai"
service_start = {start}
service_end = {end}
total_amount = "900000.00"
cards = {cards}
monthly_fee = "25000.00"

[clauses.repair_deadline]
hours = 4

[clauses.incident_penalty]
percent_of_total = 1

[clauses.strike_termination]
threshold = 3
penalty_percent_of_total = 30

[clauses.planned_maintenance]
min_notice_hours = 72

[clauses.outage_day_waiver]
min_continuous_hours = 3

[clauses.outage_period_waiver]
min_monthly_hours = 72

[[units]]
code = "{unit}"
name = "基准测试单位 {n}"
phones = ["{phone}"]
"""


def contract_code(n: int) -> str:
    return f"BENCH-{n:03d}"


def unit_code(n: int) -> str:
    return f"BU{n:03d}"


def unit_phone(n: int) -> str:
    return f"+86139{n:08d}"


def load_bench_contracts(count: int) -> list:
    """Write `count` contract files and load them with the desk's loader (validation, audit)."""
    from desk.audit.services import Actor
    from desk.contracts.services import load_contracts

    with tempfile.TemporaryDirectory(prefix="desk-bench-contracts-") as folder:
        for n in range(1, count + 1):
            Path(folder, f"bench-{n:03d}.toml").write_text(TEMPLATE.format(
                code=contract_code(n), n=n, start=SERVICE_START, end=SERVICE_END, cards=CARDS,
                unit=unit_code(n), phone=unit_phone(n)), encoding="utf-8")
        return load_contracts([folder], Actor.system("bench"))


@dataclass(frozen=True)
class IntakePeople:
    api_token: str


def reporter_name(n: int) -> str:
    return f"bench.reporter.{n}"


def seed_intake(contracts: int) -> IntakePeople:
    """B1's world: a contract per storm, each with a unit reporter; an on-duty engineer of them all
    (each filing queues them an SMS, as in production) and an API token for them all."""
    from desk.audit.services import Actor
    from desk.auth.services import create_api_token, create_user

    actor = Actor.system("bench")
    loaded = load_bench_contracts(contracts)
    codes = [c.code for c in loaded]
    for n in range(1, contracts + 1):
        create_user(actor, username=reporter_name(n), password=PASSWORD, role="unit_reporter", unit_code=unit_code(n))
    create_user(actor, username="bench.engineer", password=PASSWORD, role="carrier_engineer",
                contract_codes=codes, phone="+8613800000001", on_duty=True)
    _, token = create_api_token(actor, "bench", codes)
    return IntakePeople(api_token=token)
