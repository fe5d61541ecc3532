"""`GET /script.js` (the tracker), `GET /widget.js` (the live counter) and `GET /demo` (a test
page for the demo site)."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from footfall import tracker
from footfall.api import csp
from footfall.services import Services


async def script_js(request: Request) -> Response:
    """GET /script.js — the tracker; cacheable for an hour, revalidated by ETag."""
    return _javascript(request, *tracker.script())


async def widget_js(request: Request) -> Response:
    """GET /widget.js — the live-counter widget; cacheable for an hour, revalidated by ETag."""
    return _javascript(request, *tracker.widget())


def _javascript(request: Request, source: bytes, etag: str) -> Response:
    headers = {
        "Cache-Control": "public, max-age=3600",
        "ETag": etag,
        "Access-Control-Allow-Origin": "*",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(source, media_type="application/javascript; charset=utf-8", headers=headers)


def snippet(base_url: str, website_id: str) -> str:
    """The tag a site owner pastes into their pages."""
    return (
        f'<script defer src="{html.escape(base_url)}/script.js" '
        f'data-website-id="{html.escape(website_id)}"></script>'
    )


_DEMO_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Footfall demo page</title>
{snippet}
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}
code{{background:#f2f2f2;padding:.1rem .3rem}}</style></head>
<body>
<h1>Footfall demo page</h1>
<p>This page carries the tracker of website <code>{website_id}</code>. Opening it made you a
current visitor: ask the Realtime API (<code>curl</code> command printed by
<code>footfall serve --demo</code>) and you are counted for the next three minutes.</p>
<p><a href="#" id="spa-nav">Navigate in-page (single-page-app pageview)</a> ·
<button id="custom-event" type="button">Send a custom event</button></p>
<p id="where"></p>
<script>
document.getElementById('spa-nav').addEventListener('click', function (e) {{
  e.preventDefault();
  history.pushState({{}}, '', '/demo/page-' + Math.floor(Math.random() * 1000));
  document.getElementById('where').textContent = 'Now at ' + location.pathname;
}});
document.getElementById('custom-event').addEventListener('click', function () {{
  window.footfall && window.footfall('demo-click', {{button: 'custom-event'}});
}});
</script>
</body></html>
"""


async def demo_page(request: Request) -> Response:
    """GET /demo — a page carrying the demo site's tracker (only with `serve --demo`)."""
    services: Services = request.app.state.services
    website_id = services.settings.demo_site_id or ""
    base = f"{request.url.scheme}://{request.url.netloc}"
    page = _DEMO_PAGE.format(snippet=snippet(base, website_id), website_id=html.escape(website_id))
    policy = csp.page_policy(page, scripts_from_self=True)
    return HTMLResponse(page, headers={"Content-Security-Policy": policy})
