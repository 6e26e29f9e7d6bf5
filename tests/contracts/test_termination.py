"""The customer's termination decision (六.(六)): only with the right, by the customer, and final
once exercised."""
from __future__ import annotations

from sqlalchemy import select

from desk.contracts import termination
from desk.errors import Forbidden, InvalidTransition, ValidationFailed
from desk.extensions import db
from desk.incidents import services
from desk.models import AuditEntry, utcnow
from tests.web.conftest import refused


def test_termination_decision_needs_the_right(world):
    contract = world.incident.contract
    refused(InvalidTransition, termination.record_termination_decision, world.actor("unit_manager"), contract,
            "exercised")


def test_termination_decision_at_the_third_strike(world):
    # 六.(六): every interruption of undetermined cause is a (provisional) strike; the world has one.
    for _ in range(2):
        services.file_fault(world.actor("reporter"), unit=world.incident.unit, kind="interruption", description="又断了")
    contract = world.incident.contract
    refused(ValidationFailed, termination.record_termination_decision, world.actor("unit_manager"), contract, "maybe")
    refused(Forbidden, termination.record_termination_decision, world.actor("reporter"), contract, "exercised")
    row = termination.record_termination_decision(world.actor("unit_manager"), contract, "not_exercised", "先观察")
    assert row.strikes_at_decision == 3 and row.decision == "not_exercised"
    assert "termination.decided" in db.session.execute(select(AuditEntry.action)).scalars().all()


def test_exercised_is_final_not_exercised_is_not(world):
    """六.(六): "not exercised" may be followed by "exercised" while the strikes stand; once exercised,
    no later decision is recorded (409), neither way."""
    for _ in range(2):
        services.file_fault(world.actor("reporter"), unit=world.incident.unit, kind="interruption", description="又断了")
    contract, manager = world.incident.contract, world.actor("unit_manager")
    termination.record_termination_decision(manager, contract, "not_exercised", "先观察")
    termination.record_termination_decision(manager, contract, "not_exercised", "再观察")
    termination.record_termination_decision(manager, contract, "exercised", "解约")
    for decision in ("not_exercised", "exercised"):
        exc = refused(InvalidTransition, termination.record_termination_decision, manager, contract, decision)
        assert exc.status == 409 and "final" in exc.message
    assert [d.decision for d in termination.termination_decisions(contract)] == [
        "not_exercised", "not_exercised", "exercised"]


def test_a_decision_taken_meanwhile_is_seen_under_the_lock(world, monkeypatch):
    """Two managers deciding at once: the other one's "exercised" commits while this request computes
    the report. The transaction checks again under the contract's lock and refuses (409)."""
    import desk.reports.services as reports
    from sqlalchemy.orm import Session

    from desk.models import TerminationDecision

    for _ in range(2):
        services.file_fault(world.actor("reporter"), unit=world.incident.unit, kind="interruption", description="又断了")
    contract, manager = world.incident.contract, world.actor("unit_manager")
    computed = reports.monthly_report

    def meanwhile(*args, **kwargs):
        report = computed(*args, **kwargs)
        with Session(db.engine) as other:  # the other manager's request, committed on its own connection
            other.add(TerminationDecision(contract_id=contract.id, strikes_at_decision=3, decision="exercised",
                                          note="", decided_by_id=manager.user_id, decided_at=utcnow()))
            other.commit()
        return report

    monkeypatch.setattr(reports, "monthly_report", meanwhile)
    exc = refused(InvalidTransition, termination.record_termination_decision, manager, contract, "not_exercised")
    assert exc.status == 409 and "final" in exc.message
    assert [d.decision for d in termination.termination_decisions(contract)] == ["exercised"]
