"""contacts, flags and agents

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 16:24:12.491682
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agents',
    sa.Column('agent_id', sa.String(length=64), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=False),
    sa.Column('languages', sa.Text(), nullable=False),
    sa.Column('jurisdictions', sa.Text(), nullable=False),
    sa.Column('daily_calls', sa.Integer(), nullable=False),
    sa.Column('daily_visits', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('agent_id', 'valid_from', name=op.f('pk_agents'))
    )
    op.create_table('arrangements',
    sa.Column('arrangement_id', sa.String(length=64), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=True),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.borrower_id'], name=op.f('fk_arrangements_borrower_id_borrowers')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_arrangements_loan_id_loans')),
    sa.PrimaryKeyConstraint('arrangement_id', name=op.f('pk_arrangements'))
    )
    op.create_table('contacts',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=True),
    sa.Column('loan_ids', sa.Text(), nullable=True),
    sa.Column('action_id', sa.String(length=64), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('at_offset', sa.String(length=6), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('party', sa.String(length=64), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('written', sa.Boolean(), nullable=True),
    sa.Column('promise_amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('promise_currency', sa.String(length=3), nullable=True),
    sa.Column('promise_date', sa.Date(), nullable=True),
    sa.Column('hours_from', sa.String(length=5), nullable=True),
    sa.Column('hours_to', sa.String(length=5), nullable=True),
    sa.Column('recording_ref', sa.Text(), nullable=True),
    sa.Column('agency_id', sa.String(length=64), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.borrower_id'], name=op.f('fk_contacts_borrower_id_borrowers')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_contacts_loan_id_loans')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_contacts'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index('ix_contacts_borrower_at', ['borrower_id', 'at'], unique=False)

    op.create_table('flags',
    sa.Column('flag_id', sa.String(length=64), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=True),
    sa.Column('flag', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('end_on', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('written', sa.Boolean(), nullable=True),
    sa.Column('event_id', sa.String(length=64), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lifted_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.borrower_id'], name=op.f('fk_flags_borrower_id_borrowers')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_flags_loan_id_loans')),
    sa.PrimaryKeyConstraint('flag_id', name=op.f('pk_flags'))
    )
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.create_index('ix_flags_borrower', ['borrower_id'], unique=False)
        batch_op.create_index('ix_flags_lifted_by', ['lifted_by'], unique=False)

    op.create_table('promises',
    sa.Column('promise_id', sa.String(length=64), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('promise_date', sa.Date(), nullable=False),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.borrower_id'], name=op.f('fk_promises_borrower_id_borrowers')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_promises_loan_id_loans')),
    sa.PrimaryKeyConstraint('promise_id', name=op.f('pk_promises'))
    )
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.create_index('ix_promises_loan', ['loan_id'], unique=False)

    op.create_table('contact_loans',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['contacts.event_id'], name=op.f('fk_contact_loans_event_id_contacts')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.loan_id'], name=op.f('fk_contact_loans_loan_id_loans')),
    sa.PrimaryKeyConstraint('event_id', 'loan_id', name=op.f('pk_contact_loans'))
    )
    with op.batch_alter_table('contact_loans', schema=None) as batch_op:
        batch_op.create_index('ix_contact_loans_loan', ['loan_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contact_loans', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_loans_loan')

    op.drop_table('contact_loans')
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.drop_index('ix_promises_loan')

    op.drop_table('promises')
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.drop_index('ix_flags_lifted_by')
        batch_op.drop_index('ix_flags_borrower')

    op.drop_table('flags')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_borrower_at')

    op.drop_table('contacts')
    op.drop_table('arrangements')
    op.drop_table('agents')
