"""Rate limiting: GCRA buckets in memory (embedded tier) or in Redis (cluster), and the
limits the API applies with them (`policies`). Reusable by anything that needs a limit (the
dashboard's login will)."""

from footfall.ratelimit.base import Decision, RateLimit, RateLimiter

__all__ = ["Decision", "RateLimit", "RateLimiter"]
