"""Storage: SQLAlchemy 2 tables, Alembic migrations, bulk reads and writes. The shell's only door to the database."""
