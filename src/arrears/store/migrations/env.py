"""Alembic environment. The connection is always handed in by ``arrears.store.db``; no alembic.ini."""

from alembic import context

from arrears.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
