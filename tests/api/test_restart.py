"""Live state survives a restart: presence and visits are rebuilt from the event store."""

from __future__ import annotations

from footfall.config import Settings
from tests.conftest import CHROME_UA, FakeClock, start_app


async def test_count_and_visits_survive_a_restart(settings: Settings) -> None:
    clock = FakeClock()
    async with start_app(settings, clock) as (app, client):
        meta = app.state.services.meta
        site = await meta.create_site("example.com", None, clock.now())
        token, _ = await meta.create_token(site.id, clock.now())
        for i in range(4):
            response = await client.post(
                "/api/event",
                json={"websiteId": site.id, "url": "https://example.com/"},
                headers={"User-Agent": CHROME_UA, "X-Forwarded-For": f"198.51.100.{i}"},
            )
            assert response.status_code == 202
            clock.advance(30)  # visitor i is (3 - i) * 30 s old at the restart
        # A custom event does not make a visitor current, before or after a restart.
        await client.post(
            "/api/event",
            json={"websiteId": site.id, "url": "https://example.com/", "name": "signup"},
            headers={"User-Agent": CHROME_UA, "X-Forwarded-For": "198.51.100.50"},
        )

    auth = {"Authorization": f"Bearer {token}"}
    clock.advance(60)  # downtime; oldest pageview is now 180 s old -> expired
    async with start_app(settings, clock) as (app, client):
        response = await client.get("/api/v1/realtime", params={"websiteId": site.id}, headers=auth)
        assert response.json()["currentVisitors"] == 3
        # The same visitor coming back continues its visit instead of starting a new one.
        await client.post(
            "/api/event",
            json={"websiteId": site.id, "url": "https://example.com/more"},
            headers={"User-Agent": CHROME_UA, "X-Forwarded-For": "198.51.100.3"},
        )
        events = await app.state.services.events.events(site.id)
        visits_of_3 = {e.visit_id for e in events if e.visitor_id == events[3].visitor_id}
        assert len(visits_of_3) == 1
        clock.advance(150)
        response = await client.get("/api/v1/realtime", params={"websiteId": site.id}, headers=auth)
        assert response.json()["currentVisitors"] == 1  # only the returning visitor
