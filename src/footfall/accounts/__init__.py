"""Dashboard accounts: users (argon2id passwords), sessions, site membership, login throttle.

Each store is a thin class over the metadata database's engine (`SqlMetaStore.engine`), so
accounts live beside sites and tokens on both tiers (SQLite or PostgreSQL). Nothing here
knows HTTP: cookies, CSRF and pages are the dashboard's business.
"""
