"""the daily plan: plan runs, planned actions, champion/challenger assignments

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 21:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'plan_runs',
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('run', sa.Integer(), nullable=False),
        sa.Column('strategy', sa.Text(), nullable=False),
        sa.Column('planned', sa.Integer(), nullable=False),
        sa.Column('deferred', sa.Integer(), nullable=False),
        sa.Column('held', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('business_date', 'run', name=op.f('pk_plan_runs')),
    )
    op.create_table(
        'plan_actions',
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('run', sa.Integer(), nullable=False),
        sa.Column('action_id', sa.String(length=64), nullable=False),
        sa.Column('borrower_id', sa.String(length=64), nullable=False),
        sa.Column('loan_id', sa.String(length=64), nullable=False),
        sa.Column('loan_ids', sa.Text(), nullable=True),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=True),
        sa.Column('party', sa.String(length=64), nullable=False),
        sa.Column('window_start', sa.DateTime(timezone=True), nullable=True),
        sa.Column('window_end', sa.DateTime(timezone=True), nullable=True),
        sa.Column('template_id', sa.String(length=64), nullable=True),
        sa.Column('language', sa.String(length=16), nullable=True),
        sa.Column('offer', sa.Text(), nullable=True),
        sa.Column('assigned_to', sa.String(length=64), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('expected_value_minor', sa.BigInteger(), nullable=False),
        sa.Column('strategy', sa.String(length=128), nullable=False),
        sa.Column('state', sa.String(length=128), nullable=False),
        sa.Column('sets_flag', sa.String(length=32), nullable=True),
        sa.Column('priority', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('rules', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('business_date', 'run', 'action_id', name=op.f('pk_plan_actions')),
    )
    op.create_index('ix_plan_actions_borrower', 'plan_actions', ['borrower_id', 'business_date'])
    op.create_index('ix_plan_actions_action', 'plan_actions', ['action_id'])
    op.create_table(
        'strategy_assignments',
        sa.Column('borrower_id', sa.String(length=64), nullable=False),
        sa.Column('episode_start', sa.Date(), nullable=False),
        sa.Column('experiment', sa.String(length=128), nullable=False),
        sa.Column('arm', sa.String(length=128), nullable=False),
        sa.Column('assigned_on', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('borrower_id', 'episode_start', 'experiment', name=op.f('pk_strategy_assignments')),
    )


def downgrade() -> None:
    op.drop_table('strategy_assignments')
    op.drop_index('ix_plan_actions_action', table_name='plan_actions')
    op.drop_index('ix_plan_actions_borrower', table_name='plan_actions')
    op.drop_table('plan_actions')
    op.drop_table('plan_runs')
