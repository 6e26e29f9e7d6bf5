"""login_attempt.succeeded may be empty: an attempt is written before its password is checked

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.alter_column('succeeded', existing_type=sa.Boolean(), nullable=True)


def downgrade():
    op.execute("DELETE FROM login_attempt WHERE succeeded IS NULL")
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.alter_column('succeeded', existing_type=sa.Boolean(), nullable=False)
