"""Alembic schema migrations (env.py and versions/), shipped with the packages for `tradeplane migrate`."""
