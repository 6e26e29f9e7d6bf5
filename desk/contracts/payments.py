"""The fees the customer paid: the ledger whose sum is R3's refund (六.(六))."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from desk.audit.services import Actor, record, snapshot
from desk.contracts.services import MAX_PAYMENT_NOTE, check_actor
from desk.db import transaction
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.models import Contract, Payment, utcnow
from desk.models.types import MAX_MONEY
from desk.timeparse import CLOCK_SKEW

# Fees are paid around the service period; one paid more than a year before it began is a mistyped year.
PAYMENT_LEAD = timedelta(days=366)


def paid_too_early(contract: Contract, paid_at: datetime) -> list[str]:
    """R3's refund is every fee paid to date (六.(六)): a payment dated years before the contract
    would stand in it unnoticed."""
    earliest = contract.terms().service_period[0] - PAYMENT_LEAD
    if paid_at < earliest:
        return [f"paid_at: more than a year before the contract's service began ({contract.service_start:%Y-%m-%d})"]
    return []


def record_payment(actor: Actor, contract: Contract, *, paid_at: datetime, amount: Decimal, note: str = "",
                   now: datetime | None = None) -> Payment:
    """A fee the customer paid; R3's refund is the ledger's sum (六.(六))."""
    check_actor(actor, contract, "record_payment")
    now = now or utcnow()
    errors = []
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        errors.append("amount: a positive sum in yuan")
    elif amount > MAX_MONEY:
        errors.append(f"amount: at most {MAX_MONEY:,} yuan")
    elif amount != amount.quantize(Decimal("0.01")):
        errors.append("amount: at most two decimals (fen)")
    if paid_at > now + CLOCK_SKEW:
        errors.append("paid_at: cannot be in the future")
    errors += paid_too_early(contract, paid_at)
    if len(note or "") > MAX_PAYMENT_NOTE:
        errors.append(f"note: at most {MAX_PAYMENT_NOTE} characters")
    if not errors and db.session.execute(select(Payment.id).where(
            Payment.contract_id == contract.id, Payment.paid_at == paid_at, Payment.amount == amount)).first():
        errors.append("this payment (same time and amount) is already in the ledger")
    if errors:
        raise ValidationFailed("the payment was not recorded", errors=errors)
    with transaction() as session:
        payment = Payment(contract_id=contract.id, paid_at=paid_at, amount=amount, note=note or "",
                          recorded_by_id=actor.user_id, recorded_at=now)
        session.add(payment)
        session.flush()
        record(actor, "payment.recorded", "payment", payment.id, contract_id=contract.id,
               after=snapshot(payment, ("paid_at", "amount", "note")), at=now)
    return payment


def payments_of(contract: Contract) -> list[Payment]:
    return list(db.session.execute(
        select(Payment).where(Payment.contract_id == contract.id).order_by(Payment.paid_at)).scalars())
