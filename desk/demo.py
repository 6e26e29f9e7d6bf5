"""Demo users for every role and a month of demo incidents: only with DESK_DEMO=1, and only once.

Everything goes through the same services people use, so the demo's audit log, timelines and
figures are real. Without DESK_DEMO=1 nothing fake is created.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from desk.audit.services import Actor, record
from desk.auth.services import create_user
from desk.contracts import maintenance, payments
from desk.contracts.services import get_contract, phone_variants
from desk.db import transaction
from desk.errors import NotFound
from desk.extensions import db
from desk.incidents import services
from desk.models import Unit, UnitPhone, User, utcnow

PASSWORD = "demo-pass-2025"
SYSTEM = Actor.system("demo")


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    display_name: str
    unit: str | None
    contracts: tuple[str, ...]


XJGAT, QMGA = "XJGAT-POOL-2025", "QMGA-JWT-2025"
USERS = (
    DemoUser("reporter.qiemo", "unit_reporter", "且末县公安局 报障员 王警官", "QMGA", (QMGA,)),
    DemoUser("reporter.gat", "unit_reporter", "公安厅 报障员 李警官", "XJGAT", (XJGAT,)),
    DemoUser("manager.qiemo", "unit_manager", "且末县公安局 科技科 张科长", "QMGA", (QMGA,)),
    DemoUser("manager.gat", "unit_manager", "公安厅 科信处 赵处长", "XJGAT", (XJGAT,)),
    DemoUser("engineer", "carrier_engineer", "移动 工程师 陈工", None, (XJGAT, QMGA)),
    DemoUser("carrier.manager", "carrier_manager", "移动 客户经理 刘经理", None, (XJGAT, QMGA)),
    DemoUser("admin", "admin", "管理员", None, ()),
)
# What the engineer writes as evidence for each cause the demo proposes (typed text, in Chinese as on the desk).
EVIDENCE = {"carrier": "现场排查：基站传输板卡故障，已更换", "third_party": "现场排查：市政施工挖断光缆",
            "customer": "现场排查：单位机房交换机断电", "force_majeure": "现场排查：暴雪压断架空光缆"}
# Hotline numbers of the demo units (a reserved test range, never a real subscriber).
DEMO_PHONES = {"QMGA": "+8613900000001", "XJGAT": "+8613900000002"}


def seeded() -> bool:
    return db.session.execute(select(User.id).where(User.username == USERS[0].username)).first() is not None


def seed(now: datetime | None = None) -> bool:
    """Create the demo; returns False when it was there already (idempotent).

    All or nothing, in one transaction: `seeded()` looks at the first user, so a demo that failed
    half-way (after its users, before its faults) would have been taken as done and never finished."""
    if seeded():
        return False
    try:
        get_contract(XJGAT), get_contract(QMGA)
    except NotFound as exc:
        raise NotFound(f"{exc.message}: load config/contracts first (make db)")
    now = now or utcnow()
    with transaction():
        users = {}
        for spec in USERS:
            users[spec.username] = create_user(
                SYSTEM, username=spec.username, password=PASSWORD, role=spec.role, display_name=spec.display_name,
                unit_code=spec.unit, contract_codes=list(spec.contracts), on_duty=spec.role == "carrier_engineer")
        _register_phones()
        _incidents(users, now)
    return True


def _register_phones() -> None:
    with transaction() as session:
        for code, phone in DEMO_PHONES.items():
            unit = session.execute(select(Unit).where(Unit.code == code)).scalar_one()
            # Taken in any written form (a contract may list 13900000001): one number, one unit.
            taken = session.execute(
                select(UnitPhone).where(UnitPhone.phone.in_(phone_variants(phone)))).scalars().first()
            if taken is None:
                unit.phones.append(UnitPhone(phone=phone))
                session.flush()
                # As every change of a unit: the hotline knows callers from this number now.
                record(SYSTEM, "unit.phone_registered", "unit", unit.id, contract_id=unit.contract_id,
                       after={"phone": phone})


def _unit(code: str) -> Unit:
    return db.session.execute(select(Unit).where(Unit.code == code)).scalar_one()


def _incidents(users: dict, now: datetime) -> None:
    """About a month of faults ending now: restored and confirmed ones, a disputed cause, open ones."""
    reporter = {"QMGA": Actor.of_user(users["reporter.qiemo"]), "XJGAT": Actor.of_user(users["reporter.gat"])}
    manager = {"QMGA": Actor.of_user(users["manager.qiemo"]), "XJGAT": Actor.of_user(users["manager.gat"])}
    engineer = Actor.of_user(users["engineer"])
    carrier_manager = Actor.of_user(users["carrier.manager"])
    h = timedelta(hours=1)

    # (unit, days ago, kind, cards, hours to restore or None, cause or None, manager's decision)
    plan = [
        ("XJGAT", 27, "interruption", None, 1.0, "carrier", "confirm"),
        ("QMGA", 24, "interruption", None, 3.5, "carrier", "confirm"),
        ("QMGA", 20, "degradation", 6, 2.0, "third_party", "confirm"),
        ("XJGAT", 16, "interruption", 400, 5.0, "third_party", "confirm"),
        ("QMGA", 12, "interruption", None, 6.0, "customer", "dispute"),
        ("XJGAT", 8, "degradation", 120, 2.5, "force_majeure", None),
        ("QMGA", 4, "interruption", 12, 4.5, "carrier", None),
        ("XJGAT", 1, "interruption", None, None, None, None),
        ("QMGA", 0.1, "interruption", None, None, None, None),
    ]
    descriptions = {
        "interruption": "警务终端无法接入专网，业务中断",
        "degradation": "专网数据业务时断时续，速率明显下降",
    }
    for code, days, kind, cards, hours, cause, decision in plan:
        # Only faults inside the service period count (spec §2): a contract whose period is over
        # gets its demo month at the end of its period, every fault of it restored.
        anchor = _anchor(get_contract(XJGAT if code == "XJGAT" else QMGA), now)
        if hours is None and anchor < now:
            hours = 6.0
        reported = anchor - timedelta(days=days)
        ticket = services.file_fault(reporter[code], unit=_unit(code), kind=kind, affected_cards=cards,
                                     location="且末县城区" if code == "QMGA" else "乌鲁木齐市 指挥中心",
                                     description=descriptions[kind], now=reported)
        incident = ticket.incident
        services.acknowledge(engineer, incident, now=reported + 0.2 * h)
        if hours is None:
            continue
        services.restore(engineer, incident, reported + hours * h, now=reported + hours * h)
        services.confirm_restoration(reporter[code], incident, now=reported + (hours + 0.5) * h)
        if cause:
            services.propose_cause(engineer, incident, cause, EVIDENCE[cause], now=reported + (hours + 1) * h)
            if decision == "confirm":
                services.confirm_cause(manager[code], incident, "核实无误", now=reported + (hours + 2) * h)
            elif decision == "dispute":
                services.dispute_cause(manager[code], incident, "现场无用户侧设备故障，不认可", now=reported + (hours + 2) * h)
    pool = get_contract(XJGAT)
    payments.record_payment(carrier_manager, pool, paid_at=_anchor(pool, now) - timedelta(days=25),
                            amount=Decimal("191820.00"), note="首期款（合同三.(二)）", now=now)
    qmga = get_contract(QMGA)
    payments.record_payment(carrier_manager, qmga, paid_at=now - timedelta(days=20), amount=Decimal("16350.00"),
                            note="月度服务费", now=now)
    maintenance.create_maintenance_notice(carrier_manager, get_contract(XJGAT), window_start=now + timedelta(days=5),
                                          window_end=now + timedelta(days=5, hours=2),
                                          description="核心网割接，专网业务短时中断", now=now)


def _anchor(contract, now: datetime) -> datetime:
    end = datetime.combine(contract.service_end, time(18), tzinfo=ZoneInfo(contract.timezone))
    return min(now, end.astimezone(timezone.utc))


def login_help() -> str:
    lines = ["Sign in at /login (make run: http://127.0.0.1:5000/login) as one of these demo users,",
             "password for all: %s" % PASSWORD]
    for spec in USERS:
        scope = spec.unit or ", ".join(spec.contracts) or "all"
        lines.append(f"  {spec.username:<16} {spec.role:<17} {scope}")
    return "\n".join(lines)


def register_cli(app) -> None:
    import click

    @app.cli.command("demo")
    def demo_command():
        """With DESK_DEMO=1: create the demo users and a month of demo incidents (once), and say how to sign in."""
        from flask import current_app

        if not current_app.config.get("DESK_DEMO"):
            click.echo("DESK_DEMO is not 1: no demo data is created")
            return
        try:
            created = seed()
        except NotFound as exc:
            raise click.ClickException(exc.message)
        click.echo("demo users and incidents created" if created else "demo data already present")
        click.echo(login_help())
