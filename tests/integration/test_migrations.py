"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL: a column
changed in a model without its migration would work in a test database built from the models and fail
on a user's database upgraded by `init-db`."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from desk.extensions import db


def test_the_migrated_database_has_the_models_schema(app):
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert differences == []


def test_the_migrations_run_down_and_up_again(app):
    """Every downgrade undoes its upgrade: init-db on a database of an earlier release stays possible."""
    from flask_migrate import downgrade, upgrade

    from desk import MIGRATIONS

    db.session.remove()
    downgrade(directory=str(MIGRATIONS), revision="0001")
    upgrade(directory=str(MIGRATIONS))
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata) == []


def test_0009_links_the_messages_sent_before_it_to_their_incident_by_their_key(app, tmp_path):
    """The keys "incident:<id>:…" and "ticket:<id>:…" name the incident (a ticket's as it is now); a
    contract's notice, a key naming no row and a key whose id is not a number stay unlinked."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import select, text

    from conftest import load_edited_contracts
    from desk import MIGRATIONS
    from desk.audit.services import Actor
    from desk.incidents.services import file_ticket
    from desk.models import OutboxMessage, Unit, utcnow

    load_edited_contracts(tmp_path / "contracts",
                          lambda t: t.replace("service_end = 2026-03-31", "service_end = 2036-03-31"))
    unit = db.session.execute(select(Unit).where(Unit.code == "XJGAT")).scalar_one()
    first, _ = file_ticket(Actor.system("test"), unit=unit, kind="interruption", channel="api")
    second, _ = file_ticket(Actor.system("test"), unit=unit, kind="interruption", channel="api")
    incident, ticket, second_incident = first.incident_id, second.id, second.incident_id
    db.session.execute(text("DELETE FROM outbox_message"))  # the filings' own, already linked
    db.session.commit()
    db.session.remove()
    downgrade(directory=str(MIGRATIONS), revision="0008")
    keys = [f"incident:{incident}:restored:2026-12-01T00:00:00+00:00:user:7",
            f"ticket:{ticket}:filed:caller", f"incident:{incident}9999:strike", f"ticket:{ticket}x:filed:caller",
            "incident::strike", "incident:abc:strike", f"contract:{incident}:freeze:2026-11",
            f"xincident:{incident}:strike"]
    now = utcnow()
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO outbox_message (channel, \"to\", body, dedupe_key, status, attempts, next_attempt_at, "
            "last_error, provider_id, created_at) VALUES ('sms', '+8613800000001', 'x', :key, 'sent', 1, :now, "
            "'', '', :now)"), [{"key": key, "now": now} for key in keys])
    upgrade(directory=str(MIGRATIONS))
    linked = dict(db.session.execute(select(OutboxMessage.dedupe_key, OutboxMessage.incident_id)).all())
    assert linked == {keys[0]: incident, keys[1]: second_incident, **{key: None for key in keys[2:]}}
    assert second_incident != incident
