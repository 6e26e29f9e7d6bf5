"""Column types that keep the desk's two invariants on every database:
instants are aware UTC datetimes, money is an exact Decimal."""
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

# The largest sum the money column takes; defined with the contract terms, which check it too.
from desk.sla.terms import MAX_MONEY  # noqa: F401


class UTCDateTime(TypeDecorator):
    """Stores UTC; always returns an aware UTC datetime (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a timezone first")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def result_processor(self, dialect, coltype):
        # PostgreSQL's timestamptz comes back aware, and in timezone.utc itself since every session
        # is in UTC (desk.db._utc_sessions): nothing to do per value. A month's report reads
        # 40,000 of them, and the call for each showed.
        if dialect.name == "postgresql":
            return None
        return super().result_processor(dialect, coltype)


class Money(TypeDecorator):
    """CNY as whole fen in a BIGINT: exact on SQLite and PostgreSQL, Decimal in Python."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        fen = value * 100
        if fen != fen.to_integral_value():
            raise ValueError(f"money has more than two decimals: {value}")
        return int(fen)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
