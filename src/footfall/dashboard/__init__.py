"""The dashboard: server-rendered pages for accounts, sites, sharing and API tokens.

Served by Footfall itself from package files (`templates/`, `static/`): no CDN, no build
step, no inline scripts. The interface pages build on (see docs/architecture.md):

- `auth.require_user(request) -> User`, `auth.require_site(request, site_id, role) -> Site`,
  `auth.require_site_access(...) -> SiteAccess` (404 for sites the user may not see)
- `views.page` / `views.json_view` (wrap handlers), `views.render(request, template, ctx)`,
  `views.verify_form(request)` (CSRF-checked form fields)
- `templates/base.html` (blocks `title`, `header`, `content`, `scripts`) and
  `templates/site_base.html` (a site's pages, with their tabs); `static/app.css`
- `routes.routes()` lists every route; `create_app` mounts them.
"""
