"""Static files: served from the package, versioned URLs cached for good, others revalidated,
nothing outside the folder reachable."""

from __future__ import annotations

import re

from footfall.dashboard.static import STATIC_DIR, assets
from tests.dashboard.conftest import Dash


async def test_pages_link_versioned_assets_that_are_cached_for_a_year(dash: Dash) -> None:
    browser = await dash.browser()
    page = await browser.get("/setup")
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert {"app.css", "app.js", "favicon.svg"} <= {link.split("?")[0][8:] for link in links}
    for link in links:
        response = await browser.get(link)
        assert response.status_code == 200, link
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
    css = await browser.get("/static/app.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert css.headers["cache-control"] == "public, no-cache"  # unversioned: revalidate
    again = await browser.get("/static/app.css", headers={"If-None-Match": css.headers["etag"]})
    assert again.status_code == 304
    js = await browser.get("/static/install.js")
    assert js.headers["content-type"] == "text/javascript; charset=utf-8"


async def test_only_packaged_files_are_served(dash: Dash) -> None:
    browser = await dash.browser()
    for path in (
        "/static/missing.css",
        "/static/../templates/base.html",
        "/static/%2e%2e/routes.py",
        "/static/",
    ):
        assert (await browser.get(path)).status_code == 404, path


def test_every_file_in_the_folder_is_an_asset_and_no_asset_uses_a_cdn() -> None:
    files = {p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()}
    assert set(assets()) == files
    for name, asset in assets().items():
        # The SVG namespace (in markup, or in scripts drawing SVG) is an identifier, not a fetch.
        text = asset.body.decode("utf-8", "replace").replace("http://www.w3.org/2000/svg", "")
        assert "http://" not in text and "https://" not in text, name
