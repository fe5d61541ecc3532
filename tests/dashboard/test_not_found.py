"""Unknown addresses: a page for a browser navigating, JSON for API clients."""

from __future__ import annotations

from tests.dashboard.conftest import Dash

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # a navigation


async def test_a_browser_gets_a_page_with_the_way_back(dash: Dash) -> None:
    owner = await dash.owner()
    response = await owner.get("/no/such/page", headers={"Accept": HTML})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text
    assert 'href="/"' in response.text
    assert owner.csrf is not None  # the dashboard's own layout (header, sign-out form)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    signed_out = await dash.browser()
    response = await signed_out.get("/nothing-here", headers={"Accept": HTML})
    assert (response.status_code, "Page not found" in response.text) == (404, True)


async def test_api_clients_still_get_json(dash: Dash) -> None:
    browser = await dash.browser()
    for path, accept in (
        ("/no/such/page", "application/json"),
        ("/no/such/page", "*/*"),
        ("/api/v1/nope", HTML),  # an API address is never a page
    ):
        response = await browser.get(path, headers={"Accept": accept})
        assert response.status_code == 404
        assert response.json() == {"error": "Not found"}, (path, accept)
