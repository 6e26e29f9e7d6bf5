"""Month end: each contract's report of the month just over is frozen at 00:10 on the 1st, stored
with its hash and never changed; corrections show in the next report as adjustments."""
import json

from desk.clock.month_end import ensure_freeze_events, freeze_due_at
from desk.clock.tick import tick
from desk.extensions import db
from desk.incidents.services import restore
from desk.models import FrozenReport
from desk.reports.hashing import report_hash
from desk.reports.services import monthly_report, report_adjustments
from tests.clock.conftest import events, messages
from tests.sla.conftest import local


def test_october_is_frozen_at_0010_on_the_first_of_november(world):
    incident = world.file("QMGA", local("2026-10-12T08:00"))
    restore(world.actor("eng"), incident, local("2026-10-12T12:00"))  # 4 h: 12 October waived
    assert ensure_freeze_events(local("2026-11-01T00:05")) >= 1
    assert ensure_freeze_events(local("2026-11-01T00:06")) == 0  # a second run (or scheduler) adds nothing
    [freeze] = [e for e in events(kind="report_freeze") if e.payload["month"] == "2026-10"
                and e.contract_id == incident.contract_id]
    assert freeze.due_at == local("2026-11-01T00:10") == freeze_due_at(incident.contract, 2026, 10)
    tick(local("2026-11-01T00:09:59"))
    assert db.session.query(FrozenReport).count() == 0
    tick(local("2026-11-01T00:10"))
    frozen = db.session.query(FrozenReport).filter_by(contract_id=incident.contract_id, month="2026-10").one()
    document = json.loads(frozen.report_json)
    assert frozen.report_hash == report_hash(document)
    assert document["final"] is True and document["as_of"] == "2026-10-31T16:00:00+00:00"
    assert document["totals"]["day_waivers"] == [{"date": "2026-10-12", "amount": "527.42"}]
    # Served as stored, whoever asks, however often.
    assert monthly_report("QMGA-JWT-2025", "2026-10") == document
    # Both managers are told the report is ready to sign.
    ready = messages("【月报】合同QMGA-JWT-2025%")
    assert {m.to for m in ready} == {"+8613800000001", "+8613800000004"} and frozen.report_hash[:12] in ready[0].body


def test_a_late_correction_leaves_the_frozen_month_alone_and_shows_as_an_adjustment(world):
    incident = world.file("QMGA", local("2026-10-12T08:00"))
    restore(world.actor("eng"), incident, local("2026-10-12T10:00"))  # 2 h: nothing waived
    ensure_freeze_events(local("2026-11-01T00:05"))
    tick(local("2026-11-01T00:10"))
    frozen = db.session.query(FrozenReport).filter_by(month="2026-10", contract_id=incident.contract_id).one()
    before = (frozen.report_json, frozen.report_hash)
    # In November the carrier's log shows the interruption really began an hour earlier: 3 h.
    from desk.incidents.services import set_started

    set_started(world.actor("eng"), incident, local("2026-10-12T07:00"))
    db.session.refresh(frozen)
    assert (frozen.report_json, frozen.report_hash) == before
    [adjustment] = report_adjustments("QMGA-JWT-2025", "2026-11")
    assert adjustment["month"] == "2026-10" and adjustment["item"] == "day_waiver_total"
    assert (adjustment["frozen"], adjustment["now"], adjustment["difference"]) == ("0.00", "527.42", "527.42")
    assert report_adjustments("QMGA-JWT-2025", "2026-10") == []  # nothing frozen before October here
    # The November report, in every format, states it; once November is frozen, December does not again.
    from desk.reports.services import render_report

    november = monthly_report("QMGA-JWT-2025", "2026-11", as_of=local("2026-11-20T00:00"))
    csv_text = render_report(incident.contract, november, "csv").decode("utf-8")
    assert "## adjustments" in csv_text and "2026-10,day_waiver_total,0.00,527.42,527.42" in csv_text
    ensure_freeze_events(local("2026-12-01T00:05"))
    tick(local("2026-12-01T00:10"))
    assert report_adjustments("QMGA-JWT-2025", "2026-12") == []


def test_the_report_page_shows_adjustments(world, client):
    incident = world.file("QMGA", local("2026-10-12T08:00"))
    restore(world.actor("eng"), incident, local("2026-10-12T10:00"))
    ensure_freeze_events(local("2026-11-01T00:05"))
    tick(local("2026-11-01T00:10"))
    from desk.incidents.services import set_started

    set_started(world.actor("eng"), incident, local("2026-10-12T07:00"))
    assert client.post("/login", data={"username": "qm", "password": "secret-pass-1"}).status_code == 302
    page = client.get("/contracts/QMGA-JWT-2025/reports/2026-11").get_data(as_text=True)
    assert 'id="adjustments"' in page and "527.42" in page
