"""`MemoryRateLimiter`: GCRA buckets in this process's memory (the embedded tier).

One dict from key to TAT (microseconds): a check is a dict lookup and a few integer
operations. The dict is bounded: when it reaches `max_keys`, buckets that are full again (TAT
in the past — the same as never seen) are forgotten; if a flood of distinct keys still fills
it, the oldest entries go. Forgetting a bucket only ever gives its key a full bucket again:
limits can become more lenient under such a flood, never stricter.
"""

from __future__ import annotations

from collections.abc import Sequence

from footfall.ratelimit.base import Check, Decision, combine, evaluate, micros

DEFAULT_MAX_KEYS = 200_000


class MemoryRateLimiter:
    """Buckets private to this process."""

    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self._tats: dict[str, int] = {}
        self._max_keys = max_keys

    def __len__(self) -> int:
        return len(self._tats)

    async def acquire(self, checks: Sequence[Check], now: float, cost: int = 1) -> Decision:
        now_us = micros(now)
        tats = self._tats
        if len(checks) == 1:  # the common case, without lists
            key, limit = checks[0]
            decision, new_tat = evaluate(tats.get(key), now_us, limit, cost)
            if decision.allowed:
                self._store(key, new_tat, now_us)
            return decision
        results = [evaluate(tats.get(key), now_us, limit, cost) for key, limit in checks]
        decisions = [decision for decision, _ in results]
        if all(decision.allowed for decision in decisions):
            for (key, _limit), (_decision, new_tat) in zip(checks, results, strict=True):
                self._store(key, new_tat, now_us)
        return combine(decisions)

    def _store(self, key: str, tat: int, now_us: int) -> None:
        tats = self._tats
        if key not in tats and len(tats) >= self._max_keys:
            self._make_room(now_us)
        tats[key] = tat

    def _make_room(self, now_us: int) -> None:
        """Forget full buckets; if that is not enough, the oldest tenth (insertion order)."""
        tats = self._tats
        for key in [key for key, tat in tats.items() if tat <= now_us]:
            del tats[key]
        if len(tats) >= self._max_keys:
            for key in list(tats)[: max(1, self._max_keys // 10)]:
                del tats[key]

    async def close(self) -> None:
        self._tats.clear()
