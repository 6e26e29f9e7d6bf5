"""Writing and verifying the hash-chained audit log."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterator

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from desk.db import at_commit, in_transaction, lock_for_chain
from desk.extensions import db
from desk.models import AuditEntry, utcnow

GENESIS = "0" * 64
_CHAIN_LOCK = 0x6465736B  # "desk"
_COLUMNS = ("at", "actor_id", "actor_label", "contract_id", "incident_id", "entity", "entity_id", "action",
            "before", "after", "prev_hash", "hash")
_PENDING = "desk.audit.pending"  # session.info: (transaction, its entries not yet linked)


@dataclass(frozen=True)
class Actor:
    """Who does something: a user, or a named system part (hotline, clock, cli, api token)."""

    label: str
    user_id: int | None = None
    user: Any = None

    @classmethod
    def of_user(cls, user) -> "Actor":
        return cls(label=f"user:{user.username}", user_id=user.id, user=user)

    @classmethod
    def system(cls, name: str) -> "Actor":
        return cls(label=name)


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def snapshot(obj, fields: tuple[str, ...]) -> dict:
    return {f: jsonable(getattr(obj, f)) for f in fields}


def entry_hash(prev_hash: str, at: datetime, actor_label: str, actor_id, contract_id, incident_id,
               entity: str, entity_id: str, action: str, before, after) -> str:
    body = json.dumps(
        {
            "prev": prev_hash, "at": at.isoformat(), "actor": actor_label, "actor_id": actor_id,
            "contract_id": contract_id, "incident_id": incident_id, "entity": entity,
            "entity_id": entity_id, "action": action, "before": before, "after": after,
        },
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class PendingEntry:
    """An entry recorded in a transaction, waiting for its link into the chain at the commit.

    Not an AuditEntry: _link inserts it through the connection, so the ORM never manages it, and
    a batch of the clock's events records a hundred of them."""

    at: datetime
    actor_id: int | None
    actor_label: str
    contract_id: int | None
    incident_id: int | None
    entity: str
    entity_id: str
    action: str
    before: Any
    after: Any
    prev_hash: str | None = None
    hash: str | None = None


def record(actor: Actor, action: str, entity: str, entity_id, *, contract_id=None, incident_id=None,
           before: dict | None = None, after: dict | None = None, at: datetime | None = None) -> PendingEntry:
    """Append one entry; must run inside the service's transaction so it commits with the change.

    The entry is linked into the chain as the transaction commits (see _link): the chain's lock
    is then held for the inserts and the commit alone, not for the rest of the service's work.
    """
    if not in_transaction():
        raise RuntimeError("audit entries are written inside a service transaction")
    session = db.session()  # the request's Session itself, not its scoped proxy
    at = at or utcnow()
    entry = PendingEntry(at, actor.user_id, actor.label, contract_id, incident_id, entity, str(entity_id), action,
                         jsonable(before), jsonable(after))
    pending = session.info.get(_PENDING)
    if pending is None or pending[0] is not session.get_transaction():
        pending = session.info[_PENDING] = (session.get_transaction(), [])
        at_commit(_PENDING, lambda: _link(session))
    # With the savepoint it was recorded in (if any): should that roll back, the entry goes with it.
    pending[1].append((session.get_nested_transaction() or session.get_transaction(), entry))
    return entry


def hold_chain() -> None:
    """Take the chain's lock now, before the caller locks any row, and hold it until the commit:
    for a transaction that locks rows a filing may wait for (a batch of the clock's events)."""
    if not in_transaction():
        raise RuntimeError("the audit chain is held inside a service transaction")
    lock_for_chain(db.session(), _CHAIN_LOCK)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session, previous_transaction) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return

    def inside(transaction) -> bool:
        while transaction is not None:
            if transaction is previous_transaction:
                return True
            transaction = transaction.parent
        return False

    pending[1][:] = [(t, entry) for t, entry in pending[1] if not inside(t)]


def _link(session) -> None:
    """Link the transaction's entries, in the order they were recorded, to the chain's head.

    The lock serialises writers of the chain until the commit (on SQLite the write lock already
    does): no two transactions can link to the same head.
    """
    pending = session.info.pop(_PENDING, None)
    if pending is None or pending[0] is not session.get_transaction() or not pending[1]:
        return
    entries = [entry for _t, entry in pending[1]]
    lock_for_chain(session, _CHAIN_LOCK)
    # Core on the session's connection: the entries are never ORM-managed rows, and every write
    # transaction of the desk comes through here, so the ORM's per-statement work is spared.
    connection = session.connection()
    table = AuditEntry.__table__
    prev = connection.execute(select(table.c.hash).order_by(table.c.id.desc()).limit(1)).scalar() or GENESIS
    rows = []
    for entry in entries:
        entry.prev_hash = prev
        entry.hash = prev = entry_hash(prev, entry.at, entry.actor_label, entry.actor_id, entry.contract_id,
                                       entry.incident_id, entry.entity, entry.entity_id, entry.action,
                                       entry.before, entry.after)
        rows.append({column: getattr(entry, column) for column in _COLUMNS})
    # One executemany, in order (ids ascend as the chain runs); nothing reads the entries back here.
    connection.execute(insert(table), rows)


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    reason: str


def verify_chain(batch: int = 5000) -> ChainBreak | None:
    """Walk the log in id order; return the first entry whose hash or link does not hold."""
    prev = GENESIS
    last_id = 0
    while True:
        rows = db.session.execute(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).scalars().all()
        if not rows:
            return None
        for e in rows:
            if e.prev_hash != prev:
                return ChainBreak(e.id, "link to the previous entry is broken")
            expected = entry_hash(e.prev_hash, e.at, e.actor_label, e.actor_id, e.contract_id,
                                  e.incident_id, e.entity, e.entity_id, e.action, e.before, e.after)
            if expected != e.hash:
                return ChainBreak(e.id, "content does not match its hash")
            prev = e.hash
            last_id = e.id
        db.session.expunge_all()


def history(incident_id: int) -> Iterator[AuditEntry]:
    return db.session.execute(
        select(AuditEntry).where(AuditEntry.incident_id == incident_id).order_by(AuditEntry.id)
    ).scalars()
