"""The customer's decision on its termination right (六.(六)): the desk records it, and never
terminates by itself."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from desk.audit.services import Actor, record, snapshot
from desk.contracts.services import MAX_NOTE, check_actor
from desk.db import transaction
from desk.errors import InvalidTransition, ValidationFailed
from desk.extensions import db
from desk.models import Contract, TerminationDecision, utcnow
from desk.reports import services as reports
from desk.timeparse import local


def termination_decisions(contract: Contract) -> list[TerminationDecision]:
    return list(db.session.execute(
        select(TerminationDecision).where(TerminationDecision.contract_id == contract.id)
        .order_by(TerminationDecision.decided_at)).scalars())


def _refuse_after_exercised(contract: Contract) -> None:
    """Exercising the right ends the contract (六.(六)): final, never followed by another decision.
    "Not exercised" is not: the right persists while the strikes stand."""
    if db.session.execute(select(TerminationDecision.id).where(
            TerminationDecision.contract_id == contract.id, TerminationDecision.decision == "exercised")).first():
        raise InvalidTransition(
            "the termination right has been exercised: that decision is final, and no later decision is recorded")


def record_termination_decision(actor: Actor, contract: Contract, decision: str, note: str = "", *,
                                now: datetime | None = None) -> TerminationDecision:
    """六.(六): the customer decides on its termination right; the desk never terminates by itself."""
    check_actor(actor, contract, "termination_decision")
    now = now or utcnow()
    if decision not in ("exercised", "not_exercised"):
        raise ValidationFailed("decision: exercised or not_exercised")
    if len(note or "") > MAX_NOTE:
        raise ValidationFailed(f"note: at most {MAX_NOTE} characters")
    _refuse_after_exercised(contract)
    totals = reports.monthly_report(contract.code, f"{local(now, contract.timezone):%Y-%m}", now)["totals"]
    if not totals["termination_right"]:
        raise InvalidTransition(
            "there is no termination right to decide on: the strike threshold has not been reached")
    with transaction() as session:
        # Again under the contract's row lock (SQLite: the write lock): of two managers deciding at
        # once, the second sees the first's "exercised".
        session.execute(select(Contract.id).where(Contract.id == contract.id).with_for_update())
        _refuse_after_exercised(contract)
        row = TerminationDecision(contract_id=contract.id, strikes_at_decision=totals["strikes_to_date"],
                                  decision=decision, note=note or "", decided_by_id=actor.user_id, decided_at=now)
        session.add(row)
        session.flush()
        record(actor, "termination.decided", "termination_decision", row.id, contract_id=contract.id,
               after=snapshot(row, ("decision", "strikes_at_decision", "note")), at=now)
    return row
