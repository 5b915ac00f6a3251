"""the incremental close: loan_watch (which loans the close must step) and quiet_stocks (the quiet
loans' part of the coming days' snapshots)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 21:00:00.000000

A book stored before this revision has no loan_watch rows: the next close steps every loan once
(as it did every day before) and records them, then only the loans with something to do.
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'loan_watch',
        sa.Column('loan_id', sa.String(length=64), nullable=False),
        sa.Column('quiet_until', sa.Date(), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=True),
        sa.Column('bucket', sa.String(length=16), nullable=True),
        sa.Column('principal_outstanding', sa.BigInteger(), nullable=True),
        sa.Column('owed', sa.BigInteger(), nullable=True),
        sa.Column('period_start', sa.Date(), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('interest', sa.BigInteger(), nullable=True),
        sa.Column('interest_less', sa.BigInteger(), nullable=True),
        sa.Column('interest_held', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_loan_watch_loan_id_loans')),
        sa.PrimaryKeyConstraint('loan_id', name=op.f('pk_loan_watch')),
    )
    with op.batch_alter_table('loan_watch', schema=None) as batch_op:
        batch_op.create_index('ix_loan_watch_quiet_until', ['quiet_until'], unique=False)
    op.create_table(
        'quiet_stocks',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('bucket', sa.String(length=16), nullable=False),
        *[sa.Column(c, sa.BigInteger(), nullable=False)
          for c in ('members', 'loans', 'principal_outstanding', 'total_outstanding')],
        sa.PrimaryKeyConstraint('day', 'currency', 'bucket', name=op.f('pk_quiet_stocks')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        # The close now updates the state of the loans it steps in place: room on each page lets
        # PostgreSQL keep the new row version on the same page, without touching the indexes.
        for table in ('loan_state', 'instalment_state', 'loan_watch'):
            op.execute(f'ALTER TABLE {table} SET (fillfactor = 80)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in ('loan_state', 'instalment_state'):
            op.execute(f'ALTER TABLE {table} RESET (fillfactor)')
    op.drop_table('quiet_stocks')
    with op.batch_alter_table('loan_watch', schema=None) as batch_op:
        batch_op.drop_index('ix_loan_watch_quiet_until')
    op.drop_table('loan_watch')
