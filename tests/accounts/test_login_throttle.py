"""`MemoryLoginThrottle`: 5 failures per key within 15 minutes, then refused until they age."""

from __future__ import annotations

from footfall.accounts.login_throttle import (
    LIMIT,
    WINDOW,
    MemoryLoginThrottle,
    account_key,
    client_key,
)


async def test_fifth_failure_blocks_until_the_oldest_leaves_the_window() -> None:
    throttle = MemoryLoginThrottle()
    keys = [account_key("A@example.org"), client_key("203.0.113.9")]
    for i in range(LIMIT):
        assert await throttle.retry_after(keys, 100.0 + i) == 0
        await throttle.record_failure(keys, 100.0 + i)
    assert await throttle.retry_after(keys, 105.0) == WINDOW - 5.0
    assert await throttle.retry_after([account_key("a@example.org")], 105.0) > 0
    assert await throttle.retry_after([client_key("203.0.113.10")], 105.0) == 0
    # One failure ages out: one more try is allowed.
    assert await throttle.retry_after(keys, 100.0 + WINDOW) == 0


async def test_clear_forgets_one_key_only() -> None:
    throttle = MemoryLoginThrottle()
    keys = [account_key("a@example.org"), client_key("203.0.113.9")]
    for _ in range(LIMIT):
        await throttle.record_failure(keys, 1.0)
    await throttle.clear(keys[0])
    assert await throttle.retry_after(keys[:1], 2.0) == 0
    assert await throttle.retry_after(keys[1:], 2.0) > 0
