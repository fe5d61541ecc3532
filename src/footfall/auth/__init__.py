"""API tokens (and, later, dashboard users and sessions)."""
