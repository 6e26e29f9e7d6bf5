"""The SLA clock's process: APScheduler beats that tick the clock and drain the outbox.

The database is the truth: the contractual events live in `clock_event` with their due instants,
so APScheduler holds only three recurring triggers (the beat, the hourly month-end check, and
00:10 on the 1st) in memory. Several scheduler processes may run, one per node; the lease in
the database (lease.py) keeps exactly one active, and another takes over within a minute.

Production: `flask --app wsgi scheduler`, beside gunicorn. Development: `make run` starts it in
the dev server's serving process on the first request (DESK_EMBEDDED_SCHEDULER=1), never in the
reloader's watcher process, which serves nothing.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from desk.clock import lease
from desk.clock.month_end import ensure_freeze_events
from desk.clock.tick import tick
from desk.extensions import db
from desk.models import utcnow

log = logging.getLogger("desk.clock")


@dataclass(frozen=True)
class BeatResult:
    active: bool
    recorded: int = 0
    cancelled: int = 0
    sent: int = 0


class ClockService:
    """One scheduler process's work; `now` is injectable so tests never sleep."""

    def __init__(self, app: Flask, *, holder: str | None = None, now: Callable[[], datetime] = utcnow):
        self.app = app
        self.holder = holder or lease.new_holder()
        self.now = now
        self.interval = timedelta(seconds=app.config.get("DESK_CLOCK_INTERVAL_SECONDS", 10))
        # Renewed at every beat; a dead holder's lease runs out in this time (< 1 minute with the beat).
        self.lease_ttl = timedelta(seconds=app.config.get("DESK_CLOCK_LEASE_SECONDS", 45))
        self._checked_month_end: datetime | None = None

    def beat(self) -> BeatResult:
        """Renew the lease; if this process holds it, record what is due and send what is queued."""
        with self.app.app_context():
            try:
                now = self.now()
                if not lease.acquire(self.holder, now, self.lease_ttl):
                    return BeatResult(active=False)
                if self._checked_month_end is None or now - self._checked_month_end >= timedelta(hours=1):
                    ensure_freeze_events(now)
                    self._checked_month_end = now
                result = tick(now)
                sent = self._dispatch(now)
                if result.recorded or result.cancelled:
                    log.info("clock: %d recorded, %d cancelled", result.recorded, result.cancelled)
                return BeatResult(True, result.recorded, result.cancelled, sent)
            finally:
                db.session.remove()

    def month_end(self) -> None:
        """At 00:10 on the 1st: schedule any missing freeze, then record it at once."""
        self._checked_month_end = None
        self.beat()

    def _dispatch(self, now: datetime) -> int:
        from desk.outbox.dispatcher import dispatch_due

        return dispatch_due(now, clock=self.now).sent

    def stop(self) -> None:
        with self.app.app_context():
            try:
                lease.release(self.holder, self.now())
            finally:
                db.session.remove()

    def add_jobs(self, scheduler) -> None:
        tz = self.app.config.get("DESK_TIMEZONE", "Asia/Shanghai")
        # coalesce + max_instances=1: a beat that overran is not run twice to catch up; the
        # next beat's tick catches up from the database, which is what counts.
        options = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        scheduler.add_job(self.beat, IntervalTrigger(seconds=self.interval.total_seconds(), timezone=tz),
                          id="beat", next_run_time=datetime.now().astimezone(), **options)
        scheduler.add_job(self.month_end, CronTrigger(day=1, hour=0, minute=10, second=1, timezone=tz),
                          id="month-end", **options)


def run_forever(app: Flask) -> None:
    """`flask --app wsgi scheduler`: a blocking process; SIGINT/SIGTERM release the lease."""
    import signal

    service = ClockService(app)
    scheduler = BlockingScheduler(timezone=app.config.get("DESK_TIMEZONE", "Asia/Shanghai"))
    service.add_jobs(scheduler)

    def _stop(signum, _frame):
        log.info("clock: signal %s, stopping", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("clock: scheduler %s started", service.holder)
    try:
        scheduler.start()
    finally:
        service.stop()
        log.info("clock: scheduler %s stopped", service.holder)


_embedded_lock = threading.Lock()
_embedded: dict[int, BackgroundScheduler] = {}


def start_embedded(app: Flask) -> BackgroundScheduler:
    """The dev server's scheduler: one per process (the lease keeps one per database active)."""
    with _embedded_lock:
        key = id(app)
        if key not in _embedded:
            service = ClockService(app)
            scheduler = BackgroundScheduler(timezone=app.config.get("DESK_TIMEZONE", "Asia/Shanghai"), daemon=True)
            service.add_jobs(scheduler)
            scheduler.start()
            _embedded[key] = scheduler
            log.info("clock: embedded scheduler %s started", service.holder)
        return _embedded[key]


def init_embedded(app: Flask) -> None:
    """Start on the first request: only the process that serves has requests."""
    if not app.config.get("DESK_EMBEDDED_SCHEDULER"):
        return

    @app.before_request
    def _start_clock():
        if id(app) not in _embedded:
            start_embedded(app)
