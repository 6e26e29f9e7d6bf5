"""hotline_pin_failure: wrong PINs counted against the unit code they were keyed for

Revision ID: 0002
Revises: 0001
Created: 2026-12-04 18:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hotline_pin_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('keyed_code', sa.String(length=64), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['hotline_call.id'], name=op.f('fk_hotline_pin_failure_call_id_hotline_call')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hotline_pin_failure'))
    )
    with op.batch_alter_table('hotline_pin_failure', schema=None) as batch_op:
        batch_op.create_index('ix_hotline_pin_failure_code_time', ['keyed_code', 'failed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('hotline_pin_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_hotline_pin_failure_code_time')

    op.drop_table('hotline_pin_failure')
