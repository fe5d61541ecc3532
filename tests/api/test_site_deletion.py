"""Deleting a site stops it answering at once; the server then purges its events."""

from __future__ import annotations

from tests.conftest import Running


async def test_deleted_site_is_gone_and_its_events_purged(running: Running) -> None:
    await running.pageview(ip="198.51.100.1")
    assert await running.services.events.count(running.site.id) == 1
    await running.services.meta.delete_site(running.site.id, running.clock.now())
    response = await running.realtime()
    assert response.status_code == 404
    assert response.json() == {"error": "Website not found"}
    assert (await running.pageview(ip="198.51.100.2")).status_code == 404
    await running.services.purge_deleted_sites()
    assert await running.services.events.count(running.site.id) == 0
    assert await running.services.meta.deleted_site_ids() == []
