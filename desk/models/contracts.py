"""Contracts, their clauses, the police units they serve and the payment ledger."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, JSON
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.extensions import db
from desk.models.types import Money, UTCDateTime, utcnow
from desk.sla.terms import TEXT_MAX, UNIT_TEXT_MAX, ContractTerms, terms_from_mapping


# Parsed terms by the contract's content (its mapping's repr): a key that equal contents alone share,
# so an edited clause is a new key, never a stale hit. Every filing and every clock batch asks for
# its contract's terms; parsing them again each time cost more than the key.
_TERMS_BY_CONTENT: dict[str, ContractTerms] = {}
_TERMS_KEPT = 512


def terms_for(mapping: dict) -> ContractTerms:
    """terms_from_mapping, remembered per process for the contents seen last."""
    key = repr(mapping)
    terms = _TERMS_BY_CONTENT.get(key)
    if terms is None:
        terms = terms_from_mapping(mapping)
        if len(_TERMS_BY_CONTENT) >= _TERMS_KEPT:
            _TERMS_BY_CONTENT.clear()
        _TERMS_BY_CONTENT[key] = terms
    return terms


class Contract(db.Model):
    __tablename__ = "contract"
    __table_args__ = (
        CheckConstraint("cards >= 1", name="cards_positive"),
        CheckConstraint("service_end >= service_start", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(TEXT_MAX["code"]), unique=True)
    title: Mapped[str] = mapped_column(String(TEXT_MAX["title"]))
    customer: Mapped[str] = mapped_column(String(TEXT_MAX["customer"]))
    carrier: Mapped[str] = mapped_column(String(TEXT_MAX["carrier"]))
    timezone: Mapped[str] = mapped_column(String(64))
    service_start: Mapped[date]
    service_end: Mapped[date]
    total_amount: Mapped[Decimal] = mapped_column(Money)
    cards: Mapped[int]
    monthly_fee: Mapped[Decimal | None] = mapped_column(Money)
    # The TOML the contract was loaded from, kept verbatim so an admin can review and re-load it.
    # Deferred: only that review reads it, and every filing loads its contract.
    source_toml: Mapped[str] = mapped_column(Text, default="", deferred=True)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    clauses: Mapped[list[ContractClause]] = relationship(
        back_populates="contract", cascade="all, delete-orphan", order_by="ContractClause.name"
    )
    units: Mapped[list[Unit]] = relationship(back_populates="contract", order_by="Unit.code")

    def terms(self) -> ContractTerms:
        """The engine's view of this contract, rebuilt from the stored columns and clauses.

        Parsed again only when they changed: a filing asks for them half a dozen times."""
        mapping = self.as_mapping()
        parsed = self.__dict__.get("_terms")
        if parsed is None or parsed[0] != mapping:
            parsed = (mapping, terms_for(mapping))
            self.__dict__["_terms"] = parsed
        return parsed[1]

    def as_mapping(self, clauses: dict[str, dict] | None = None) -> dict:
        """The contract as the engine reads it (desk.sla.terms.terms_from_mapping). `clauses`, name →
        parameters, when the caller read them as rows (the clock's batch) rather than as objects."""
        data = {
            "code": self.code,
            "title": self.title,
            "customer": self.customer,
            "carrier": self.carrier,
            "timezone": self.timezone,
            "service_start": self.service_start,
            "service_end": self.service_end,
            "total_amount": str(self.total_amount),
            "cards": self.cards,
            "clauses": {c.name: dict(c.params) for c in self.clauses} if clauses is None else clauses,
        }
        if self.monthly_fee is not None:
            data["monthly_fee"] = str(self.monthly_fee)
        return data

    def __repr__(self) -> str:
        return f"<Contract {self.code}>"


class ContractClause(db.Model):
    """One clause of a contract with its parameters (values kept as decimal strings)."""

    __tablename__ = "contract_clause"
    __table_args__ = (UniqueConstraint("contract_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict] = mapped_column(JSON)

    contract: Mapped[Contract] = relationship(back_populates="clauses")


class Unit(db.Model):
    """A police unit served by a contract (the contract file's [[units]])."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    # Globally unique: the SMS intake names a unit by its code alone.
    code: Mapped[str] = mapped_column(String(UNIT_TEXT_MAX["code"]), unique=True)
    name: Mapped[str] = mapped_column(String(UNIT_TEXT_MAX["name"]))
    # Hashed PIN for hotline callers from an unregistered number; empty = no PIN set.
    pin_hash: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(default=True)

    contract: Mapped[Contract] = relationship(back_populates="units")
    phones: Mapped[list[UnitPhone]] = relationship(
        back_populates="unit", cascade="all, delete-orphan", order_by="UnitPhone.phone"
    )


class UnitPhone(db.Model):
    """A phone number registered for the hotline; the caller's number identifies the unit."""

    __tablename__ = "unit_phone"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)

    unit: Mapped[Unit] = relationship(back_populates="phones")


class Payment(db.Model):
    """The ledger of fees the customer has paid; R3's refund is its sum up to as_of."""

    __tablename__ = "payment"
    # A payment is identified by when and how much: re-importing the same ledger updates notes only.
    __table_args__ = (
        UniqueConstraint("contract_id", "paid_at", "amount"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    amount: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TerminationDecision(db.Model):
    """六.(六): the customer's decision on its termination right; the desk never terminates by itself."""

    __tablename__ = "termination_decision"
    __table_args__ = (CheckConstraint("decision IN ('exercised', 'not_exercised')", name="decision_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), index=True)
    strikes_at_decision: Mapped[int]
    decision: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


Index("ix_payment_contract_paid", Payment.contract_id, Payment.paid_at)
