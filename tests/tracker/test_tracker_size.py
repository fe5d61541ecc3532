"""`GET /script.js`: small enough to put on every page, cacheable, revalidated by ETag."""

from __future__ import annotations

import gzip
import re
from importlib.resources import files

from tests.conftest import Running

MAX_GZIPPED_BYTES = 1_500


async def test_tracker_is_the_packaged_script_and_under_the_size_budget(running: Running) -> None:
    response = await running.client.get("/script.js")
    assert response.status_code == 200
    assert response.content == files("footfall.tracker").joinpath("script.js").read_bytes()
    gzipped = len(gzip.compress(response.content, compresslevel=9))
    assert gzipped < MAX_GZIPPED_BYTES, f"tracker is {gzipped} bytes gzipped"


async def test_tracker_is_served_as_javascript(running: Running) -> None:
    response = await running.client.get("/script.js")
    assert response.status_code == 200
    media_type = response.headers["content-type"].split(";")[0].strip()
    assert media_type == "application/javascript"
    # Loaded by <script src> from customers' sites, and cached by their visitors' browsers.
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"] == "public, max-age=3600"


async def test_tracker_has_an_etag_and_answers_304_when_unchanged(running: Running) -> None:
    first = await running.client.get("/script.js")
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{16}"', etag)
    assert (await running.client.get("/script.js")).headers["etag"] == etag  # stable

    revalidated = await running.client.get("/script.js", headers={"If-None-Match": etag})
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["etag"] == etag
    assert revalidated.headers["cache-control"] == "public, max-age=3600"

    stale = await running.client.get("/script.js", headers={"If-None-Match": '"0000000000000000"'})
    assert stale.status_code == 200
    assert stale.content == first.content
