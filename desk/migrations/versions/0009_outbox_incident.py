"""outbox_message.incident_id: the incident a message is about, back-filled from the dedupe keys

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# The keys the desk wrote before the column existed: "incident:<id>:…" (restoration and dispute
# notices, the clock's deadline warnings) and "ticket:<id>:…" (the caller's confirmation, the
# engineers' new-ticket SMS), the latter resolved through the ticket's incident as it is now.
# Only digits between the colons are taken as an id; a key whose id no longer exists stays null.
INCIDENT_ID = {
    'sqlite': "CAST(substr(dedupe_key, {start}, instr(substr(dedupe_key, {start}), ':') - 1) AS BIGINT)",
    'postgresql': "CAST(split_part(dedupe_key, ':', 2) AS BIGINT)",
}
SHAPE = {
    'sqlite': "dedupe_key GLOB '{prefix}:[0-9]*:*' AND substr(dedupe_key, {start}, "
              "instr(substr(dedupe_key, {start}), ':') - 1) NOT GLOB '*[^0-9]*'",
    'postgresql': "dedupe_key ~ '^{prefix}:[0-9]{{1,18}}:'",
}


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incident_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_incident_id'), ['incident_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_message_incident_id_incident'), 'incident',
                                    ['incident_id'], ['id'], ondelete='SET NULL')
    dialect = op.get_bind().dialect.name
    for prefix, resolve in (("incident", "SELECT id FROM incident WHERE id = {id}"),
                            ("ticket", "SELECT incident_id FROM ticket WHERE id = {id}")):
        start = len(prefix) + 2  # the id's first character (SQL strings count from 1)
        ident = INCIDENT_ID[dialect].format(start=start)
        op.execute(f"UPDATE outbox_message SET incident_id = ({resolve.format(id=ident)}) "
                   f"WHERE incident_id IS NULL AND {SHAPE[dialect].format(prefix=prefix, start=start)}")


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_message_incident_id_incident'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_message_incident_id'))
        batch_op.drop_column('incident_id')
