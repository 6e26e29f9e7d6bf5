"""outbox_delivery: Twilio's delivery status of each sent SMS, by message SID; outbox_message.provider_id indexed

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

STATUSES = "status IN ('accepted','scheduled','queued','sending','sent','delivered','undelivered','failed','canceled','read')"


def upgrade():
    op.create_table('outbox_delivery',
    sa.Column('message_sid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('error_message', sa.String(length=500), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(STATUSES, name=op.f('ck_outbox_delivery_status_known')),
    sa.PrimaryKeyConstraint('message_sid', name=op.f('pk_outbox_delivery'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_message_provider_id', ['provider_id'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_provider_id')
    op.drop_table('outbox_delivery')
