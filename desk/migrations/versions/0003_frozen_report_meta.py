"""frozen_report.meta_json: what a frozen month's documents are rendered from

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('frozen_report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meta_json', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('frozen_report', schema=None) as batch_op:
        batch_op.drop_column('meta_json')
