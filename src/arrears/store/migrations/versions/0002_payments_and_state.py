"""payments and the derived state of the book

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:53:32.893962
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('closed_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('loans_stepped', sa.Integer(), nullable=False),
    sa.Column('loans_rederived', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_closed_days'))
    )
    op.create_table('allocations',
    sa.Column('allocation_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('component', sa.String(length=16), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('recovery', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_allocations_loan_id_loans')),
    sa.PrimaryKeyConstraint('allocation_id', name=op.f('pk_allocations'))
    )
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.create_index('ix_allocations_loan_day', ['loan_id', 'day'], unique=False)

    op.create_table('bucket_transitions',
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('from_bucket', sa.String(length=16), nullable=False),
    sa.Column('to_bucket', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_bucket_transitions_loan_id_loans')),
    sa.PrimaryKeyConstraint('loan_id', 'day', name=op.f('pk_bucket_transitions'))
    )
    op.create_table('instalment_state',
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('adjusted_due_on', sa.Date(), nullable=False),
    sa.Column('principal', sa.BigInteger(), nullable=False),
    sa.Column('interest', sa.BigInteger(), nullable=False),
    sa.Column('interest_capped', sa.BigInteger(), nullable=False),
    sa.Column('paid_principal', sa.BigInteger(), nullable=False),
    sa.Column('paid_interest', sa.BigInteger(), nullable=False),
    sa.Column('waived_principal', sa.BigInteger(), nullable=False),
    sa.Column('waived_interest', sa.BigInteger(), nullable=False),
    sa.Column('late_fees', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_instalment_state_loan_id_loans')),
    sa.PrimaryKeyConstraint('loan_id', 'n', name=op.f('pk_instalment_state'))
    )
    op.create_table('loan_state',
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('credit', sa.BigInteger(), nullable=False),
    sa.Column('penalty_micro', sa.BigInteger(), nullable=False),
    sa.Column('penalty_paid', sa.BigInteger(), nullable=False),
    sa.Column('penalty_waived', sa.BigInteger(), nullable=False),
    sa.Column('fees_micro', sa.BigInteger(), nullable=False),
    sa.Column('fees_gross', sa.BigInteger(), nullable=False),
    sa.Column('fees_paid', sa.BigInteger(), nullable=False),
    sa.Column('fees_waived', sa.BigInteger(), nullable=False),
    sa.Column('capped_micro', sa.BigInteger(), nullable=False),
    sa.Column('interest_capped_micro', sa.BigInteger(), nullable=False),
    sa.Column('interest_capped_posted', sa.BigInteger(), nullable=False),
    sa.Column('dpd', sa.BigInteger(), nullable=False),
    sa.Column('dofd', sa.Date(), nullable=True),
    sa.Column('bucket', sa.String(length=16), nullable=False),
    sa.Column('bucket_since', sa.Date(), nullable=False),
    sa.Column('charged_off_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('recovered', sa.BigInteger(), nullable=False),
    sa.Column('written_off', sa.BigInteger(), nullable=False),
    sa.Column('principal_prepaid', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_loan_state_loan_id_loans')),
    sa.PrimaryKeyConstraint('loan_id', name=op.f('pk_loan_state'))
    )
    op.create_table('movements',
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('penalty_micro', sa.BigInteger(), nullable=False),
    sa.Column('fees_micro', sa.BigInteger(), nullable=False),
    sa.Column('capped_micro', sa.BigInteger(), nullable=False),
    sa.Column('collected', sa.BigInteger(), nullable=False),
    sa.Column('written_off', sa.BigInteger(), nullable=False),
    sa.Column('charged_off', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_movements_loan_id_loans')),
    sa.PrimaryKeyConstraint('loan_id', 'day', name=op.f('pk_movements'))
    )
    op.create_table('payments',
    sa.Column('payment_id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('reverses', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_by_close', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_payments_loan_id_loans')),
    sa.PrimaryKeyConstraint('payment_id', name=op.f('pk_payments'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_loan', ['loan_id'], unique=False)
        batch_op.create_index('ix_payments_unapplied', ['applied_by_close'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_unapplied')
        batch_op.drop_index('ix_payments_loan')

    op.drop_table('payments')
    op.drop_table('movements')
    op.drop_table('loan_state')
    op.drop_table('instalment_state')
    op.drop_table('bucket_transitions')
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_index('ix_allocations_loan_day')

    op.drop_table('allocations')
    op.drop_table('closed_days')
