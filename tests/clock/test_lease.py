"""Several scheduler processes, one active: the lease in the database, and exactly-once recording
when two schedulers tick the same events at the same moment."""
import threading
from datetime import timedelta

from sqlalchemy import func, select

from desk import create_app
from desk.audit.services import verify_chain
from desk.clock import lease
from desk.clock.tick import tick
from desk.extensions import db
from desk.models import AuditEntry, ClockEvent, OutboxMessage, utcnow
from tests.clock.conftest import hours_ago

TTL = timedelta(seconds=45)


def test_one_holder_at_a_time_and_takeover_once_the_lease_runs_out(app):
    now = utcnow()
    assert lease.acquire("node-a", now, TTL)
    assert not lease.acquire("node-b", now + timedelta(seconds=10), TTL)
    assert lease.acquire("node-a", now + timedelta(seconds=10), TTL)  # renewed at each beat
    assert lease.current_holder(now + timedelta(seconds=20)) == "node-a"
    # node-a dies: its lease, renewed last at +10 s, runs out at +55 s, inside a minute.
    assert not lease.acquire("node-b", now + timedelta(seconds=54), TTL)
    assert lease.acquire("node-b", now + timedelta(seconds=55), TTL)
    assert not lease.acquire("node-a", now + timedelta(seconds=60), TTL)


def test_a_clean_stop_hands_over_at_once(app):
    now = utcnow()
    assert lease.acquire("node-a", now, TTL)
    lease.release("node-b", now)  # not the holder: no effect
    assert not lease.acquire("node-b", now, TTL)
    lease.release("node-a", now)
    assert lease.acquire("node-b", now, TTL)


def _second_app(database_url):
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "SECRET_KEY": "test-secret",
                       "DESK_DEMO": False})


def _run_in(app, work, results, errors):
    def target():
        with app.app_context():
            try:
                results.append(work())
            except Exception as exc:  # surfaced by the test below
                errors.append(exc)
            finally:
                db.session.remove()
                db.engine.dispose()
    return threading.Thread(target=target)


def test_two_nodes_racing_for_the_lease_one_wins(app, database_url):
    now = utcnow()
    results, errors = [], []
    barrier = threading.Barrier(2)

    def contender(name):
        def work():
            barrier.wait()
            return name, lease.acquire(name, now, TTL)
        return work

    threads = [_run_in(_second_app(database_url), contender(n), results, errors) for n in ("node-a", "node-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(ok for _, ok in results) == [False, True]


def test_two_schedulers_ticking_at_once_record_each_event_once(world, database_url):
    for minutes in range(40):  # forty faults whose deadlines have all passed: 160 events due
        world.file("XJGAT", hours_ago(5) + timedelta(minutes=minutes))
    due = db.session.execute(select(func.count()).select_from(ClockEvent)
                             .where(ClockEvent.status == "pending")).scalar_one()
    now = utcnow()
    results, errors = [], []
    barrier = threading.Barrier(2)

    def work():
        barrier.wait()
        return tick(now)

    threads = [_run_in(_second_app(database_url), work, results, errors) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert sum(r.recorded for r in results) == due
    db.session.rollback()  # end this test's own read snapshot before looking
    statuses = db.session.execute(select(ClockEvent.status, func.count()).where(ClockEvent.kind != "termination_right")
                                  .group_by(ClockEvent.status)).all()
    assert dict(statuses) == {"recorded": due}
    # The third strike raised the termination right, once, whichever scheduler recorded it.
    assert db.session.execute(select(func.count()).select_from(ClockEvent)
                              .where(ClockEvent.kind == "termination_right")).scalar_one() == 1
    audited = db.session.execute(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action.like("clock.%"))).scalar_one()
    assert audited == due + 1
    keys = db.session.execute(select(OutboxMessage.dedupe_key)).scalars().all()
    assert len(keys) == len(set(keys)) > 0
    assert verify_chain() is None
