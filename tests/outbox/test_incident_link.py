"""Every message about an incident names it (outbox_message.incident_id), whichever service queued
it: the caller's confirmation, the engineers' new-ticket SMS, restoration and dispute notices, and
the clock's warnings. A contract's notice names none."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from desk.clock.tick import tick
from desk.extensions import db
from desk.hotline import services as hotline
from desk.incidents import services
from desk.models import OutboxMessage, Unit, utcnow
from tests.clock.conftest import hours_ago, world  # noqa: F401  (the clock's world fixture)

CALLER = "+8613912345678"


def linked() -> dict[str, int | None]:
    db.session.expire_all()
    return dict(db.session.execute(select(OutboxMessage.dedupe_key, OutboxMessage.incident_id)).all())


def test_the_filing_services_link_the_new_ticket_sms_and_the_callers_confirmation(world):
    web = world.file("XJGAT", hours_ago(0.1))
    unit = db.session.execute(select(Unit).where(Unit.code == "QMGA")).scalar_one()
    call = hotline.update_call(hotline.call_for("CA" + "1" * 32, CALLER), unit_id=unit.id, kind="interruption")
    phoned, created = hotline.file_call(call)
    assert created
    keys = linked()
    assert keys[f"ticket:{web.tickets[0].id}:new:user:{world.users['eng'].id}"] == web.id
    assert keys[f"ticket:{phoned.id}:filed:caller"] == phoned.incident_id
    assert keys[f"ticket:{phoned.id}:new:user:{world.users['eng'].id}"] == phoned.incident_id
    assert web.id != phoned.incident_id


def test_restoration_dispute_and_clock_messages_name_their_incident(world):
    incident = world.file("XJGAT", hours_ago(4.5), caller_phone=CALLER)  # warnings, breach and strike due
    other = world.file("QMGA", hours_ago(0.1))
    tick(utcnow())
    restored_at = utcnow() - timedelta(minutes=5)
    services.restore(world.actor("eng"), incident, restored_at)
    services.dispute_restoration(world.actor("um"), incident, "仍然无信号")
    keys = linked()
    about = {key: value for key, value in keys.items() if key.startswith(f"incident:{incident.id}:")}
    assert {key.split(":")[2] for key in about} >= {"repair_deadline", "strike", "restored", "disputed"}
    assert set(about.values()) == {incident.id}
    assert any(key.endswith(f":phone:{CALLER}") for key in about)  # the caller's restoration notice
    # Nothing of this incident's is put on the other's page, nor the other way round.
    assert {value for key, value in keys.items() if key.startswith(f"ticket:{other.tickets[0].id}:")} == {other.id}
    assert all(value is None for key, value in keys.items() if key.startswith("contract:"))
