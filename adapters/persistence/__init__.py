"""SQL persistence (SQLAlchemy 2 Core): SQLite embedded by default, PostgreSQL in production.

``schema`` holds the tables (the alembic migrations in ``migrations/`` create exactly these),
``database`` opens a store and checks its revision, and the repositories implement the
application's store ports.
"""
