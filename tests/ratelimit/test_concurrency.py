"""`StatsAdmission` and `StreamCaps`: places are taken, waited for a bounded time, refused with
the right errors, and always given back (a ticket released twice, a wait cancelled or timed
out hold nothing afterwards)."""

from __future__ import annotations

import asyncio

import pytest

from footfall.errors import ServiceUnavailable, TooManyRequests
from footfall.ratelimit.concurrency import StatsAdmission, StreamCaps


async def test_a_full_admission_waits_then_answers_503() -> None:
    admission = StatsAdmission(max_concurrent=2, wait=0.2, max_exports_per_owner=5)
    first, second = await admission.admit(), await admission.admit()
    assert admission.in_progress == 2
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ServiceUnavailable) as refused:
        await admission.admit()
    assert loop.time() - started >= 0.15  # it waited its bounded time first
    assert refused.value.retry_after == 5
    first.release()
    first.release()  # a second release gives nothing back twice
    assert admission.in_progress == 1
    third = await admission.admit()
    assert admission.in_progress == 2
    for ticket in (second, third):
        ticket.release()
    assert admission.in_progress == 0


async def test_a_place_freed_during_the_wait_is_taken() -> None:
    admission = StatsAdmission(max_concurrent=1, wait=5.0, max_exports_per_owner=5)
    held = await admission.admit()
    waiting = asyncio.create_task(admission.admit())
    await asyncio.sleep(0)  # the request is now waiting for the place
    assert not waiting.done()
    held.release()
    ticket = await asyncio.wait_for(waiting, 1.0)
    assert admission.in_progress == 1
    ticket.release()


async def test_a_cancelled_wait_holds_nothing() -> None:
    admission = StatsAdmission(max_concurrent=1, wait=5.0, max_exports_per_owner=1)
    held = await admission.admit()
    waiting = asyncio.create_task(admission.admit(export_owner="token:a"))
    await asyncio.sleep(0)
    assert admission.exports_of("token:a") == 1  # counted while it waits
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert admission.exports_of("token:a") == 0
    held.release()
    async with await admission.admit(export_owner="token:a"):
        assert admission.in_progress == 1
    assert admission.in_progress == 0


async def test_exports_are_capped_per_owner_without_taking_a_place() -> None:
    admission = StatsAdmission(max_concurrent=10, wait=0.0, max_exports_per_owner=2)
    mine = [await admission.admit(export_owner="token:a") for _ in range(2)]
    with pytest.raises(TooManyRequests) as refused:
        await admission.admit(export_owner="token:a")
    assert refused.value.headers == {"Retry-After": "5"}
    assert refused.value.message.startswith("At most 2 downloads at once")
    assert admission.in_progress == 2  # the refused one took no place
    theirs = await admission.admit(export_owner="user:b")  # another owner is not affected
    queries = await admission.admit()  # nor are queries
    mine[0].release()
    again = await admission.admit(export_owner="token:a")
    for ticket in (mine[1], theirs, queries, again):
        ticket.release()
    assert admission.in_progress == 0
    assert admission.exports_of("token:a") == admission.exports_of("user:b") == 0


async def test_a_zero_wait_admits_while_places_are_free() -> None:
    admission = StatsAdmission(max_concurrent=1, wait=0.0, max_exports_per_owner=1)
    ticket = await admission.admit()
    with pytest.raises(ServiceUnavailable):
        await admission.admit()
    ticket.release()
    (await admission.admit()).release()


def test_streams_are_capped_per_key() -> None:
    caps = StreamCaps(limit=2)
    caps.open("k1")
    caps.open("k1")
    with pytest.raises(TooManyRequests) as refused:
        caps.open("k1")
    assert refused.value.headers == {"Retry-After": "5"}
    caps.open("k2")
    caps.close("k1")
    caps.open("k1")
    assert (caps.open_for("k1"), caps.open_for("k2")) == (2, 1)
    for key in ("k1", "k1", "k2"):
        caps.close(key)
    assert caps.open_for("k1") == caps.open_for("k2") == 0
