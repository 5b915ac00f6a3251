"""initial schema: products, borrowers, contacts, references, loans, schedule, imports

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 15:43:04.477998
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('borrowers',
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=35), nullable=False),
    sa.Column('jurisdiction', sa.String(length=16), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('monthly_income_minor', sa.BigInteger(), nullable=True),
    sa.Column('monthly_income_currency', sa.String(length=3), nullable=True),
    sa.Column('email_is_employer_provided', sa.Boolean(), nullable=True),
    sa.Column('servicemember', sa.Boolean(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('borrower_id', name=op.f('pk_borrowers'))
    )
    op.create_table('imports',
    sa.Column('import_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('rows_in_file', sa.Integer(), nullable=False),
    sa.Column('rows_added', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('import_id', name=op.f('pk_imports'))
    )
    op.create_table('products',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_products'))
    )
    op.create_table('borrower_contacts',
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('work_phone', sa.String(length=32), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('city', sa.Text(), nullable=True),
    sa.Column('region', sa.Text(), nullable=True),
    sa.Column('postal_code', sa.String(length=32), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.borrower_id'], name=op.f('fk_borrower_contacts_borrower_id_borrowers')),
    sa.PrimaryKeyConstraint('borrower_id', 'valid_from', name=op.f('pk_borrower_contacts'))
    )
    op.create_table('loans',
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('product', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('principal_minor', sa.BigInteger(), nullable=False),
    sa.Column('annual_rate_nano', sa.BigInteger(), nullable=False),
    sa.Column('term', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.String(length=16), nullable=False),
    sa.Column('period_days', sa.Integer(), nullable=True),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('disbursed_on', sa.Date(), nullable=False),
    sa.Column('first_due_on', sa.Date(), nullable=True),
    sa.Column('penalty_rate_daily_nano', sa.BigInteger(), nullable=False),
    sa.Column('contract_date', sa.Date(), nullable=False),
    sa.Column('lender_type', sa.String(length=16), nullable=True),
    sa.Column('time_barred_on', sa.Date(), nullable=True),
    sa.Column('takeon_date', sa.Date(), nullable=True),
    sa.Column('takeon_principal_outstanding_minor', sa.BigInteger(), nullable=True),
    sa.Column('takeon_interest_due_minor', sa.BigInteger(), nullable=True),
    sa.Column('takeon_penalty_due_minor', sa.BigInteger(), nullable=True),
    sa.Column('takeon_fees_due_minor', sa.BigInteger(), nullable=True),
    sa.Column('takeon_oldest_unpaid_due_on', sa.Date(), nullable=True),
    sa.Column('takeon_dofd', sa.Date(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.borrower_id'], name=op.f('fk_loans_borrower_id_borrowers')),
    sa.PrimaryKeyConstraint('loan_id', name=op.f('pk_loans'))
    )
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.create_index('ix_loans_borrower', ['borrower_id'], unique=False)

    op.create_table('references',
    sa.Column('reference_id', sa.String(length=64), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('relation', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('consented_on', sa.Date(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.borrower_id'], name=op.f('fk_references_borrower_id_borrowers')),
    sa.PrimaryKeyConstraint('reference_id', name=op.f('pk_references'))
    )
    op.create_table('schedule',
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('adjusted_due_on', sa.Date(), nullable=False),
    sa.Column('principal_minor', sa.BigInteger(), nullable=False),
    sa.Column('interest_minor', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_schedule_loan_id_loans')),
    sa.PrimaryKeyConstraint('loan_id', 'n', name=op.f('pk_schedule'))
    )
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.create_index('ix_schedule_adjusted_due_on', ['adjusted_due_on'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_adjusted_due_on')

    op.drop_table('schedule')
    op.drop_table('references')
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_index('ix_loans_borrower')

    op.drop_table('loans')
    op.drop_table('borrower_contacts')
    op.drop_table('products')
    op.drop_table('imports')
    op.drop_table('borrowers')
