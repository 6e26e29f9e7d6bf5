"""outbox_message.expires_at and the status expired: a deadline warning still unsent at its deadline is not sent

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

BEFORE = "status IN ('pending','sending','sent','failed','not_sent_no_credentials')"
AFTER = "status IN ('pending','sending','sent','failed','not_sent_no_credentials','expired')"


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(op.f('ck_outbox_message_status_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_message_status_known'), AFTER)


def downgrade():
    # An expired message was never sent: it goes back as failed, which the old schema knows.
    op.execute("UPDATE outbox_message SET status = 'failed' WHERE status = 'expired'")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_message_status_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_message_status_known'), BEFORE)
        batch_op.drop_column('expires_at')
