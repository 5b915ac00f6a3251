"""the day's portfolio snapshot

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 17:18:52.183863
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('portfolio_snapshots',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('bucket', sa.String(length=16), nullable=False),
    sa.Column('loans', sa.BigInteger(), nullable=False),
    sa.Column('principal_outstanding', sa.BigInteger(), nullable=False),
    sa.Column('total_outstanding', sa.BigInteger(), nullable=False),
    sa.Column('collected', sa.BigInteger(), nullable=False),
    sa.Column('penalty_accrued', sa.BigInteger(), nullable=False),
    sa.Column('fees_charged', sa.BigInteger(), nullable=False),
    sa.Column('capped', sa.BigInteger(), nullable=False),
    sa.Column('written_off', sa.BigInteger(), nullable=False),
    sa.Column('charged_off', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'currency', 'bucket', name=op.f('pk_portfolio_snapshots'))
    )


def downgrade() -> None:
    op.drop_table('portfolio_snapshots')
