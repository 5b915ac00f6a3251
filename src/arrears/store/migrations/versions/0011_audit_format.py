"""audit_log.format: which encoding a row's hash uses (audit.chain)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 00:00:00.000000

Rows stored before this revision were hashed with format 1 (the fields as a JSON array); they keep
it, so they verify as written. Appends from now on write format 2.
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both backends: existing rows take the default, no table rewrite.
    op.add_column('audit_log', sa.Column('format', sa.SmallInteger(), nullable=False, server_default='1'))


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('format')
