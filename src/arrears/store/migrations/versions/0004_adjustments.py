"""adjustments, corrections, and the state of pauses, settlements and restructures

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 16:31:00.970586
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('adjustments',
    sa.Column('adjustment_id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('params', sa.Text(), nullable=True),
    sa.Column('approved_by', sa.String(length=64), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_by_close', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_adjustments_loan_id_loans')),
    sa.PrimaryKeyConstraint('adjustment_id', name=op.f('pk_adjustments'))
    )
    with op.batch_alter_table('adjustments', schema=None) as batch_op:
        batch_op.create_index('ix_adjustments_loan', ['loan_id'], unique=False)

    op.create_table('corrections',
    sa.Column('adjustment_id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('before', sa.Text(), nullable=False),
    sa.Column('after', sa.Text(), nullable=False),
    sa.Column('approved_by', sa.String(length=64), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['adjustment_id'], ['adjustments.adjustment_id'], name=op.f('fk_corrections_adjustment_id_adjustments')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_corrections_loan_id_loans')),
    sa.PrimaryKeyConstraint('adjustment_id', name=op.f('pk_corrections'))
    )
    with op.batch_alter_table('loan_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interest_frozen_micro', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('interest_frozen_posted', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('settlement_amount', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('settlement_pay_by', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('settlement_paid', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('forgiven', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('restructured_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('probation_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('pre_restructure_bucket', sa.String(length=16), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('loan_state', schema=None) as batch_op:
        batch_op.drop_column('pre_restructure_bucket')
        batch_op.drop_column('probation_until')
        batch_op.drop_column('restructured_on')
        batch_op.drop_column('forgiven')
        batch_op.drop_column('settlement_paid')
        batch_op.drop_column('settlement_pay_by')
        batch_op.drop_column('settlement_amount')
        batch_op.drop_column('interest_frozen_posted')
        batch_op.drop_column('interest_frozen_micro')

    op.drop_table('corrections')
    with op.batch_alter_table('adjustments', schema=None) as batch_op:
        batch_op.drop_index('ix_adjustments_loan')

    op.drop_table('adjustments')
