"""Browsers that ask `/favicon.ico` on their own get the packaged icon, not a 404."""

from __future__ import annotations

from footfall.dashboard.static import assets
from tests.dashboard.conftest import Dash


async def test_favicon_ico_answers_the_packaged_icon(dash: Dash) -> None:
    browser = await dash.browser()
    icon = await browser.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.content == assets()["favicon.svg"].body
    again = await browser.get("/favicon.ico", headers={"If-None-Match": icon.headers["etag"]})
    assert again.status_code == 304
    # Pages link the same icon explicitly.
    page = await (await dash.owner()).get("/sites")
    assert page.status_code == 200
    assert 'rel="icon"' in page.text and "favicon.svg" in page.text
