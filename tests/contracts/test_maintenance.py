"""Maintenance notices (七.(五)): a window announced under the contract's minimum notice is recorded
with a warning, and planned maintenance links the notice it was announced by."""
from __future__ import annotations

from datetime import timedelta

from desk.contracts import maintenance
from desk.errors import ValidationFailed
from desk.incidents import services
from desk.models import utcnow
from tests.web.conftest import refused


def test_planned_maintenance_links_its_notice_and_short_notice_warns(world):
    contract = world.incident.contract
    now = utcnow()
    short, warnings = maintenance.create_maintenance_notice(
        world.actor("carrier_manager"), contract, window_start=now + timedelta(hours=24),
        window_end=now + timedelta(hours=26), description="割接", now=now)
    assert warnings and "72" in warnings[0]  # 七.(五): three days' notice
    enough, warnings = maintenance.create_maintenance_notice(
        world.actor("carrier_manager"), contract, window_start=now + timedelta(hours=72),
        window_end=now + timedelta(hours=74), description="割接", now=now)
    assert warnings == []
    services.propose_cause(world.actor("engineer"), world.incident, "planned_maintenance", "维护通知已发",
                           maintenance_notice_id=enough.id)
    assert world.incident.maintenance_notice_id == enough.id
    refused(ValidationFailed, maintenance.create_maintenance_notice, world.actor("carrier_manager"), contract,
            window_start=now, window_end=now - timedelta(hours=1), description="x")
