"""Alembic environment: runs the desk's migrations against the app's configured database."""
from alembic import context
from flask import current_app
from sqlalchemy.types import TypeDecorator

migrate_ext = current_app.extensions["migrate"]
metadata = migrate_ext.db.metadata


def render_item(kind, obj, autogen_context):
    # Migrations name plain column types, so they never import application code.
    if kind == "type" and isinstance(obj, TypeDecorator):
        return "sa." + repr(obj.impl)
    return False


def process_revision_directives(ctx, revision, directives):
    # An autogenerate run that finds no change writes no empty migration.
    if getattr(context.config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []


def run_migrations_online() -> None:
    engine = migrate_ext.db.engine
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_item=render_item,
            process_revision_directives=process_revision_directives,
            **{"compare_type": True, **{k: v for k, v in migrate_ext.configure_args.items()
                                        if k != "process_revision_directives"}},
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run flask --app wsgi init-db")
run_migrations_online()
