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
