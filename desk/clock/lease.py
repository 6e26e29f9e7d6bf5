"""The scheduler lease: of several scheduler processes (one per node), exactly one is active.

A row in `scheduler_lease` names the holder and when its lease runs out. The holder renews it at
every beat; another process takes it over once it has expired. The row is read FOR UPDATE on
PostgreSQL; on SQLite the write transaction (BEGIN IMMEDIATE) already serialises the takers.
"""
from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from desk.db import transaction
from desk.extensions import db
from desk.models import SchedulerLease

LEASE = "sla-clock"


def new_holder() -> str:
    """host:pid:random — unique per process start, readable in the lease row."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(holder: str, now: datetime, ttl: timedelta, name: str = LEASE) -> bool:
    """Take or renew the lease; False while another holder's lease is still running."""
    try:
        with transaction() as session:
            lease = session.get(SchedulerLease, name, with_for_update=True, populate_existing=True)
            if lease is None:
                session.add(SchedulerLease(name=name, holder=holder, expires_at=now + ttl))
                return True
            if lease.holder != holder and lease.expires_at > now:
                return False
            lease.holder, lease.expires_at = holder, now + ttl
            return True
    except IntegrityError:
        db.session.rollback()
        return False  # another process created the row at the same moment: it holds the lease


def release(holder: str, now: datetime, name: str = LEASE) -> None:
    """A clean shutdown hands over at once instead of letting the lease run out."""
    with transaction() as session:
        lease = session.get(SchedulerLease, name, with_for_update=True, populate_existing=True)
        if lease is not None and lease.holder == holder:
            lease.expires_at = now


def current_holder(now: datetime, name: str = LEASE) -> str | None:
    lease = db.session.get(SchedulerLease, name, populate_existing=True)
    return lease.holder if lease is not None and lease.expires_at > now else None
