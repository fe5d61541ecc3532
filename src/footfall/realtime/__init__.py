"""Live presence: who had a pageview in the last few minutes, per site."""
