"""B2 the SLA clock: one tick with 100 events due and with none, at 10,000 and at 1,000,000 incidents.

The database is loaded once and grown; between runs the due events are made pending again (and
their SMS removed from the outbox) instead of reloading. The tick runs in its own process, as
`clock-tick` does, so its memory is the scheduler's alone.
"""
from __future__ import annotations

import time

from bench.common import child_main, median

QUERY = ("SELECT id FROM clock_event WHERE status = 'pending' AND due_at <= :now "
         "ORDER BY due_at, id LIMIT 500")


def reset_due(session, due_ids: list[int]) -> None:
    """Make the due events pending again, as if no tick had seen them."""
    from sqlalchemy import select

    from desk.models import ClockEvent, OutboxMessage

    session.execute(ClockEvent.__table__.update().where(ClockEvent.id.in_(due_ids))
                    .values(status="pending", recorded_at=None))
    keys = session.execute(select(ClockEvent.key).where(ClockEvent.id.in_(due_ids))).scalars().all()
    for key in keys:
        session.execute(OutboxMessage.__table__.delete().where(OutboxMessage.dedupe_key.like(f"{key}:%")))
    session.commit()


def _work(request: dict) -> dict:
    from bench.common import desk_app, memory_mb
    from bench.dataset import NOW
    from desk.clock.tick import tick
    from desk.extensions import db

    import os

    app = desk_app(request["url"])
    due_ids, runs = request["due_ids"], request["runs"]
    due_ms, idle_ms, problems = [], [], []
    with app.app_context():
        for run in range(runs + 1):  # the first run warms the process up and is not counted
            reset_due(db.session, due_ids)
            db.session.remove()
            began = time.perf_counter()
            result = tick(NOW, 500)
            took = time.perf_counter() - began
            if result.recorded != len(due_ids):
                problems.append(f"tick recorded {result.recorded} events, expected {len(due_ids)}")
            db.session.remove()
            began = time.perf_counter()
            idle = tick(NOW, 500)
            idle_took = time.perf_counter() - began
            if idle.recorded or idle.cancelled:
                problems.append(f"a tick with nothing due recorded {idle.recorded}, cancelled {idle.cancelled}")
            if run:
                due_ms.append(took * 1000)
                idle_ms.append(idle_took * 1000)
        db.session.remove()
    return {"due_ms": due_ms, "idle_ms": idle_ms, "problems": problems,
            "rss_mb": memory_mb(os.getpid())["VmHWM"]}


def explain(engine, due_ids: list[int]) -> str:
    """The plan of the tick's query (due_event_ids) as the database runs it, with the due events pending."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from bench.dataset import NOW

    with Session(engine) as session:
        reset_due(session, due_ids)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + QUERY), {"now": NOW}).scalars()
            return "\n".join(rows)
        rows = conn.execute(text("EXPLAIN QUERY PLAN " + QUERY),
                            {"now": NOW.strftime("%Y-%m-%d %H:%M:%S.%f")}).all()
        return "\n".join(str(r[-1]) for r in rows)


def summary(answer: dict) -> dict:
    return {"due_ms": median(answer["due_ms"]), "idle_ms": median(answer["idle_ms"]), "rss_mb": answer["rss_mb"]}


if __name__ == "__main__":
    child_main(_work)
