"""B1's floor: a bare Flask endpoint doing one INSERT and one COMMIT on the desk's database.

Served by the same gunicorn with the same workers and the same engine settings (on SQLite: WAL,
synchronous=NORMAL, BEGIN IMMEDIATE), so the ratio desk/floor is what the desk's own work costs.
`gunicorn 'bench.floor:create_app()'` with DATABASE_URL set.
"""
from __future__ import annotations

import os

from flask import Flask, request
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert

metadata = MetaData()
floor_report = Table(
    "bench_floor_report", metadata,
    Column("id", Integer, primary_key=True),
    Column("body", String(200), nullable=False),
)


def engine_for(url: str):
    """An engine with the desk's own settings (config's pool_pre_ping, desk.db's SQLite pragmas)."""
    from desk.db import configure_engine

    engine = create_engine(url, pool_pre_ping=True)
    configure_engine(engine)
    return engine


def create_app() -> Flask:
    app = Flask(__name__)
    engine = engine_for(os.environ["DATABASE_URL"])

    @app.post("/floor")
    def report():
        from desk.db import _immediate

        _immediate.set(True)  # the floor only writes: BEGIN IMMEDIATE on SQLite, as a desk service does
        body = request.form.get("body", "")
        if not body:
            return {"error": "body: required"}, 422
        with engine.begin() as conn:
            conn.execute(insert(floor_report).values(body=body))
        return {"ok": True}, 201

    return app
