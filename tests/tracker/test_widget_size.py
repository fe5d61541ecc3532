"""`GET /widget.js`: the live-counter widget is small, cacheable and revalidated by ETag."""

from __future__ import annotations

import gzip
import re
from importlib.resources import files

from tests.conftest import Running

MAX_GZIPPED_BYTES = 3_072  # the budget: under 3 KB gzipped, no dependencies


async def test_widget_is_the_packaged_script_and_under_the_size_budget(running: Running) -> None:
    response = await running.client.get("/widget.js")
    assert response.status_code == 200
    assert response.content == files("footfall.tracker").joinpath("widget.js").read_bytes()
    gzipped = len(gzip.compress(response.content, compresslevel=9))
    assert gzipped < MAX_GZIPPED_BYTES, f"widget is {gzipped} bytes gzipped"
    assert b"import " not in response.content and b"require(" not in response.content


async def test_widget_is_cacheable_javascript_with_an_etag(running: Running) -> None:
    response = await running.client.get("/widget.js")
    assert response.headers["content-type"].split(";")[0] == "application/javascript"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cache-control"] == "public, max-age=3600"
    etag = response.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{16}"', etag)
    assert etag != (await running.client.get("/script.js")).headers["etag"]
    revalidated = await running.client.get("/widget.js", headers={"If-None-Match": etag})
    assert (revalidated.status_code, revalidated.content) == (304, b"")
