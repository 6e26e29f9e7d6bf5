"""People who use the desk, their roles and contract scope, and API tokens."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.extensions import db
from desk.models.types import UTCDateTime, utcnow

ROLES = ("unit_reporter", "unit_manager", "carrier_engineer", "carrier_manager", "admin")
CUSTOMER_ROLES = ("unit_reporter", "unit_manager")
CARRIER_ROLES = ("carrier_engineer", "carrier_manager")

user_contract = Table(
    "user_contract",
    db.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("contract_id", ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True),
)

api_token_contract = Table(
    "api_token_contract",
    db.metadata,
    Column("token_id", ForeignKey("api_token.id", ondelete="CASCADE"), primary_key=True),
    Column("contract_id", ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint(
            "role IN ('unit_reporter','unit_manager','carrier_engineer','carrier_manager','admin')",
            name="role_known",
        ),
        # A reporter always belongs to one unit: that is what limits what they see.
        CheckConstraint("role != 'unit_reporter' OR unit_id IS NOT NULL", name="reporter_has_unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    phone: Mapped[str] = mapped_column(String(32), default="")
    locale: Mapped[str] = mapped_column(String(16), default="zh")
    on_duty: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit = relationship("Unit")
    contracts = relationship("Contract", secondary=user_contract, order_by="Contract.code")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions of deactivated users
        return self.active

    def _password_mark(self) -> str:
        return hashlib.sha256(self.password_hash.encode("utf-8")).hexdigest()[:16]

    def get_id(self) -> str:
        """What the session cookie keeps (Flask-Login's alternative token): the id and a mark of the
        password hash, so a password reset ends every session signed in with the old password."""
        return f"{self.id}:{self._password_mark()}"

    def session_is_current(self, mark: str) -> bool:
        return hmac.compare_digest(mark, self._password_mark())

    @property
    def is_customer(self) -> bool:
        return self.role in CUSTOMER_ROLES

    @property
    def is_carrier(self) -> bool:
        return self.role in CARRIER_ROLES


class ApiToken(db.Model):
    """A bearer token for the JSON API, stored as its SHA-256 only, scoped to contracts."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, shown in listings so a token can be recognised without revealing it.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contracts = relationship("Contract", secondary=api_token_contract, order_by="Contract.code")


class LoginAttempt(db.Model):
    """Every sign-in attempt: the login rate limit counts these rows, so it holds across workers."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded: Mapped[bool | None] = mapped_column()  # None while the password is being checked


Index("ix_login_attempt_username_at", LoginAttempt.username, LoginAttempt.at)
Index("ix_login_attempt_addr_at", LoginAttempt.remote_addr, LoginAttempt.at)


class WebSession(db.Model):
    """A signed-in browser. The cookie holds a random token, this row its SHA-256: signing out
    revokes the row, so a copy of the cookie taken before is refused too."""

    __tablename__ = "web_session"
    __table_args__ = (CheckConstraint("expires_at > created_at", name="expires_after_creation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The lifetime's end as configured at sign-in; a shorter lifetime configured later applies too.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    remote_addr: Mapped[str] = mapped_column(String(64), default="")

    user = relationship("User")
