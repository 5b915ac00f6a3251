"""loans.takeon_credit_minor: money a loan taken over from another system arrives with, received
and not yet applied (book.takeon)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 00:00:00.000000

Optional, like the other take-on columns: empty for every loan stored before.
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('loans', sa.Column('takeon_credit_minor', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_column('takeon_credit_minor')
