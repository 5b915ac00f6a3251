"""the audit log and its seals (arrears.audit)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 17:04:04.372683
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('partition', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=True),
    sa.Column('loan_id', sa.String(length=64), nullable=True),
    sa.Column('action_id', sa.String(length=64), nullable=True),
    sa.Column('decision', sa.String(length=32), nullable=True),
    sa.Column('rules', sa.Text(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('row_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('partition', 'day', 'seq', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_borrower', ['borrower_id'], unique=False)

    op.create_table('audit_seals',
    sa.Column('partition', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('root_hash', sa.String(length=64), nullable=False),
    sa.Column('hmac', sa.String(length=64), nullable=True),
    sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('purged_on', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('partition', 'day', name=op.f('pk_audit_seals'))
    )


def downgrade() -> None:
    op.drop_table('audit_seals')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_borrower')

    op.drop_table('audit_log')
