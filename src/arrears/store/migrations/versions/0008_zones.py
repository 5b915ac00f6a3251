"""candidate time zones of contact versions and references, resolved at import

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 10:00:00.000000

Existing rows are filled here with the same function imports use (arrears.policy.zones), so a
null ``zones`` never means "not computed": it means nothing at all was known (no row imported
through the CLI is like that, since every borrower has a jurisdiction). Rows are read whole and
updated in batches, once per row whose zones are known; the phone lookups are done once per
distinct number (about 27 µs each, so a few seconds per 100,000 distinct numbers).
"""

import polars as pl
import sqlalchemy as sa
from alembic import op

from arrears.policy.zones import zones_column

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_BATCH = 10_000

# The tables as this revision knows them (never arrears.store.tables, which moves on).
_borrowers = sa.table('borrowers', sa.column('borrower_id', sa.String), sa.column('jurisdiction', sa.String))
_contacts = sa.table(
    'borrower_contacts',
    sa.column('borrower_id', sa.String),
    sa.column('valid_from', sa.Date),
    sa.column('timezone', sa.String),
    sa.column('country', sa.String),
    sa.column('region', sa.Text),
    sa.column('phone', sa.String),
    sa.column('zones', sa.Text),
)
_references = sa.table(
    'references',
    sa.column('reference_id', sa.String),
    sa.column('borrower_id', sa.String),
    sa.column('phone', sa.String),
    sa.column('zones', sa.Text),
)


def upgrade() -> None:
    with op.batch_alter_table('borrower_contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('zones', sa.Text(), nullable=True))
    with op.batch_alter_table('references', schema=None) as batch_op:
        batch_op.add_column(sa.Column('zones', sa.Text(), nullable=True))
    _backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('references', schema=None) as batch_op:
        batch_op.drop_column('zones')
    with op.batch_alter_table('borrower_contacts', schema=None) as batch_op:
        batch_op.drop_column('zones')


def _backfill(conn: sa.Connection) -> None:
    c, r, b = _contacts.c, _references.c, _borrowers.c
    rows = conn.execute(
        sa.select(c.borrower_id, c.valid_from, c.timezone, c.country, c.region, c.phone, b.jurisdiction)
        .join_from(_contacts, _borrowers, c.borrower_id == b.borrower_id)
    ).all()
    if rows:
        frame = pl.DataFrame(
            [tuple(x) for x in rows],
            schema={
                "borrower_id": pl.String, "valid_from": pl.Date, "timezone": pl.String,
                "country": pl.String, "region": pl.String, "phone": pl.String, "jurisdiction": pl.String,
            },
            orient="row",
        )
        frame = frame.with_columns(zones_column(frame))
        _update(
            conn,
            sa.update(_contacts)
            .where(c.borrower_id == sa.bindparam('b_id'), c.valid_from == sa.bindparam('b_from'))
            .values(zones=sa.bindparam('b_zones')),
            [
                {'b_id': i, 'b_from': f, 'b_zones': z}
                for i, f, z in frame.select('borrower_id', 'valid_from', 'zones').iter_rows()
                if z is not None
            ],
        )
    rows = conn.execute(
        sa.select(r.reference_id, r.phone, b.jurisdiction)
        .join_from(_references, _borrowers, r.borrower_id == b.borrower_id)
    ).all()
    if rows:
        frame = pl.DataFrame(
            [tuple(x) for x in rows],
            schema={"reference_id": pl.String, "phone": pl.String, "jurisdiction": pl.String},
            orient="row",
        )
        frame = frame.with_columns(zones_column(frame, timezone=None, country=None, region=None))
        _update(
            conn,
            sa.update(_references)
            .where(r.reference_id == sa.bindparam('b_id'))
            .values(zones=sa.bindparam('b_zones')),
            [
                {'b_id': i, 'b_zones': z}
                for i, z in frame.select('reference_id', 'zones').iter_rows()
                if z is not None
            ],
        )


def _update(conn: sa.Connection, statement, params: list[dict]) -> None:
    for i in range(0, len(params), _BATCH):
        conn.execute(statement, params[i : i + _BATCH])
