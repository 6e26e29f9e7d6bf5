"""Writing and verifying the hash-chained audit log."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterator

from sqlalchemy import select

from desk.db import in_transaction, lock_for_chain
from desk.extensions import db
from desk.models import AuditEntry, utcnow

GENESIS = "0" * 64
_CHAIN_LOCK = 0x6465736B  # "desk"
_CHAIN_HEAD = "desk.audit.chain_head"  # session.info: (transaction, its last entry or None, head hash)


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


def record(actor: Actor, action: str, entity: str, entity_id, *, contract_id=None, incident_id=None,
           before: dict | None = None, after: dict | None = None, at: datetime | None = None,
           flush: bool = True) -> AuditEntry:
    """Append one entry; must run inside the service's transaction so it commits with the change.

    flush=False leaves the entry (and the caller's changes) to the caller's next flush, which then
    writes many entries in one statement (a batch of the clock's events); its id is unknown until then.
    """
    if not in_transaction():
        raise RuntimeError("audit entries are written inside a service transaction")
    session = db.session()  # the request's Session itself, not its scoped proxy
    if flush:
        session.flush()  # ids of new rows are known before they are named in the log
    prev = _chain_head(session)
    at = at or utcnow()
    before, after = jsonable(before), jsonable(after)
    entity_id = str(entity_id)
    entry = AuditEntry(
        at=at, actor_id=actor.user_id, actor_label=actor.label, contract_id=contract_id,
        incident_id=incident_id, entity=entity, entity_id=entity_id, action=action,
        before=before, after=after, prev_hash=prev,
        hash=entry_hash(prev, at, actor.label, actor.user_id, contract_id, incident_id, entity,
                        entity_id, action, before, after),
    )
    session.add(entry)
    if flush:
        session.flush()
    session.info[_CHAIN_HEAD] = (session.get_transaction(), entry, entry.hash)
    return entry


def hold_chain() -> None:
    """Take the chain's lock now, before the caller locks anything else, and read its head.

    For a transaction that will append many entries (a batch of the clock's events): it then waits
    for the chain before it holds any row a filing may wait for. The lock is held until the commit.
    """
    if not in_transaction():
        raise RuntimeError("the audit chain is held inside a service transaction")
    _chain_head(db.session())


def _chain_head(session) -> str:
    """The hash the next entry links to.

    The first entry of a transaction takes the chain's lock and reads the head. The lock is held
    until the commit, so within the same transaction the entry appended last is still the head:
    a filing's second entry, or a batch's hundredth, needs neither the lock nor the read again.
    An entry rolled back with its savepoint has left the session: the head is read again.
    """
    held = session.info.get(_CHAIN_HEAD)
    if held is not None and held[0] is session.get_transaction() and (held[1] is None or held[1] in session):
        return held[2]
    lock_for_chain(session, _CHAIN_LOCK)
    head = session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar() or GENESIS
    session.info[_CHAIN_HEAD] = (session.get_transaction(), None, head)
    return head


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
