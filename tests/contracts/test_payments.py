"""The payment ledger (R3's refund is its sum, 六.(六)): each refusal writes nothing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from desk.contracts import payments
from desk.errors import Forbidden, ValidationFailed
from desk.extensions import db
from desk.models import Payment, utcnow
from tests.web.conftest import refused


def test_payments_are_checked(world):
    contract, cm = world.incident.contract, world.actor("carrier_manager")
    now = utcnow()
    for amount in (Decimal("0"), Decimal("-5"), Decimal("1.005"), Decimal("NaN")):
        refused(ValidationFailed, payments.record_payment, cm, contract, paid_at=now, amount=amount)
    refused(ValidationFailed, payments.record_payment, cm, contract, paid_at=now + timedelta(days=1),
            amount=Decimal("10.00"))
    # 2019 for 2025: it would stand in R3's refund unnoticed.
    exc = refused(ValidationFailed, payments.record_payment, cm, contract,
                  paid_at=datetime(2019, 12, 1, tzinfo=timezone.utc), amount=Decimal("100.00"))
    assert exc.errors == [f"paid_at: more than a year before the contract's service began ({contract.service_start})"]
    payments.record_payment(cm, contract, paid_at=now, amount=Decimal("21313.33"), note="第一期")
    exc = refused(ValidationFailed, payments.record_payment, cm, contract, paid_at=now, amount=Decimal("21313.33"))
    assert "already in the ledger" in exc.errors[0]
    assert db.session.execute(select(Payment.amount)).scalar_one() == Decimal("21313.33")


def test_only_a_carrier_manager_records_a_payment(world):
    refused(Forbidden, payments.record_payment, world.actor("engineer"), world.incident.contract,
            paid_at=utcnow(), amount=Decimal("1.00"))
